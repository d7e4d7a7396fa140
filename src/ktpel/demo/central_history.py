"""`ktpel demo` history on the central side: eight weeks of the province's regencies in central's tables.

Writes records as the pipeline leaves them (decided, jobs done), stage runs, adjudications (all decided:
the open queue holds only the demo's real items), duplicate cases across regencies, published blank allocations and printed reports: the tables of
the central, sync and printing capabilities, looked up by name so a missing one is skipped. No pipeline
work is left queued, so the demo's real pipeline never picks up a history row.
"""

from __future__ import annotations

import datetime as dt
import json
import random

from sqlalchemy import insert, select

from ktpel.domain.events import utcnow
from ktpel.domain.national_record import NationalRecordState as _R
from ktpel.reports.period import WIB, local_today
from ktpel.reports.sources import table
from ktpel.store.db import Database
from ktpel.store.schema.reports import ReportCacheRow

MARKER = "demo:central-history:v1"
# Lampung's regencies and cities (the demo office, 18.01, is one of them)
REGENCIES = ["18.01", "18.02", "18.03", "18.04", "18.05", "18.06", "18.07", "18.08", "18.09", "18.10",
             "18.11", "18.12", "18.13", "18.71", "18.72"]
STAGES = [("validate", 8), ("quality", 140), ("demographic", 35), ("biometric", 420), ("decide", 5)]
FAIL_REASONS = ["Kualitas sidik jari rendah", "Wajah tidak terdeteksi", "Foto buram"]


def _record(n: int, code: str, captured: dt.datetime, rng: random.Random) -> dict:
    born = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randint(0, 365 * 45))
    district = code.replace(".", "") + "01"
    return {"id": f"hist-c-{n}", "packet_id": f"hist-c-packet-{n}", "office_code": code,
            "receipt_number": f"HC{n:09d}", "nik": f"{district}{born:%d%m%y}{9000 + n % 1000:04d}"[:16],
            "kk_number": "", "name": "WARGA RIWAYAT DEMO", "birth_place": "LAMPUNG", "birth_date": born,
            "sex": rng.choice("LP"), "blood_type": "-", "street": "JL. RIWAYAT", "rt": "001", "rw": "001",
            "village_code": "", "religion": "", "marital_status": "", "occupation": "", "citizenship": "WNI",
            "father_name": "", "mother_name": "", "name_key": "", "templates": "{}", "images": "{}",
            "exceptions": {}, "state": _R.PRINT_READY.value, "failure_reason": None, "gallery_seq": None, "card_id": None,
            "captured_at": captured, "received_at": captured + dt.timedelta(minutes=rng.randint(3, 240)),
            "decided_at": None}


