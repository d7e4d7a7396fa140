"""Recording benchmark: capture-to-queued latency per resident and bulk import residents/minute.

Run: .venv/bin/python bench/enrollment_latency.py [--residents 10] [--bulk 20] [--workers 1]

Latency: one resident's full capture (face + 10 fingers + signature, real ORL/FVC images) from the call
to `record_enrollment` to the enrollment being QUEUED with its packet in the outbox: decoding, quality,
template extraction, and the transaction that writes captures, audit and the encrypted outbox packet.
A finger the counter refuses (a thumb below the search's minutiae floor) is captured again from the next
FVC impression (`ktpel.demo.enrollment.record_retaking`); that resident's latency includes the retake.
Bulk: `import_folder` over a folder built from the shared data (as `ktpel office import` runs it); a folder
holds one capture a finger, so a refused one is reported as failed, as the importer reports it.
SQLite in a temporary folder; wall-clock figures depend on the machine's load (printed with them), so
the process CPU time per resident is printed too: it is what an otherwise idle core needs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import select


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--residents", type=int, default=10, help="residents timed one by one")
    ap.add_argument("--bulk", type=int, default=20, help="residents in the bulk-import folder")
    ap.add_argument("--workers", type=int, default=1, help="bulk import threads")
    args = ap.parse_args()

    from ktpel.config import Settings
    from ktpel.demo.enrollment import record_retaking
    from ktpel.office.enrollment import samples, service
    from ktpel.office.enrollment.bulk import import_folder
    from ktpel.reference import names, regions
    from ktpel.security.access import Role, User
    from ktpel.seeding.service import seed_district
    from ktpel.store.db import open_database
    from ktpel.store.schema.core import ResidentRow

    tmp = Path(tempfile.mkdtemp(prefix="ktpel-bench-enr-"))
    try:
        settings = Settings(data_dir=tmp)
        shared = settings.resolved_shared_data()
        reg = regions(shared)
        db = open_database(settings, name="office")
        need = args.residents + args.bulk
        seed_district(db, regions=reg, names=names(shared), regency_code="18.01", residents=max(need * 2, 50), seed=3,
                      today=dt.date(2026, 11, 29))
        with db.unit_of_work() as s:
            niks = list(s.scalars(select(ResidentRow.nik).order_by(ResidentRow.nik).limit(need)))
        operator = User(id=1, username="bench", role=Role.OPERATOR, regency_code="18.01")

        from ktpel.biometrics import get_engine

        files0 = samples.capture_files(shared, 0)
        get_engine().extract_face(files0["face"])  # load the models before timing
        get_engine().extract_finger(files0["finger_1"])

        latencies, cpu = [], []
        for i, nik in enumerate(niks[: args.residents]):
            files = samples.capture_files(shared, i)
            form = service.CaptureForm(
                nik=nik, form_token=f"bench-{nik}", face=service.Upload(files["face"]),
                signature=service.Upload(files["signature"]),
                fingers={p: service.Upload(files[f"finger_{p}"]) for p in range(1, 11)})
            t0, c0 = time.perf_counter(), time.process_time()
            try:  # a thumb the counter refuses is captured again, as an operator does (the retake is timed too)
                result = record_retaking(db, settings=settings, regions=reg, form=form, operator=operator,
                                         shared=shared, resident=i)
            except Exception as exc:  # noqa: BLE001 - a benchmark reports and goes on
                print(f"  skipped {nik}: {exc}")
                continue
            latencies.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            assert result.state == "QUEUED", result

        folder = samples.write_sample_folder(shared_data=shared, niks=niks[args.residents:], target=tmp / "bulk")
        c0 = time.process_time()
        report = import_folder(db, settings=settings, regions=reg, folder=folder, operator=operator,
                               workers=args.workers)
        bulk_cpu = time.process_time() - c0

        load = os.getloadavg()[0]
        print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f}")
        if latencies:
            lat = sorted(latencies)
            p95 = lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))]
            print(f"capture-to-queued latency per resident (n={len(lat)}): median {statistics.median(lat):.2f} s, "
                  f"p95 {p95:.2f} s, min {lat[0]:.2f} s; CPU time {statistics.median(cpu):.2f} s "
                  "(what an idle single core would take)")
        print(f"bulk import: {len(report.recorded)} recorded, {len(report.failed)} failed in {report.seconds:.1f} s "
              f"= {report.residents_per_minute:.1f} residents/minute (workers={args.workers}); "
              f"CPU-bound rate {60 * len(report.recorded) / bulk_cpu if bulk_cpu else 0:.1f} residents/minute per core")
        for f in report.failed[:5]:
            print(f"  failed {f['nik']}: {f['message_en']}")
    finally:  # the seeded database, keys and sample folder are the bench's own
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
