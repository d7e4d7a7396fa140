"""pytest plugin (measurement only): how much of a test run face extraction and model loading cost.

Run: PYTHONPATH=src:bench .venv/bin/python -m pytest -p pytest_face_cost tests/integration/enrollment
Prints, at the end, the run's process CPU and wall time and, per engine entry point, the calls and the
CPU (of the calling thread) and wall time spent inside it. Nothing is changed in what runs.
"""

from __future__ import annotations

import threading
import time

_SPENT: dict[str, list[float]] = {}
_LOCK = threading.Lock()
_START: list[float] = []


def _wrap(cls: type, name: str, key: str) -> None:
    original = getattr(cls, name)

    def timed(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            with _LOCK:
                entry = _SPENT.setdefault(key, [0, 0.0, 0.0])
                entry[0] += 1
                entry[1] += time.thread_time() - cpu
                entry[2] += time.perf_counter() - wall

    setattr(cls, name, timed)


def pytest_configure(config) -> None:  # noqa: ANN001
    from ktpel.biometrics import engine, face

    for name in ("extract_face", "extract_face_with_quality", "face_quality"):
        if hasattr(engine.Engine, name):
            _wrap(engine.Engine, name, name)
    _wrap(face.YuNetSFaceModel, "_load", "load YuNet + SFace")
    _START[:] = [time.perf_counter(), time.process_time()]


def pytest_terminal_summary(terminalreporter) -> None:  # noqa: ANN001
    wall, cpu = time.perf_counter() - _START[0], time.process_time() - _START[1]
    terminalreporter.write_line(f"face cost: run wall {wall:.1f} s, process CPU {cpu:.1f} s")
    for key, (calls, c, w) in sorted(_SPENT.items()):
        terminalreporter.write_line(f"  {key:<28} {int(calls):>4} calls  CPU {c:6.1f} s  wall {w:6.1f} s")
