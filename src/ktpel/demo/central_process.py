"""The demo's central: keys, registration, central users, and a child process the supervisor can stop."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

from ktpel.config import Settings
from ktpel.domain.errors import KtpelError
from ktpel.demo import users as security_demo


def prepare_central(*, settings: Settings, office_db, console=None) -> list[tuple]:  # noqa: ANN001
    """Demo step: keys on both sides, central's database, the office registered with it, central users."""
    from ktpel.store.db import open_database
    from ktpel.keys.keyring import init_keys
    from ktpel.central.sync.service import register_locally

    init_keys(settings, side="office")
    init_keys(settings, side="central")
    central_db = open_database(settings, name="central")
    try:
        register_locally(office_settings=settings, central_settings=settings, central_db=central_db)
        return list(security_demo.create_central_demo_users(settings=settings, central_db=central_db,
                                                            console=console) or [])
    finally:
        central_db.dispose()


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so `finally` blocks stop the child central (uvicorn re-raises it)."""
    def _raise(signum, frame):  # noqa: ANN001
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _raise)


class DemoCentral:
    """`ktpel central serve` over data_dir/central.db as a supervised child, so the demo can show an outage.

    The child is started by the process-wide supervisor thread, never by the request thread that asked
    (see ktpel.supervisor), and readiness means *our* central answers: the one holding this data_dir's
    central key, not whatever else listens on the port."""

    def __init__(self, *, settings: Settings, log_path: Path) -> None:
        url = urlparse(settings.central_url)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 8001
        self.settings = settings
        self.log_path = log_path
        self.name = f"central:{settings.data_dir}"

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "KTPEL_DATABASE_URL"}
        env.update({"KTPEL_DATA_DIR": str(self.settings.data_dir), "KTPEL_DEMO_MODE": "1"})
        return env

    def running(self) -> bool:
        from ktpel.supervisor import supervisor

        return supervisor().running(self.name)

    @property
    def pid(self) -> int | None:
        from ktpel.supervisor import supervisor

        return supervisor().pid(self.name)

    def start(self) -> None:
        from ktpel.supervisor import supervisor

        supervisor().start(name=self.name, log_path=self.log_path, env=self._env(), argv=[
            sys.executable, "-m", "ktpel.cli", "central", "serve", "--host", self.host, "--port", str(self.port)])

    def stop(self) -> None:
        from ktpel.supervisor import supervisor

        supervisor().stop(self.name)

    def is_ours(self, *, timeout: float = 1.0) -> bool:
        """Whether the central answering on our port holds our central key (signed key list, verified)."""
        import httpx

        from ktpel.keys.keyring import load_keyring
        from ktpel.sync.registration import RegistrationFailed, accept_key_list

        ours = load_keyring(self.settings, side="central").publics()
        try:
            doc = httpx.get(f"http://{self.host}:{self.port}/api/v1/sync/keys", timeout=timeout).json()
            served = accept_key_list(doc, trusted=ours)
        except (httpx.HTTPError, ValueError, KeyError, TypeError, RegistrationFailed, KtpelError):
            return False
        return {k.kid for k in served} == {k.kid for k in ours}

    def wait_ready(self, *, timeout: float = 60) -> bool:
        """True once our own child answers as our central; False if it exits or another one answers."""
        deadline = time.monotonic() + timeout
        first = self.pid
        # a child that exits (port taken…) is not waited for again after the supervisor restarts it
        while time.monotonic() < deadline and self.running() and self.pid == first:
            if self.is_ours():
                return True
            time.sleep(0.2)
        return False
