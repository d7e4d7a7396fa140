"""One long-lived thread that starts, watches and stops the demo's child processes.

Why a thread of its own: Linux's PR_SET_PDEATHSIG (the child dies with us, even on kill -9) fires when
the *thread* that forked the child exits, not the process. A child started from a web request runs in
an AnyIO worker thread that is retired after 10 s idle, which killed the restarted central within
seconds. Every fork therefore happens on this thread, which lives as long as the process.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import subprocess
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

log = logging.getLogger("ktpel.supervisor")


def die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the forking thread (ours, long-lived) or the process dies."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


@dataclass
class Child:
    """A supervised process: restarted with backoff when it exits unless it was stopped on purpose."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    keep_running: bool = True
    proc: subprocess.Popen | None = None
    restarts: int = 0
    next_start: float = 0.0
    started: list[float] = field(default_factory=list)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class Supervisor:
    """Runs every spawn, stop and restart on one daemon thread (see the module docstring)."""

    def __init__(self, *, poll_s: float = 0.5, restart_backoff_s: float = 1.0) -> None:
        self.poll_s, self.restart_backoff_s = poll_s, restart_backoff_s
        self.children: dict[str, Child] = {}
        self._work: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="ktpel-supervisor", daemon=True)
        self._thread.start()

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    def call(self, fn: Callable[[], Any], *, timeout: float = 30.0) -> Any:
        """Run `fn` on the supervisor thread and return its result (or raise its exception)."""
        if threading.current_thread() is self._thread:
            return fn()
        done: Future = Future()
        self._work.put((fn, done))
        return done.result(timeout=timeout)

    def start(self, *, name: str, argv: list[str], env: dict[str, str], log_path: Path) -> Child:
        """Start (or keep) the named child; from now on it is restarted if it dies on its own."""
        def _start() -> Child:
            child = self.children.get(name)
            if child is None:
                child = self.children[name] = Child(name=name, argv=argv, env=env, log_path=log_path)
            child.argv, child.env, child.log_path, child.keep_running = argv, env, log_path, True
            if not child.running():
                self._spawn(child)
            return child
        return self.call(_start)

    def stop(self, name: str, *, timeout: float = 8.0) -> None:
        """Stop the named child on purpose (SIGTERM, then SIGKILL): it is not restarted."""
        def _stop() -> None:
            child = self.children.get(name)
            if child is None:
                return
            child.keep_running = False
            if child.running():
                child.proc.send_signal(signal.SIGTERM)
                try:
                    child.proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    child.proc.kill()
                    child.proc.wait(timeout=5)
        self.call(_stop, timeout=timeout + 10)

    def running(self, name: str) -> bool:
        child = self.children.get(name)
        return child is not None and child.running()

    def pid(self, name: str) -> int | None:
        child = self.children.get(name)
        return None if child is None or child.proc is None else child.proc.pid

    def stop_all(self) -> None:
        for name in list(self.children):
            self.stop(name)

    # -- on the supervisor thread ---------------------------------------------------------------------

    def _spawn(self, child: Child) -> None:
        child.log_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(child.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "ab") as log_file:
            child.proc = subprocess.Popen(child.argv, env=child.env, stdout=log_file, stderr=subprocess.STDOUT,
                                          start_new_session=True, preexec_fn=die_with_parent)
        child.started.append(time.monotonic())
        child.next_start = 0.0
        log.info("started %s (pid %s)", child.name, child.proc.pid)

    def _watch(self) -> None:
        now = time.monotonic()
        for child in self.children.values():
            if not child.keep_running or child.running() or child.proc is None:
                continue
            if child.next_start == 0.0:
                # died on its own: say so in its log, and restart after a growing pause
                code = child.proc.returncode
                log.warning("%s exited unexpectedly (code %s); restarting", child.name, code)
                with open(child.log_path, "ab") as fh:
                    fh.write(f"[ktpel supervisor] {child.name} exited with code {code}; restarting\n".encode())
                child.next_start = now + min(30.0, self.restart_backoff_s * 2 ** min(child.restarts, 5))
            elif now >= child.next_start:
                child.restarts += 1
                self._spawn(child)

    def _loop(self) -> None:
        while True:
            try:
                fn, done = self._work.get(timeout=self.poll_s)
            except queue.Empty:
                fn = done = None
            if fn is not None and done.set_running_or_notify_cancel():
                try:
                    done.set_result(fn())
                except BaseException as exc:  # noqa: BLE001 - handed to the caller
                    done.set_exception(exc)
            try:
                self._watch()
            except Exception:  # noqa: BLE001 - the supervisor must outlive any one child's trouble
                log.exception("supervisor watch failed")


_lock = threading.Lock()
_instance: Supervisor | None = None


def supervisor() -> Supervisor:
    """The process-wide supervisor (its thread starts on first use and lives until the process ends)."""
    global _instance
    with _lock:
        if _instance is None:
            _instance = Supervisor()
        return _instance
