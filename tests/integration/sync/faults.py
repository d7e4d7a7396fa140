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

    def __init__(self, args: list[str], *, env: dict[str, str], log: Path, stdin: int | None = None) -> None:
        self.log = open(log, "ab")
        self.p = subprocess.Popen(args, env=env, stdout=self.log, stderr=subprocess.STDOUT, stdin=stdin,
                                  start_new_session=True)

    def kill9(self) -> None:
        if self.p.poll() is None:
            os.kill(self.p.pid, signal.SIGKILL)
        self.p.wait(timeout=10)
        if self.p.stdin is not None:
            self.p.stdin.close()
        self.log.close()

    def alive(self) -> bool:
        return self.p.poll() is None


def start_central(side: Side, *, port: int, log: Path, timeout: float = 60) -> Proc:
    proc = Proc([sys.executable, "-m", "ktpel.cli", "central", "serve", "--port", str(port)], env=side.env, log=log)
    return wait_healthy(proc, port=port, log=log, timeout=timeout)


def start_sender(side: Side, *, central_url: str, log: Path) -> Proc:
    return Proc([sys.executable, "-m", "ktpel.office.sender", "--central", central_url], env=side.env, log=log)


# what a zygote does once before it forks victims: the bulk of a start-up. Central goes as far as its
# app over its database (what `ktpel central serve` builds), so a forked victim only binds.
PREPARE = {
    "central": "import uvicorn; from ktpel.config import get_settings; from ktpel.store.db import open_database; "
               "from ktpel.keys.keyring import init_keys; from ktpel.web.app import create_app; "
               "from ktpel.security.tls import server_kwargs; settings = get_settings(); "
               "init_keys(settings, side='central'); "
               "db = open_database(settings, name='central'); app = create_app(settings=settings, side='central', db=db); "
               "db.engine.dispose()",
    "office": "import ktpel.office.sender, ktpel.office.composition, ktpel.office.sync.agent",
}
RUN = {"central": "uvicorn.run(app, host='127.0.0.1', port=int(sys.argv[2]), log_level='warning', "
                  "**server_kwargs(settings))",
       "office": "sys.argv = ['sender', *sys.argv[2:]]; ktpel.office.sender.main()"}


ZYGOTE = """
import os, signal, sys
{prepare}
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # killed children are reaped by the kernel
for line in sys.stdin:
    pid = os.fork()
    if pid == 0:
        os.setsid()  # its own session: a kill -9 hits it alone
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        {run}
        os._exit(0)
    with open(sys.argv[1], "a") as out:
        out.write(f"{{pid}}\\n")
"""


class Forked:
    """A victim forked from a zygote: a whole ktpel process (its own memory, database connections,
    session), minus the seconds of start-up it inherited."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def alive(self) -> bool:
        try:
            state = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        return state != "Z"

    def kill9(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.005)


class Zygote(Proc):
    """A process that has done a ktpel process's start-up once (imports; central: the app over its database)
    and forks a fresh, ready victim for every restart: a kill -9 campaign then pays the start-up once, not
    once per trial."""

    def __init__(self, role: str, *, env: dict[str, str], log: Path, args: list[str]) -> None:
        self.pids = log.with_suffix(".pids")
        self.pids.write_text("")
        code = ZYGOTE.format(prepare=PREPARE[role], run=RUN[role])
        super().__init__([sys.executable, "-c", code, str(self.pids), *args], env=env, log=log,
                         stdin=subprocess.PIPE)

    def fork(self, *, timeout: float = 120) -> Forked:
        known = len(self.pids.read_text().split())
        self.p.stdin.write(b"go\n")
        self.p.stdin.flush()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"zygote exited: {self.log.name}")
            pids = self.pids.read_text().split()
            if len(pids) > known:
                return Forked(int(pids[known]))
            time.sleep(0.005)
        raise RuntimeError("zygote did not fork")


def central_zygote(env: dict[str, str], *, port: int, log: Path) -> Zygote:
    return Zygote("central", env=env, log=log, args=[str(port)])


def sender_zygote(env: dict[str, str], *, central_url: str, log: Path) -> Zygote:
    return Zygote("office", env=env, log=log, args=["--central", central_url])


def wait_healthy(proc: Proc, *, port: int, log: Path, timeout: float = 60) -> Proc:
    """Wait until a central answers its health check (raise if it died or never answers)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"central exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=0.5).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.02)
    proc.kill9()
    raise RuntimeError("central did not start")


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
