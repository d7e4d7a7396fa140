"""Several workers on one database: every job decided exactly once, no duplicate slips through the race."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from ktpel.store.schema.central import PipelineJobRow, StageRunRow
from tests.integration.central.conftest import make_payload


def test_parallel_workers_share_the_queue_and_catch_a_simultaneous_duplicate(central, people, db, settings, backend):
    from ktpel.central.pipeline.worker import Worker

    payloads = [
        make_payload(people.biometrics(person=1, impression=1), nik="1801051705900001", name="Budi"),
        make_payload(people.biometrics(person=1, impression=2), nik="1802051705900003", name="Budi",
                     office_code="18.02"),
        make_payload(people.biometrics(person=2, impression=1), nik="1801052101800004", name="Andi",
                     birth_date="1980-01-21"),
        make_payload(people.biometrics(person=3, impression=1), nik="1801054203850002", name="Sri", sex="P",
                     birth_date="1985-03-02"),
    ]
    for p in payloads:
        central.receive(p)
    # PostgreSQL: three workers at once (SKIP LOCKED); SQLite: its single writer, still correct
    n = 3 if backend == "postgresql" else 1
    workers = [Worker(db=db, settings=settings, worker_id=f"w{i}") for i in range(n)]
    results: list = []
    threads = [threading.Thread(target=lambda w=w: results.extend(w.drain())) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(o.job_id for o in results) == sorted(set(o.job_id for o in results))  # nobody ran a job twice
    with db.unit_of_work() as s:
        jobs = s.scalars(select(PipelineJobRow)).all()
        decide_runs = s.scalar(select(func.count()).select_from(StageRunRow).where(StageRunRow.stage == "decide"))
    assert all(j.status == "done" for j in jobs) and decide_runs == 4
    outcomes = {j.record_id: j.outcome for j in jobs}
    # of the two recordings of person 1, whichever entered the gallery second saw the other and went to
    # adjudication (when both entered before either searched, both did: safe, a person decides)
    pair = [outcomes[payloads[0]["enrollment_id"]], outcomes[payloads[1]["enrollment_id"]]]
    assert "ADJUDICATION" in pair and set(pair) <= {"ADJUDICATION", "PRINT_READY"}
    assert outcomes[payloads[2]["enrollment_id"]] == outcomes[payloads[3]["enrollment_id"]] == "PRINT_READY"
    # each office got exactly one decision per recording
    events = central.events(office_code="18.01") + central.events(office_code="18.02")
    decisions = [e["subject_id"] for e in events if e["kind"] in ("enrollment.print_ready", "enrollment.adjudication")]
    assert sorted(decisions) == sorted(p["enrollment_id"] for p in payloads)
