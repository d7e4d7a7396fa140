"""`ktpel demo` history: about eight weeks of a regency office, written through the real tables.

Recordings move through the enrollment and card state machines (domain/enrollment.py); every transition's
event is stored in `domain_events` at the simulated time, cards get their printed/issued timestamps,
blank batches arrive as `blanks.received` events (and nothing prints without a blank), and central
outages go into the sync capability's outage log, and some residents waiting for a blank activate a digital
ID (IKD) meanwhile. The dashboards then compute everything from the
database: no figure on a page is written here.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from sqlalchemy import insert, select

from ktpel.demo.ikd import adult_born_by
from ktpel.domain.blanks import BlankState
from ktpel.domain.enrollment import Card, Enrollment
from ktpel.domain.events import utcnow
from ktpel.office.reports import daily
from ktpel.reports.period import WIB, local_today
from ktpel.reports.sources import table
from ktpel.store.db import Database
from ktpel.store.schema.core import CardRow, DomainEventRow, EnrollmentRow, ResidentRow
from ktpel.store.schema.reports import ReportCacheRow

MARKER = "demo:history:v1"
# Adults (20+) the history leaves never recorded, for the steps after it: the demo recordings, printing's
# cards, IKD's two and the kit's recordings each need adults without a card or a recording (17 in all; the
# integration test tests/integration/test_demo_small_district.py adds them up). The history takes residents
# in id order and at the default size stops long before the last adults; in a small district it took them all.
LEFT_FOR_LATER_STEPS = 20
FAIL_REASONS = ["Kualitas sidik jari rendah (jari 2, 7)", "Wajah tidak terdeteksi", "Foto buram",
                "Template sidik jari rusak"]


@dataclass
class _Rec:
    n: int
    resident_id: int
    created: dt.datetime
    steps: list[tuple[str, dt.datetime, dict]] = field(default_factory=list)
    prr_at: dt.datetime | None = None
    card_steps: list[tuple[str, dt.datetime, dict]] = field(default_factory=list)
    printed_at: dt.datetime | None = None
    issued_at: dt.datetime | None = None
    serial: str | None = None


def _at(day: dt.date, hour: float) -> dt.datetime:
    return (dt.datetime.combine(day, dt.time(0), tzinfo=WIB) + dt.timedelta(hours=hour)).astimezone(dt.timezone.utc)


def _outages(start: dt.date, days: int, rng: random.Random) -> list[tuple[dt.datetime, dt.datetime, str]]:
    causes = ["Jaringan VPN terputus", "Pemeliharaan server pusat", "Listrik padam di kantor"]
    days = sorted(rng.sample(range(2, max(6, days - 3)), min(4, max(1, days // 14 + 1))))
    return [(_at(start + dt.timedelta(days=d), 9 + rng.random() * 4),
             _at(start + dt.timedelta(days=d), 9 + rng.random() * 4) + dt.timedelta(hours=rng.choice([3, 8, 26, 50])),
             causes[i % len(causes)]) for i, d in enumerate(days)]


def simulate(*, resident_ids: list[int], start: dt.date, days: int, now: dt.datetime, seed: int = 7
             ) -> tuple[list[_Rec], list[tuple[dt.datetime, int]], list[tuple[dt.datetime, dt.datetime, str]]]:
    """The office's weeks, as timestamps: recordings, central decisions, prints limited by blanks, pickups."""
    rng = random.Random(seed)
    outages = _outages(start, days, rng)

    def after_outage(t: dt.datetime) -> dt.datetime:
        for a, b, _ in outages:
            if a <= t < b:
                return b + dt.timedelta(minutes=rng.randint(5, 90))  # catch-up after the link returns
        return t

    recs: list[_Rec] = []
    batches: list[tuple[dt.datetime, int]] = []
    pool = iter(resident_ids)
    blanks = 0
    ready: list[_Rec] = []
    for i in range(days):
        day = start + dt.timedelta(days=i)
        weekday = day.weekday()
        if i == 0 or i % 14 == 10:  # opening stock, then a batch every two weeks: less than demand
            count = 400 if i == 0 else 300
            batches.append((_at(day, 8), count))
            blanks += count
        per_day = 0 if weekday == 6 else (18 if weekday == 5 else rng.randint(38, 55))
        for k in range(per_day):
            resident = next(pool, None)
            if resident is None:
                break
            created = _at(day, 8 + k * (8 / max(per_day, 1)) + rng.random() * 0.1)
            if created > now:
                break
            r = _Rec(n=len(recs) + 1, resident_id=resident, created=created)
            t = created + dt.timedelta(minutes=1)
            r.steps.append(("queue", t, {"packet_id": f"hist-packet-{r.n}"}))
            t = after_outage(t + dt.timedelta(minutes=rng.randint(2, 90)))
            r.steps.append(("mark_sent", t, {"receipt_id": f"hist-receipt-{r.n}"}))
            t += dt.timedelta(minutes=rng.randint(1, 5))
            r.steps.append(("receive", t, {}))
            t = after_outage(t + dt.timedelta(hours=rng.uniform(20, 100)))
            roll = rng.random()
            if roll < 0.05:
                r.steps.append(("fail", t, {"reason": rng.choice(FAIL_REASONS)}))
            elif roll < 0.10:
                r.steps.append(("send_to_adjudication", t, {"score": round(rng.uniform(0.6, 0.9), 3)}))
                t = after_outage(t + dt.timedelta(hours=rng.uniform(24, 72)))
                if roll < 0.08:
                    r.steps.append(("mark_duplicate", t, {"other_enrollment_id": f"hist-{max(1, r.n - 500)}"}))
                else:
                    r.steps.append(("mark_print_ready", t, {"authorisation_id": f"hist-auth-{r.n}"}))
                    r.prr_at = t
            else:
                r.steps.append(("mark_print_ready", t, {"authorisation_id": f"hist-auth-{r.n}"}))
                r.prr_at = t
            r.steps = [s for s in r.steps if s[1] <= now]
            if r.prr_at is not None and r.prr_at > now:
                r.prr_at = None
            recs.append(r)
        # printing happens on weekdays at the office, oldest authorisation first, only on a blank
        if weekday < 5:
            ready = sorted([r for r in recs if r.prr_at and r.printed_at is None and r.prr_at < _at(day, 9)],
                           key=lambda r: r.prr_at)
            for j, r in enumerate(ready[: rng.randint(30, 42)]):
                t = _at(day, 9 + j * 0.12)
                if t > now or blanks <= 0:
                    break
                r.card_steps.append(("authorise", r.prr_at + dt.timedelta(minutes=1), {"authorisation_id": f"hist-auth-{r.n}"}))
                if rng.random() < 0.02 and blanks > 1:  # a misprint spoils one blank
                    r.card_steps.append(("print", t, {"blank_serial": ""}))
                    r.card_steps.append(("spoil", t + dt.timedelta(minutes=3), {"reason": "Tinta luntur"}))
                    blanks -= 1
                    t += dt.timedelta(minutes=5)
                r.card_steps.append(("print", t, {"blank_serial": ""}))  # real serial: _assign_serials
                blanks -= 1
                r.printed_at = t
                if rng.random() < 0.85:
                    issued = _at(day + dt.timedelta(days=rng.choice([1, 1, 2, 3, 5, 8, 12])), 10 + rng.random() * 5)
                    if issued <= now:
                        r.card_steps.append(("issue", issued, {"handed_over_by": "petugas.demo"}))
                        r.issued_at = issued
    # only outages that are over: an open one belongs to sync's live link state, not to history
    outages = [(a, b, c) for a, b, c in outages if b <= now]
    return recs, batches, outages


