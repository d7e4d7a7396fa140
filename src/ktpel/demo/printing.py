"""Demo step: a blank batch from a central allocation and a few residents with authorised cards to print.

The cards carry print authorisations signed with the demo central's key (as the pipeline would issue),
photo, signature and one enrolled fingerprint (FVC2002 DB1 finger 101) so pickup can be tried with a
matching impression (101_3.tif) and a different finger (105_2.tif). Idempotent: runs once per demo folder.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from ktpel.domain import clock
from ktpel.domain.blanks import BlankState
from ktpel.domain.enrollment import EnrollmentState

DEMO_CARDS = 8
DEMO_BATCH = {"plan_id": "demo", "first_serial": "LS26-000001", "last_serial": "LS26-000300", "count": 300}


def backfill_movements(session) -> int:  # noqa: ANN001
    """Blanks written without a movement log (e.g. the demo history) get one from batch and state times."""
    from ktpel.store.schema.printing import BlankBatchRow, BlankMovementRow, BlankRow

    logged = select(BlankMovementRow.serial).where(BlankMovementRow.from_state.is_(None))
    rows = session.execute(select(BlankRow, BlankBatchRow.received_at)
                           .join(BlankBatchRow, BlankBatchRow.id == BlankRow.batch_id)
                           .where(BlankRow.serial.not_in(logged))).all()
    moves = []
    for blank, received_at in rows:
        moves.append({"serial": blank.serial, "from_state": None, "to_state": BlankState.AVAILABLE.value, "card_id": None,
                      "reason": None, "actor": "riwayat", "day": clock.wib_date(received_at), "at": received_at})
        if blank.state != BlankState.AVAILABLE.value:
            at = blank.changed_at or received_at
            moves.append({"serial": blank.serial, "from_state": BlankState.AVAILABLE.value, "to_state": blank.state,
                          "card_id": blank.card_id, "reason": blank.reason, "actor": "riwayat", "day": clock.wib_date(at),
                          "at": at})
    if moves:
        session.execute(BlankMovementRow.__table__.insert(), moves)
    return len(rows)


def prepare_printing(*, settings, office_db, console) -> list:  # noqa: ANN001
    """Receive the demo batch (as the `blanks.allocated` event would) and authorise a few cards once."""
    from ktpel.office.printing import service
    from ktpel.store.schema.core import CardRow
    from ktpel.sync.wiring import HandlerContext

    with office_db.unit_of_work() as s:
        backfill_movements(s)
        service.apply_blanks_allocated(s, context=HandlerContext(settings=settings), seq=0, kind="blanks.allocated",
                                       subject_id="demo-18.01", data=DEMO_BATCH)
        have = s.scalar(select(func.count()).select_from(CardRow).where(CardRow.id.like("card-demo-%"))) or 0
    if have >= DEMO_CARDS:
        return []
    try:
        made = _authorised_cards(settings=settings, office_db=office_db, count=DEMO_CARDS - have, start=have)
    except Exception as exc:  # noqa: BLE001 - the demo goes on without printable cards, and says why
        console.print(f"[yellow]![/yellow] kartu demo siap cetak tidak dibuat / demo cards not made: {exc}")
        return []
    console.print(f"[green]✓[/green] {made} kartu berizin cetak (authorised cards) · blanko "
                  f"{DEMO_BATCH['first_serial']}–{DEMO_BATCH['last_serial']} · buka /cetak")
    console.print("  ambil kartu / pickup: sidik jari nomor 2 — cocok: "
                  f"{settings.resolved_shared_data() / 'fingerprints/FVC2002_DB1_B/101_3.tif'} · "
                  f"tidak cocok: {settings.resolved_shared_data() / 'fingerprints/FVC2002_DB1_B/105_2.tif'}")
    return []


def _authorised_cards(*, settings, office_db, count: int, start: int) -> int:  # noqa: ANN001
    from ktpel.biometrics import get_engine
    from ktpel.domain.enrollment import Card
    from ktpel.office.enrollment.samples import signature_png
    from ktpel.office.printing import service
    from ktpel.security.access import Role, User  # noqa: F401 - demo actor names only
    from ktpel.store.schema.core import CardRow, DomainEventRow, EnrollmentRow, ResidentRow
    from ktpel.store.schema.enrollment import EnrollmentCaptureRow
    from ktpel.sync.authorisation import issue
    from ktpel.keys.keyring import central_signing_key, init_keys

    init_keys(settings, side="central")
    key = central_signing_key(settings)
    shared = settings.resolved_shared_data()
    enrolled_print = (shared / "fingerprints" / "FVC2002_DB1_B" / "101_1.tif").read_bytes()
    template = get_engine().extract_finger(enrolled_print, finger_position=2).to_bytes()
    today = clock.today_wib()
    adult = dt.date(today.year - 17, today.month, min(today.day, 28))
    policy = service.current_policy()
    made = 0
    with office_db.unit_of_work() as s:
        # adults without a card; those never recorded first (the demo history records most of them)
        carded = select(CardRow.resident_id)
        recorded = select(EnrollmentRow.resident_id)
        residents = list(s.scalars(
            select(ResidentRow).where(ResidentRow.regency_code == settings.office_regency,
                                      ResidentRow.birth_date <= adult, ResidentRow.revoked.is_(False),
                                      ResidentRow.id.not_in(carded))
            .order_by(ResidentRow.id.in_(recorded), ResidentRow.birth_date).limit(count)))
        for i, r in enumerate(residents, start=start):
            eid, cid = f"enr-demo-{i}", f"card-demo-{i}"
            s.add(EnrollmentRow(id=eid, resident_id=r.id, office_code=settings.office_regency, state=EnrollmentState.PRINT_READY.value,
                                receipt_number=f"DEMO-CETAK-{i:03d}", operator="petugas.demo"))
            s.flush()
            signed = {
                "card_id": cid, "enrollment_id": eid, "nik": r.nik, "name": r.name, "birth_place": r.birth_place,
                "birth_date": r.birth_date.isoformat(), "sex": r.sex, "blood_type": r.blood_type,
                "street": r.street, "rt": r.rt, "rw": r.rw, "village_code": r.village_code,
                "religion": r.religion, "marital_status": r.marital_status, "occupation": r.occupation,
                "citizenship": r.citizenship, "regency_code": r.regency_code, "issued_at": today.isoformat(),
            }
            card = Card(id=cid)
            card.authorise(authorisation_id=cid)
            s.add(CardRow(id=cid, enrollment_id=eid, resident_id=r.id, state=card.state.value,
                          authorisation=issue(signing_key=key, card=signed),
                          created_at=clock.now() - dt.timedelta(days=3 * i)))
            for e in card.events:
                s.add(DomainEventRow(name=e.name, subject_id=e.subject_id, data=e.data, at=e.at))
            face = (shared / "faces" / "att_orl" / f"s{i % 40 + 1}" / "1.pgm").read_bytes()
            s.add(EnrollmentCaptureRow(enrollment_id=eid, kind="face", content_type="image/x-portable-graymap",
                                       image=face, template=None))
            s.add(EnrollmentCaptureRow(enrollment_id=eid, kind="signature", content_type="image/png",
                                       image=signature_png(i), template=None))
            s.add(EnrollmentCaptureRow(enrollment_id=eid, kind="finger_2", content_type="image/tiff",
                                       image=enrolled_print, template=template))
            made += 1
        s.flush()
        # three of them are already at the counter; the queue order shows the policy at work
        for i, r in enumerate(residents[:3]):
            service.mark_present(s, card_id=f"card-demo-{start + i}", regency_code=settings.office_regency,
                                 actor="petugas.demo", classes=["health"] if i == 2 else [], policy=policy)
    return made
