"""Issue 20 items 3 and 4: the demo's central is a supervised child that outlives the request thread
that restarted it, and readiness means *our* central answers (a second demo never talks to the first's)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import threading
import time
from pathlib import Path

import pytest

from ktpel.config import Settings
from ktpel.demo.central_process import DemoCentral
from ktpel.keys.keyring import init_keys


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _central_dir(tmp_path: Path, name: str, templates, shared: Path, port: int) -> Settings:  # noqa: ANN001
    """A demo data dir holding a migrated central.db, field keys and central sync keys."""
    from ktpel.store.db import open_database

    data = tmp_path / name
    (data / "keys").mkdir(parents=True)
    (data / "keys" / "field.keys").write_text(templates.keyring().dumps())
    if templates.sqlite is None:
        path = templates.tmp / "template.db"
        open_database(Settings(data_dir=data, database_url=f"sqlite:///{path}", shared_data=shared)).dispose()
        templates.sqlite = path
    shutil.copyfile(templates.sqlite, data / "central.db")
    settings = Settings(data_dir=data, shared_data=shared, central_url=f"http://127.0.0.1:{port}", demo_mode=True)
    init_keys(settings, side="central")
    return settings


def _in_a_retiring_thread(fn) -> None:  # noqa: ANN001
    """Like a request served by an AnyIO worker thread that is retired right afterwards."""
    worker = threading.Thread(target=fn)
    worker.start()
    worker.join()


@pytest.fixture
def env_shared(shared_data, monkeypatch):
    monkeypatch.setenv("KTPEL_SHARED_DATA", str(shared_data))
    monkeypatch.delenv("KTPEL_DATABASE_URL", raising=False)
    return shared_data


def test_central_restarted_from_a_request_thread_stays_up(tmp_path, _templates, env_shared):
    settings = _central_dir(tmp_path, "demo", _templates, env_shared, _free_port())
    central = DemoCentral(settings=settings, log_path=settings.data_dir / "central.log")
    try:
        _in_a_retiring_thread(central.start)
        assert central.wait_ready(timeout=60), (settings.data_dir / "central.log").read_text()
        _in_a_retiring_thread(central.stop)  # "hentikan pusat"
        assert not central.running()
        _in_a_retiring_thread(central.start)  # "jalankan pusat": its thread is gone at once
        assert central.wait_ready(timeout=60)
        time.sleep(1.5)  # PR_SET_PDEATHSIG would have fired the moment the thread exited
        assert central.running() and central.is_ours()
        # a crash of the child is noticed and it comes back by itself (the supervisor, not a request)
        first = central.pid
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (central.running() and central.pid != first):
            time.sleep(0.1)
        assert central.running() and central.pid != first
        assert "exited with code" in (settings.data_dir / "central.log").read_text()
    finally:
        central.stop()
    assert not central.running()


def test_second_demo_does_not_accept_the_first_demos_central(tmp_path, _templates, env_shared):
    from ktpel.config import get_settings
    from ktpel.demo import demo_settings

    # --port moves both servers
    s1 = demo_settings(base=get_settings(), data_dir=tmp_path / "a", port=18000, host="127.0.0.1", central_port=None)
    s2 = demo_settings(base=get_settings(), data_dir=tmp_path / "b", port=18010, host="127.0.0.1", central_port=None)
    assert (s1.central_url, s2.central_url) == ("http://127.0.0.1:18001", "http://127.0.0.1:18011")
    assert demo_settings(base=get_settings(), data_dir=tmp_path / "c", port=18020, host="127.0.0.1",
                         central_port=19000).central_url == "http://127.0.0.1:19000"

    port = _free_port()
    first = DemoCentral(settings=_central_dir(tmp_path, "first", _templates, env_shared, port),
                        log_path=tmp_path / "first.log")
    # the second demo is (mis)configured onto the first one's central port
    second = DemoCentral(settings=_central_dir(tmp_path, "second", _templates, env_shared, port),
                         log_path=tmp_path / "second.log")
    try:
        first.start()
        assert first.wait_ready(timeout=60)
        assert not second.is_ours()  # someone answers on the port, but with another key
        second.start()
        began = time.monotonic()
        assert not second.wait_ready(timeout=60)  # its own child cannot bind; the first's is not accepted
        assert time.monotonic() - began < 45
        assert first.is_ours()
    finally:
        second.stop()
        first.stop()
