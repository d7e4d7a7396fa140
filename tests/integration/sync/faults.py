"""Fault tooling for sync tests: real `ktpel central serve` / sender subprocesses and a lossy TCP proxy."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from ktpel.config import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Side:
    settings: Settings
    env: dict[str, str]


def make_side(base: Path, *, name: str, template_db: Path, field_keys: str, shared: Path, **extra) -> Side:  # noqa: ANN003
    data = base / name
    (data / "keys").mkdir(parents=True)
    (data / "keys" / "field.keys").write_text(field_keys)
    db_path = data / f"{name}.db"
    shutil.copyfile(template_db, db_path)
    url = f"sqlite:///{db_path}"
    settings = Settings(data_dir=data, database_url=url, shared_data=shared, **extra)
    env = {**os.environ, "KTPEL_DATA_DIR": str(data), "KTPEL_DATABASE_URL": url, "KTPEL_SHARED_DATA": str(shared),
           "PYTHONUNBUFFERED": "1"}
    env.update({f"KTPEL_{k.upper()}": str(v) for k, v in extra.items()})
    return Side(settings=settings, env=env)


class Proc:
    """A child process we may kill -9 at any instant."""

    def __init__(self, args: list[str], *, env: dict[str, str], log: Path) -> None:
        self.log = open(log, "ab")
        self.p = subprocess.Popen(args, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                  start_new_session=True)

    def kill9(self) -> None:
        if self.p.poll() is None:
            os.kill(self.p.pid, signal.SIGKILL)
        self.p.wait(timeout=10)
        self.log.close()

    def alive(self) -> bool:
        return self.p.poll() is None


def start_central(side: Side, *, port: int, log: Path, timeout: float = 60) -> Proc:
    proc = Proc([sys.executable, "-m", "ktpel.cli", "central", "serve", "--port", str(port)], env=side.env, log=log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"central exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=0.5).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill9()
    raise RuntimeError("central did not start")


def start_sender(side: Side, *, central_url: str, log: Path) -> Proc:
    return Proc([sys.executable, "-m", "ktpel.office.sync.sender", "--central", central_url], env=side.env, log=log)


class FaultProxy:
    """A TCP proxy on loopback that, per connection, passes, drops, stalls, truncates or delays traffic."""

    MODES = ("pass", "drop", "stall", "truncate", "delay")

    def __init__(self, *, target_port: int, seed: int = 1, weights: tuple[int, ...] = (4, 1, 1, 1, 1)) -> None:
        self.target_port = target_port
        self.rng = random.Random(seed)
        self.weights = weights
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.counts = {m: 0 for m in self.MODES}
        self.closed = threading.Event()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.closed.set()
        self.listener.close()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                mode = self.rng.choices(self.MODES, weights=self.weights)[0]
                self.counts[mode] += 1
                cut = self.rng.randint(1, 400)
            threading.Thread(target=self._serve, args=(client, mode, cut), daemon=True).start()

    def _serve(self, client: socket.socket, mode: str, cut: int) -> None:
        try:
            if mode == "drop":
                client.close()
                return
            if mode == "stall":
                client.recv(65536)  # swallow the request and never answer; the agent's timeout must fire
                self.closed.wait(5)
                client.close()
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            up = threading.Thread(target=self._pipe, args=(client, upstream, 0.0, None), daemon=True)
            up.start()
            delay = 0.2 if mode == "delay" else 0.0
            self._pipe(upstream, client, delay, cut if mode == "truncate" else None)
        except OSError:
            pass

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket, delay: float, limit: int | None) -> None:
        sent = 0
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if delay:
                    time.sleep(delay)
                if limit is not None and sent + len(data) >= limit:
                    dst.sendall(data[: limit - sent])  # the reply is cut mid-way and the link closes
                    break
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
