"""Pipeline workers: claim a job, run its remaining stages, each stage one transaction.

`ktpel central worker -n N` starts N worker processes (each with its own gallery mirror, since the
1:N search is CPU-bound and Python threads would share one core); on SQLite only one.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import traceback
import uuid
from dataclasses import dataclass

from ktpel.central.abis import abis_from_settings
from ktpel.central.pipeline import queue
from ktpel.central.pipeline.gallery import GalleryMirror
from ktpel.central.pipeline.payload import PoisonPacket
from ktpel.central.pipeline.stages import HANDLERS, StageContext
from ktpel.config import Settings
from ktpel.store.db import Database
from ktpel.store.schema.central import StageRunRow

log = logging.getLogger("ktpel.central.pipeline")


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class JobOutcome:
    job_id: int
    status: str  # done | queued (retry) | dead | lost
    outcome: str | None = None
    error: str | None = None


class Worker:
    """One pipeline worker over a database; `run_once` processes at most one job."""

    def __init__(self, *, db: Database, settings: Settings, mirror: GalleryMirror | None = None,
                 worker_id: str | None = None, crash_after: str | None = None) -> None:
        self.db = db
        self.settings = settings
        self.worker_id = worker_id or new_worker_id()
        self.ctx = StageContext(settings=settings, mirror=mirror or GalleryMirror(abis_from_settings(settings)), db_key=db.url,
                                worker_id=self.worker_id)
        # for fault tests: stop dead (as if killed) once this stage has committed
        self.crash_after = crash_after

    def run_once(self) -> JobOutcome | None:
        with self.db.unit_of_work() as s:
            claimed = queue.claim(s, worker_id=self.worker_id)
        if claimed is None:
            self.ctx.mirror.settle()  # idle: the shards hear how far this worker got
            return None
        return self.run_job(claimed.id, at_stage=claimed.stage)

    def run_job(self, job_id: int, *, at_stage: str | None = None) -> JobOutcome:
        """Run the job's remaining stages; poison → dead letter, other errors → retry with backoff.
        `at_stage`: where the claim found the job (spares a read-ahead transaction unless it is biometric)."""
        upcoming: str | None = at_stage  # the stage the last commit moved the job to (None: not known yet)
        while True:
            stage = "?"
            try:
                if upcoming in (None, "biometric"):  # the other stages need no read-ahead transaction
                    self._search_ahead(job_id)
                with self.db.unit_of_work() as s:
                    job = queue.hold(s, job_id=job_id, worker_id=self.worker_id)
                    stage = job.stage
                    if stage == queue.DONE:
                        return JobOutcome(job_id, queue.FINISHED, job.outcome)
                    started = time.perf_counter()
                    result = HANDLERS[stage](s, job, self.ctx)
                    job.results = {**job.results, stage: result}
                    nxt = queue.STAGES.index(stage) + 1
                    # the biometric search ran just before this transaction: count it in the stage's time
                    took = (time.perf_counter() - started) * 1000 + float(result.get("search_ms", 0.0))
                    s.add(StageRunRow(job_id=job.id, stage=stage, ok=True, worker_id=self.worker_id,
                                      duration_ms=took, finished_at=self.ctx.clock()))
                    if nxt == len(queue.STAGES):
                        job.stage = queue.DONE
                        job.status = queue.FINISHED
                        job.outcome = result.get("outcome")
                        job.finished_at = self.ctx.clock()
                        job.worker_id = None
                        job.lease_until = None
                    else:
                        job.stage = queue.STAGES[nxt]
                    upcoming = job.stage
                if self.crash_after == stage:
                    raise SystemExit(f"simulated crash after {stage}")
            except queue.LeaseLost:
                return JobOutcome(job_id, "lost")
            except PoisonPacket as exc:
                self._record_failure(job_id, stage=stage)
                with self.db.unit_of_work() as s:
                    queue.dead_letter(s, job_id=job_id, worker_id=self.worker_id, error=exc.message_en)
                log.warning("job %s dead-lettered: %s", job_id, exc.message_en)
                return JobOutcome(job_id, queue.DEAD, error=exc.message_en)
            except SystemExit:
                raise
            except Exception as exc:  # noqa: BLE001 - any fault of one job must not stop the worker
                error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=6)}"
                self._record_failure(job_id, stage=stage)
                try:
                    with self.db.unit_of_work() as s:
                        status = queue.release_for_retry(s, job_id=job_id, worker_id=self.worker_id, error=error)
                except queue.LeaseLost:
                    return JobOutcome(job_id, "lost", error=error)
                log.warning("job %s failed (%s): %s", job_id, status, exc)
                return JobOutcome(job_id, status, error=error)
            else:
                if job.stage == queue.DONE:
                    return JobOutcome(job_id, queue.FINISHED, job.outcome)

    def _search_ahead(self, job_id: int) -> None:
        """Run the biometric search outside the stage's write transaction (results kept in ctx)."""
        from ktpel.central.pipeline.stages import named_by_demographics, search
        from ktpel.store.schema.central import PipelineJobRow

        with self.db.unit_of_work() as s:
            job = s.get(PipelineJobRow, job_id)
            if job is None or job.stage != "biometric" or job.worker_id != self.worker_id \
                    or "gallery_seq" not in job.results.get("gallery", {}):
                return
            self.ctx.extra[("search", job_id)] = search(s, record_id=job.record_id, ctx=self.ctx,
                                                        named=named_by_demographics(job.results))

    def _record_failure(self, job_id: int, *, stage: str) -> None:
        try:
            with self.db.unit_of_work() as s:
                s.add(StageRunRow(job_id=job_id, stage=stage, ok=False, worker_id=self.worker_id,
                                  duration_ms=0.0, finished_at=self.ctx.clock()))
        except Exception:  # noqa: BLE001 - bookkeeping must not hide the job's own error
            log.exception("could not record the failed stage of job %s", job_id)

    def drain(self, *, max_jobs: int | None = None) -> list[JobOutcome]:
        """Process jobs until none is runnable (tests, demo, bench)."""
        done: list[JobOutcome] = []
        while max_jobs is None or len(done) < max_jobs:
            out = self.run_once()
            if out is None:
                break
            done.append(out)
        return done

    def run_forever(self, *, stop: threading.Event, poll: float = 0.2) -> None:
        while not stop.is_set():
            try:
                out = self.run_once()
            except Exception:  # noqa: BLE001 - a database hiccup: wait and try again
                log.exception("worker %s: claim failed", self.worker_id)
                out = None
                stop.wait(2.0)
            if out is None:
                stop.wait(poll)