def _assign_serials(recs: list[_Rec], batches: list[tuple[dt.datetime, int]]) -> tuple[list[dict], list[dict]]:
    """Give every print a real serial from the batches, in delivery order; the ledger rows that result.

    Mutates the print steps and `serial` of `recs`, so cards, events and ledger name the same blank.
    """
    serials: list[tuple[str, str, dt.datetime]] = []  # (serial, batch id, received at)
    batch_rows = []
    for b, (at, count) in enumerate(batches, 1):
        batch_id = f"hist-batch-{b}"
        mine = [f"DEMO{b:02d}{i:06d}" for i in range(1, count + 1)]
        serials += [(x, batch_id, at) for x in mine]
        batch_rows.append({"id": batch_id, "first_serial": mine[0], "last_serial": mine[-1], "count": count,
                           "source": "central", "allocation_ref": None, "received_by": "petugas.demo",
                           "received_at": at})
    prints = sorted(((at, r, i) for r in recs for i, (a, at, _) in enumerate(r.card_steps) if a == "print"),
                    key=lambda x: x[0])
    state: dict[str, tuple[str, str | None, str | None, dt.datetime]] = {}
    for k, (at, r, i) in enumerate(prints):
        serial = serials[k][0]
        action, when, kwargs = r.card_steps[i]
        r.card_steps[i] = (action, when, {**kwargs, "blank_serial": serial})
        spoiled = i + 1 < len(r.card_steps) and r.card_steps[i + 1][0] == "spoil"
        if spoiled:
            state[serial] = (BlankState.SPOILED.value, None, "misprint", r.card_steps[i + 1][1])
        else:
            r.serial = serial
            state[serial] = (BlankState.USED.value, f"card-hist-{r.n}", None, at)
    blank_rows = []
    for serial, batch_id, at in serials:
        st, card, reason, changed = state.get(serial, (BlankState.AVAILABLE.value, None, None, at))
        blank_rows.append({"serial": serial, "batch_id": batch_id, "state": st, "card_id": card, "reason": reason,
                           "changed_at": changed})
    return blank_rows, batch_rows


