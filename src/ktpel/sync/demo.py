"""The demo's central: keys, registration, central users, and a child process the supervisor can stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

from ktpel.config import Settings
from ktpel.security import demo as security_demo


def prepare_central(*, settings: Settings, office_db, console=None) -> list[tuple]:  # noqa: ANN001
    """Demo step: keys on both sides, central's database, the office registered with it, central users."""
    from ktpel.store.db import open_database
    from ktpel.sync.keys import init_keys
    from ktpel.sync.service import register_locally

    init_keys(settings, side="office")
    init_keys(settings, side="central")
    central_db = open_database(settings, name="central")
    try:
        register_locally(office_settings=settings, central_settings=settings, central_db=central_db)
        return list(security_demo.create_central_demo_users(settings=settings, central_db=central_db,
                                                            console=console) or [])
    finally:
        central_db.dispose()


def _die_with_parent() -> None:
    """Linux: the child central gets SIGTERM when the demo dies, even by kill -9."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so `finally` blocks stop the child central (uvicorn re-raises it)."""
    def _raise(signum, frame):  # noqa: ANN001
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _raise)


class DemoCentral:
    """`ktpel central serve` over data_dir/central.db in a child process, so the demo can show an outage."""

    def __init__(self, *, settings: Settings, log_path: Path) -> None:
        url = urlparse(settings.central_url)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 8001
        self.settings = settings
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.lock = threading.Lock()

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "KTPEL_DATABASE_URL"}
        env.update({"KTPEL_DATA_DIR": str(self.settings.data_dir), "KTPEL_DEMO_MODE": "1"})
        return env

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        with self.lock:
            if self.running():
                return
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "ktpel.cli", "central", "serve", "--host", self.host, "--port", str(self.port)],
                env=self._env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_die_with_parent)

    def stop(self) -> None:
        with self.lock:
            if not self.running():
                return
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=8)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def wait_ready(self, *, timeout: float = 60) -> bool:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.running():
            try:
                if httpx.get(f"http://{self.host}:{self.port}/api/v1/health", timeout=1).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        return False
