"""`ktpel office serve --workers N`: N web processes on PostgreSQL, one on SQLite (and it says so)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.integration.sync.faults import free_port


def _children(pid: int) -> list[str]:
    """Command lines of the live child processes of `pid`."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append((stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, ValueError, IndexError):
            continue
    return out


def test_serve_starts_workers_where_the_database_allows_it(settings, db, tmp_path):
    port = free_port()
    env = {**os.environ, "KTPEL_DATA_DIR": str(settings.data_dir), "KTPEL_DATABASE_URL": settings.database_url,
           "KTPEL_SHARED_DATA": str(settings.shared_data), "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "ktpel.cli", "office", "serve", "--port", str(port),
                                   "--no-sync", "--workers", "2"], env=env, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.2)
        # uvicorn starts its workers one after the other: give the second a moment to come up
        deadline = time.monotonic() + 60
        workers = []
        while time.monotonic() < deadline:
            workers = [c for c in _children(server.pid) if "spawn_main" in c]
            if len(workers) >= (1 if db.is_sqlite else 2):
                break
            time.sleep(0.2)
        if db.is_sqlite:
            time.sleep(1)
            assert [c for c in _children(server.pid) if "spawn_main" in c] == []  # one process serves
            assert "SQLite: serving with 1 web worker, not 2" in " ".join(log.read_text().split())
        else:
            assert len(workers) == 2, (workers, log.read_text()[-2000:])
            assert "SQLite" not in log.read_text()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