def _replay(machine, steps: list[tuple[str, dt.datetime, dict]]) -> list[dict]:  # noqa: ANN001
    """Apply the steps through the state machine; its events, stamped with the simulated times."""
    rows = []
    for action, at, kwargs in steps:
        before = len(machine.events)
        getattr(machine, action)(**kwargs)
        for ev in machine.events[before:]:
            rows.append({"name": ev.name, "subject_id": ev.subject_id, "data": ev.data, "at": at})
    return rows


IKD_SHARE = 0.2  # of the residents whose record became print-ready, the share who activated a digital ID
HISTORY_OFFICER = "petugas.riwayat"  # not the demo's live officer: the IKD demo step looks for its own


def _ikd_activations(recs: list[_Rec], *, office_code: str, now: dt.datetime, seed: int) -> list[dict]:
    """Digital IDs activated at the counter by residents whose record was print-ready (the IKD flow's outcome).

    One activated before the resident's card was printed is a blank saved, as the counter records it.
    """
    from ktpel.domain.ikd import IkdState

    rng = random.Random(seed + 1)  # its own stream: the recordings above stay as they were
    rows = []
    for r in recs:
        if r.prr_at is None or rng.random() >= IKD_SHARE:
            continue
        at = r.prr_at + dt.timedelta(days=rng.uniform(0.2, 10))
        if at >= now:
            continue
        rows.append({"id": f"IKDhist{r.n:09d}", "resident_id": r.resident_id, "enrollment_id": f"hist-{r.n}",
                     "office_code": office_code, "state": IkdState.ACTIVE.value, "phone": f"+62812{r.n:08d}"[:15],
                     "email": f"warga{r.n}@contoh.id", "consent": True, "selfie_score": round(rng.uniform(7, 14), 2),
                     "selfie_attempts": 1, "code_attempts": 0, "code_used_at": at,
                     "saves_blank": r.printed_at is None or at < r.printed_at, "officer": HISTORY_OFFICER,
                     "created_at": at - dt.timedelta(minutes=rng.randint(4, 15)), "activated_at": at})
    return rows


# a failure reason that says what the office sent was unusable is central's EFAR; the rest are EFAC
REGIONAL_FAILURES = {"Template sidik jari rusak"}
OUTCOME_EVENTS = {"mark_print_ready": "enrollment.print_ready", "send_to_adjudication": "enrollment.adjudication",
                  "mark_duplicate": "enrollment.duplicate", "fail": "enrollment.failed"}