def _process_main(settings_dict: dict, name: str, stop_after: float | None) -> None:
    from ktpel.store.db import open_database

    settings = Settings(**settings_dict)
    db = open_database(settings, name=name, migrate=False)
    stop = threading.Event()
    if stop_after:
        threading.Timer(stop_after, stop.set).start()
    Worker(db=db, settings=settings).run_forever(stop=stop)


def run_workers(*, settings: Settings, n: int, name: str = "central", stop_after: float | None = None) -> int:
    """Run N worker processes until interrupted; returns how many ran (1 on SQLite)."""
    import multiprocessing as mp

    from ktpel.store.db import open_database

    # one BLAS thread per worker: N processes on few cores must not each spawn a thread per core
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    db = open_database(settings, name=name)  # migrate once, before the workers start
    if db.is_sqlite and n > 1:
        log.warning("SQLite has one writer: running 1 worker instead of %d", n)
        n = 1
    db.dispose()
    if n == 1:  # no child process to leave behind when this one is stopped
        try:
            _process_main(settings.model_dump(), name, stop_after)
        except KeyboardInterrupt:
            pass
        return 1
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_process_main, args=(settings.model_dump(), name, stop_after), daemon=False)
             for _ in range(n)]

    def _stop(signum, frame):  # noqa: ANN001, ARG001 - SIGTERM stops the children too, never orphans them
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _stop)
    for p in procs:
        p.start()
    try:
        for p in procs:
            p.join()
    except KeyboardInterrupt:
        for p in procs:
            p.terminate()
        for p in procs:
            p.join()
    finally:
        signal.signal(signal.SIGTERM, previous)
    return n