def write_central_history(db: Database, *, weeks: int = 8, now: dt.datetime | None = None, seed: int = 11) -> int:
    """Write the simulated weeks into central's database once; returns the records written (0 if done)."""
    now = now or utcnow()
    records_t = table("central_records", "id", "office_code", "state", "captured_at", "decided_at")
    if records_t is None:
        return 0
    with db.unit_of_work() as s:
        if s.get(ReportCacheRow, MARKER) is not None:
            return 0
    rng = random.Random(seed)
    start = local_today(now) - dt.timedelta(days=weeks * 7)
    records, jobs, runs, adjs, cases, printed = [], [], [], [], [], []
    n = 0
    for code_i, code in enumerate(REGENCIES):
        busy = 0.5 + (code_i % 5) / 3  # some regencies record far more than others
        for d in range(weeks * 7):
            day = start + dt.timedelta(days=d)
            if day.weekday() == 6:
                continue
            for _ in range(int(rng.randint(6, 20) * busy)):
                n += 1
                captured = dt.datetime.combine(day, dt.time(8), tzinfo=WIB).astimezone(dt.timezone.utc) + \
                    dt.timedelta(minutes=rng.randint(0, 480))
                r = _record(n, code, captured, rng)
                decided = r["received_at"] + dt.timedelta(hours=rng.uniform(0.2, 30) * (3 if code_i % 4 == 0 else 1))
                if decided > now:
                    continue
                roll = rng.random()
                r["decided_at"] = decided
                if roll < 0.05:
                    r["state"], r["failure_reason"] = _R.FAILED.value, rng.choice(FAIL_REASONS)
                elif roll < 0.08 and records:
                    other = rng.choice(records)  # people record twice anywhere
                    # every history item is decided: history rows carry no photos or fingerprints, so an
                    # open one would sit in the real /adjudikasi queue with nothing to compare
                    same = rng.random() < 0.7
                    r["state"] = _R.DUPLICATE.value if same else _R.PRINT_READY.value
                    adjs.append({"id": f"hist-adj-{n}", "record_id": r["id"], "candidate_id": other["id"],
                                 "reason": "biometric_review", "band": "review", "fused_z": round(rng.uniform(3, 6), 2),
                                 "scores": {}, "demographic": {}, "urgency": 0.0, "status": "decided",
                                 "first_decision": "same" if same else None,
                                 "first_by": "adjudikator.demo" if same else None,
                                 "first_reason": "riwayat demo" if same else None,
                                 "first_at": r["decided_at"] - dt.timedelta(hours=1) if same else None,
                                 "final_decision": "same" if same else "different",
                                 "final_by": "adjudikator2.demo" if same else "adjudikator.demo",
                                 "final_reason": "riwayat demo", "decided_at": r["decided_at"], "version": 1,
                                 "created_at": r["received_at"] + dt.timedelta(minutes=10)})
                    if r["state"] == _R.DUPLICATE.value:
                        cases.append({"id": f"hist-case-{n}", "record_a": r["id"], "record_b": other["id"],
                                      "source": "adjudication", "adjudication_id": f"hist-adj-{n}",
                                      "opened_by": "adjudikator.demo", "opened_at": decided, "status": "closed",
                                      "kept_record_id": other["id"], "revoked_record_id": r["id"],
                                      "resolved_at_office": code, "resolved_by": "petugas.demo",
                                      "closed_at": min(decided + dt.timedelta(days=2), now)})
                records.append(r)
                jobs.append({"packet_id": r["packet_id"], "record_id": r["id"], "office_code": code, "payload": "{}",
                             "stage": "decide", "status": "done", "attempts": 1, "worker_id": "riwayat",
                             "lease_until": None, "next_run_at": r["received_at"], "last_error": None, "results": {},
                             "outcome": r["state"].lower(), "enqueued_at": r["received_at"],
                             "finished_at": r["decided_at"] or r["received_at"] + dt.timedelta(minutes=5)})
                if r["state"] == _R.PRINT_READY.value:
                    p_at = decided + dt.timedelta(days=rng.uniform(0.5, 25) * (2.5 if code_i % 3 == 0 else 1))
                    if p_at <= now and rng.random() < 0.9:
                        printed.append({"serial": f"HC{code.replace('.', '')}{n:08d}", "office_code": code,
                                        "card_id": f"card-{r['id']}", "packet_id": f"hist-c-printed-{n}",
                                        "printed_at": p_at, "offline": False,
                                        "received_at": p_at + dt.timedelta(minutes=rng.randint(1, 600))})
    allocations = []
    for code_i, code in enumerate(REGENCIES):
        made = sum(1 for p in printed if p["office_code"] == code)
        for k in range(weeks // 2):
            allocations.append({"plan_id": f"hist-plan-{k}", "regency_code": code,
                                "blanks": int(made / (weeks // 2) * (0.7 + (code_i % 4) * 0.25)) + 20,
                                "first_serial": None, "last_serial": None, "backlog": 0, "urgent": 0, "on_hand": 0,
                                "published": True, "created_by": "pusat.demo",
                                "created_at": dt.datetime.combine(start + dt.timedelta(days=14 * k), dt.time(2),
                                                                  tzinfo=dt.timezone.utc)})
    # connection outages the offices reported once back online (kind outage.report, as sync delivers it)
    outages = []
    for code_i, code in enumerate(REGENCIES):
        for k in range(rng.randint(0, 2) + (3 if code_i % 5 == 2 else 0)):  # some regencies' links are poor
            began = dt.datetime.combine(start + dt.timedelta(days=rng.randint(0, weeks * 7 - 4)),
                                        dt.time(rng.randint(0, 23)), tzinfo=WIB).astimezone(dt.timezone.utc)
            ended = began + dt.timedelta(hours=rng.choice([0.5, 2, 5, 9, 26, 70]) * rng.uniform(0.6, 1.4))
            if ended > now:
                continue
            payload = {"outage_id": k + 1, "started_at": began.isoformat(), "ended_at": ended.isoformat(),
                       "duration_s": round((ended - began).total_seconds(), 1), "cause": "ConnectError",
                       "queued_at_start": rng.randint(0, 40), "queued_at_end": rng.randint(20, 400)}
            outages.append({"packet_id": f"hist-outage-{code}-{k}", "office_code": code, "kind": "outage.report",
                            "subject_id": f"outage-{k + 1}", "payload": json.dumps(payload),
                            "created_at": ended, "received_at": ended + dt.timedelta(minutes=1), "receipt": "{}"})
    # the pipeline's stage timings of the last eight days: what the latency panel and metrics show
    for j in jobs:
        if j["finished_at"] >= now - dt.timedelta(days=8):
            for stage, ms in STAGES:
                runs.append({"stage": stage, "ok": True, "duration_ms": round(ms * rng.lognormvariate(0, 0.4), 1),
                             "worker_id": "riwayat", "finished_at": j["finished_at"], "_packet": j["packet_id"]})
    with db.unit_of_work() as s:
        for chunk in range(0, len(records), 2000):
            s.execute(insert(records_t), records[chunk:chunk + 2000])
        jobs_t = table("central_jobs", "packet_id", "status")
        if jobs_t is not None:
            for chunk in range(0, len(jobs), 2000):
                s.execute(insert(jobs_t), jobs[chunk:chunk + 2000])
            runs_t = table("central_stage_runs", "job_id", "stage", "duration_ms")
            if runs_t is not None and runs:
                ids = dict(s.execute(select(jobs_t.c.packet_id, jobs_t.c.id).where(
                    jobs_t.c.packet_id.in_({r["_packet"] for r in runs}))).all())
                s.execute(insert(runs_t), [{**{k: v for k, v in r.items() if k != "_packet"}, "job_id": ids[r["_packet"]]}
                                           for r in runs])
        for name, rows in (("central_adjudications", adjs), ("central_duplicate_cases", cases),
                           ("printed_reports", printed), ("blank_allocations", allocations),
                           ("central_packets", outages)):
            t = table(name)
            if t is not None and rows:
                for chunk in range(0, len(rows), 2000):
                    s.execute(insert(t), rows[chunk:chunk + 2000])
        s.add(ReportCacheRow(key=MARKER, payload={"records": len(records), "printed": len(printed)}, computed_at=now))
    return len(records)


IKD_MARKER = "demo:central-ikd-history:v1"


def write_ikd_history(db: Database, *, own_office: str, weeks: int = 8, now: dt.datetime | None = None,
                      seed: int = 12) -> int:
    """The province's other offices' IKD activations (as their `ikd.activated` reports left them) once; returns
    the rows written. The demo office's own activations reach central through sync, as in production."""
    from ktpel.domain.ikd import IkdState

    now = now or utcnow()
    ikd = table("central_ikd", "activation_id", "office_code", "activated_at")
    if ikd is None:
        return 0
    with db.unit_of_work() as s:
        if s.get(ReportCacheRow, IKD_MARKER) is not None:
            return 0
    rng = random.Random(seed)
    start = local_today(now) - dt.timedelta(days=weeks * 7)
    rows = []
    for code_i, code in enumerate(r for r in REGENCIES if r != own_office):
        for d in range(weeks * 7 + 1):
            day = start + dt.timedelta(days=d)
            # more IKD where blanks ran short; none on Sundays, more in recent weeks as offices push it
            for _ in range(0 if day.weekday() == 6 else rng.randint(0, 2 + code_i % 4 + d // 21)):
                at = dt.datetime.combine(day, dt.time(8), tzinfo=WIB).astimezone(dt.timezone.utc) + \
                    dt.timedelta(minutes=rng.randint(0, 420))
                if at > now:
                    continue
                revoked = at + dt.timedelta(days=rng.randint(1, 20)) if rng.random() < 0.03 else None
                revoked = revoked if revoked is not None and revoked <= now else None
                n = len(rows) + 1
                rows.append({"activation_id": f"hist-ikd-{n}", "office_code": code,
                             "nik": f"{code.replace('.', '')}01{rng.randint(10, 28):02d}0{rng.randint(1, 9)}"
                                    f"{rng.randint(70, 99):02d}{8000 + n % 2000:04d}",
                             "state": IkdState.REVOKED.value if revoked else IkdState.ACTIVE.value,
                             "saves_blank": rng.random() < 0.85, "officer": "petugas.riwayat", "activated_at": at,
                             "revoked_at": revoked, "last_packet_id": f"hist-ikd-packet-{n}", "updated_at": revoked or at})
    with db.unit_of_work() as s:
        for chunk in range(0, len(rows), 2000):
            s.execute(insert(ikd), rows[chunk:chunk + 2000])
        s.add(ReportCacheRow(key=IKD_MARKER, payload={"ikd": len(rows)}, computed_at=now))
    return len(rows)


def demo_central_history(*, settings, office_db: Database, console) -> list:  # noqa: ANN001
    """DEMO_STEPS entry: central's eight weeks for the province (idempotent)."""
    from ktpel.store.db import open_database

    central_db = open_database(settings, name="central")
    try:
        written = write_central_history(central_db)
        ikd = write_ikd_history(central_db, own_office=settings.office_regency)
    finally:
        central_db.dispose()
    if written:
        console.print(f"[cyan]Riwayat pusat[/cyan]: {written} rekaman {len(REGENCIES)} kabupaten/kota (/dasbor-pusat)")
    if ikd:
        console.print(f"[cyan]Riwayat IKD pusat[/cyan]: {ikd} aktivasi IKD kabupaten/kota lain (/dasbor-pusat)")
    return []