def _outcomes(recs: list[_Rec], *, seed: int) -> list[dict]:
    """The officers' outcome code of each history recording's latest central decision (PRR, ADJ, RV, DUP-1:1,
    DUP-1:N, EFAR, EFAC), as the office records it from central's events (`office/outcomes.py`)."""
    from ktpel.domain.outcomes import classify

    rng = random.Random(seed + 2)  # its own stream: the recordings above stay as they were
    rows = []
    for r in recs:
        decided = [(a, t, d) for a, t, d in r.steps if a in OUTCOME_EVENTS]
        if not decided:
            continue
        action, at, data = decided[-1]
        detail = {"enrollment.failed": {"reason": data.get("reason"),
                                        "at": "regional" if data.get("reason") in REGIONAL_FAILURES else "central"},
                  "enrollment.duplicate": {"match": rng.choice(("one_to_one", "one_to_many"))},
                  "enrollment.adjudication": {"reasons": ["nik_collision"] if rng.random() < 0.3
                                              else ["biometric_review"]}}.get(OUTCOME_EVENTS[action], {})
        outcome = classify(kind=OUTCOME_EVENTS[action], data=detail)
        rows.append({"enrollment_id": f"hist-{r.n}", "code": outcome.code, "detail": detail, "at": at})
    return rows


def _report_ikd(session, rows: list[dict]) -> None:  # noqa: ANN001
    """Queue each activation's `ikd.activated` report, as the counter does: central counts them once synced."""
    from ktpel.packets.ikd import CURRENT
    from ktpel.office.sync.outbox import enqueue_packet

    niks = dict(session.execute(select(ResidentRow.id, ResidentRow.nik)
                                .where(ResidentRow.id.in_({r["resident_id"] for r in rows}))).all())
    for r in rows:
        report = CURRENT(activation_id=r["id"], nik=niks[r["resident_id"]], office_code=r["office_code"],
                         officer=r["officer"], saves_blank=r["saves_blank"], activated_at=r["activated_at"].isoformat())
        enqueue_packet(session, kind="ikd.activated", subject_id=r["id"], payload=report.model_dump(mode="json"))


def history_residents(residents: list[tuple[int, dt.date]], *, keep: int, keep_born_by: dt.date) -> list[int]:
    """The ids the history may record, in order: all of `residents` (id, birth date) but the last `keep`
    born by `keep_born_by`, which stay never recorded for the demo steps after the history."""
    adults = [rid for rid, born in residents if born <= keep_born_by]
    kept = set(adults[max(0, len(adults) - keep):]) if keep > 0 else set()
    return [rid for rid, _ in residents if rid not in kept]


