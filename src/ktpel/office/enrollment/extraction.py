"""Biometric work of a recording in a bounded process pool, off the web process.

Face and finger extraction and quality take 100-300 ms of CPU per image, eleven images per resident. Run in
the web process (even in a thread) they hold its GIL and cores, and every page request of every other
counter waits behind them. Here the view awaits a future of a `ProcessPoolExecutor` instead: the event loop
and the thread pool stay free for pages.

The decoding policy stays in force on both sides of the pool: the worker decodes through
`ktpel.biometrics.imageio` (pixel cap before decoding, its own budget), and the web process reserves the
largest image's decoded size and one decode slot of its own budget (`imageio.BUDGET`) while a job is out,
so no more than `KTPEL_MAX_CONCURRENT_DECODES` recordings are in the pool at once and a flood waits (then
503 `decoder_busy`) instead of queueing without bound.

The pool's processes run at a lower CPU priority (nice 10): a page is a few tens of milliseconds that an
operator waits on, a recording is seconds of image work either way, so when both want the cores the pages
go first (measured with bench/load_office.py: README).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable

from starlette.concurrency import run_in_threadpool

from ktpel.biometrics import imageio
from ktpel.config import Settings
from ktpel.office.enrollment.capture import CaptureForm, _decode_refused, assess, process_captures

_LOCK = threading.Lock()
_POOLS: dict[int, ProcessPoolExecutor] = {}  # one per process id: a forked or spawned child builds its own
last_worker_pid: int | None = None  # which process ran the last job (tests read it)
in_flight = 0  # jobs of this process out in the pool now


def pool_size(settings: Settings) -> int:
    """Processes of the pool: the setting, or the machine's cores."""
    return settings.biometric_workers if settings.biometric_workers > 0 else (os.cpu_count() or 1)


POOL_NICENESS = 10


def _lower_priority() -> None:
    try:
        os.nice(POOL_NICENESS)
    except OSError:  # not permitted here: run at the caller's priority
        pass


def _pool(settings: Settings) -> ProcessPoolExecutor:
    with _LOCK:
        pool = _POOLS.get(os.getpid())
        if pool is None:
            # spawn, not fork: the web process has threads (sync agent, notifier, DB pools) a fork would copy
            pool = ProcessPoolExecutor(max_workers=pool_size(settings),
                                       mp_context=multiprocessing.get_context("spawn"),
                                       initializer=_lower_priority)
            _POOLS[os.getpid()] = pool
        return pool


def _run_in_worker(fn: Callable[..., Any], *args: Any) -> tuple[int, Any]:
    return os.getpid(), fn(*args)


def _peak_bytes(datas: list[bytes]) -> int:
    """The largest decoded size among the images (header only; a bomb is refused here, before the pool)."""
    from ktpel.biometrics.errors import BiometricError

    peak = 0
    for data in datas:
        try:
            peak = max(peak, imageio.probe(data).decoded_bytes)
        except BiometricError:
            continue  # the worker reports it with the item's name, in the usual order of checks
    return peak


async def _submit(settings: Settings, datas: list[bytes], fn: Callable[..., Any], *args: Any) -> Any:
    global last_worker_pid, in_flight
    reservation = imageio.BUDGET.reserve(_peak_bytes(datas))
    try:
        await run_in_threadpool(reservation.__enter__)  # may wait for room: never on the event loop
    except Exception as err:  # noqa: BLE001 - ImageTooLarge / DecoderBusy from the budget
        from ktpel.biometrics.errors import BiometricError

        if isinstance(err, BiometricError):
            raise _decode_refused("face", err) from None
        raise
    in_flight += 1
    try:
        pid, result = await asyncio.wrap_future(_pool(settings).submit(_run_in_worker, fn, *args))
    finally:
        in_flight -= 1
        reservation.__exit__(None, None, None)
    last_worker_pid = pid
    return result


async def process(form: CaptureForm, *, settings: Settings):  # noqa: ANN201 - as capture.process_captures
    """`capture.process_captures(form)` in the pool: the captured items, exceptions and overrides."""
    datas = [u.data for u in (form.face, form.signature, *form.fingers.values()) if u is not None]
    return await _submit(settings, datas, process_captures, form)


async def quality(kind: str, data: bytes, *, settings: Settings) -> dict:
    """`capture.assess(kind, data)` (live quality at the counter) in the pool."""
    return await _submit(settings, [data], assess, kind, data)