def write_history(db: Database, *, office_code: str, weeks: int = 8, now: dt.datetime | None = None,
                  seed: int = 7) -> int:
    """Write the simulated weeks into the office database once; returns the recordings written (0 if done)."""
    now = now or utcnow()
    adult_born = local_today(now) - dt.timedelta(days=int(365.25 * 17))
    with db.unit_of_work() as s:
        if s.get(ReportCacheRow, MARKER) is not None:
            return 0
        residents = s.execute(
            select(ResidentRow.id, ResidentRow.birth_date)
            .where(~select(EnrollmentRow.id).where(EnrollmentRow.resident_id == ResidentRow.id).exists(),
                   ResidentRow.birth_date <= adult_born)  # only residents of card age (17) record
            .order_by(ResidentRow.id)
        ).all()
    today = local_today(now)
    start = today - dt.timedelta(days=weeks * 7)
    pool = history_residents([tuple(r) for r in residents], keep=LEFT_FOR_LATER_STEPS,
                             keep_born_by=adult_born_by(today.year))
    recs, batches, outages = simulate(resident_ids=pool, start=start, days=weeks * 7 + 1, now=now, seed=seed)
    enrollments, cards, events = [], [], []
    ledger_rows = _assign_serials(recs, batches)
    for r in recs:
        eid = f"hist-{r.n}"
        e = Enrollment(id=eid)
        events += _replay(e, r.steps)
        last = r.steps[-1][1] if r.steps else r.created
        enrollments.append({"id": eid, "resident_id": r.resident_id, "office_code": office_code, "state": e.state.value,
                            "receipt_number": f"H{office_code.replace('.', '')}{r.n:08d}", "operator": "petugas.demo",
                            "quality": {}, "exceptions": {},
                            "failure_reason": next((k["reason"] for a, _, k in r.steps if a == "fail"), None),
                            "created_at": r.created, "updated_at": last})
        if r.prr_at is not None:
            c = Card(id=f"card-{eid}")
            events += _replay(c, r.card_steps)
            cards.append({"id": c.id, "enrollment_id": eid, "resident_id": r.resident_id, "state": c.state.value,
                          "blank_serial": r.serial, "authorisation": None, "printed_at": r.printed_at,
                          "issued_at": r.issued_at, "issued_by": "petugas.demo" if r.issued_at else None,
                          "created_at": r.prr_at, "updated_at": r.issued_at or r.printed_at or r.prr_at})
    ledger = table("blanks", "serial", "batch_id", "state", "card_id", "changed_at")
    batch_table = table("blank_batches", "id", "first_serial", "last_serial", "count", "source", "received_by",
                        "received_at")
    blank_rows, batch_rows = [], []
    if ledger is not None and batch_table is not None:
        blank_rows, batch_rows = ledger_rows
    else:
        for at, count in batches:
            events.append({"name": "blanks.received", "subject_id": f"batch-{at:%Y%m%d}", "at": at,
                           "data": {"count": count, "source": "alokasi pusat"}})
    events.sort(key=lambda e: e["at"])
    with db.unit_of_work() as s:
        for chunk in range(0, len(enrollments), 2000):
            s.execute(insert(EnrollmentRow), enrollments[chunk:chunk + 2000])
        for chunk in range(0, len(cards), 2000):
            s.execute(insert(CardRow), cards[chunk:chunk + 2000])
        for chunk in range(0, len(events), 5000):
            s.execute(insert(DomainEventRow), events[chunk:chunk + 5000])
        for rows_, tbl in ((batch_rows, batch_table), (blank_rows, ledger)):
            for chunk in range(0, len(rows_), 5000):
                s.execute(insert(tbl), rows_[chunk:chunk + 5000])
        ikd = table("ikd_activations", "id", "saves_blank", "activated_at")
        if ikd is not None:
            rows = _ikd_activations(recs, office_code=office_code, now=now, seed=seed)
            for chunk in range(0, len(rows), 2000):
                s.execute(insert(ikd), rows[chunk:chunk + 2000])
            _report_ikd(s, rows)
        outcomes = table("enrollment_outcomes", "enrollment_id", "code", "detail", "at")
        if outcomes is not None:
            rows = _outcomes(recs, seed=seed)
            for chunk in range(0, len(rows), 2000):
                s.execute(insert(outcomes), rows[chunk:chunk + 2000])
        outage_table = table("sync_outages", "started_at", "ended_at")
        if outage_table is not None:
            rows = [{"started_at": a, "ended_at": b, **({"cause": c} if "cause" in outage_table.c else {})}
                    for a, b, c in outages]
            if rows:
                s.execute(insert(outage_table), rows)
        daily.forget(s, office_code=office_code)
        s.add(ReportCacheRow(key=MARKER, payload={"recordings": len(enrollments), "cards": len(cards),
                                                  "events": len(events), "outages": len(outages)},
                             computed_at=now))
    return len(enrollments)


def demo_history(*, settings, office_db: Database, console) -> list:  # noqa: ANN001
    """DEMO_STEPS entry: eight weeks of history on the first run (idempotent)."""
    written = write_history(office_db, office_code=settings.office_regency)
    if written:
        console.print(f"[cyan]Riwayat demo[/cyan]: {written} perekaman selama 8 minggu ditulis (dasbor: /dasbor)")
    return []
