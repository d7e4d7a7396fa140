"""`ktpel demo` step: a resident becomes PRR and is told; an outage ends and the turned-away are told or called.

It drives the real seams: the print-ready event runs through every handler registered for
`enrollment.print_ready` (sync's state change, then ours), the outage is opened and closed with
`ktpel.office.sync.outage` (which calls the office composition's outage hooks), and the sender sends through the console channel.
Idempotent: a second run finds the demo receipts and only prints where to look.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select

from ktpel.domain import clock
from ktpel.config import Settings
from ktpel.domain.enrollment import EnrollmentState
from ktpel.store.db import Database
from ktpel.store.schema.core import CardRow, EnrollmentRow, PhoneRow, ResidentRow
from ktpel.sync.wiring import HandlerContext

RECEIPTS = ("DEMO-PRR-0001", "DEMO-OUT-0002", "DEMO-OUT-0003")


def _apply(session, *, settings: Settings, kind: str, subject_id: str, data: dict) -> None:  # noqa: ANN001
    """Run every handler registered for `kind`, in this one transaction, as the sync agent does."""
    from ktpel.office.composition import SYNC

    for handler in SYNC.events.get(kind, ()):
        handler(session, context=HandlerContext(settings=settings), seq=0, kind=kind, subject_id=subject_id,
                data=data)


def _demo_signing_key(settings: Settings):  # noqa: ANN202
    # a single-machine demo plays central too: its key sits beside the office's and the office trusts it
    from ktpel.keys.keyring import central_signing_key, init_keys

    init_keys(settings, side="central")
    return central_signing_key(settings)


def _card_dict(resident: ResidentRow, enrollment: EnrollmentRow) -> dict:
    return {"card_id": uuid.uuid4().hex, "enrollment_id": enrollment.id, "nik": resident.nik, "name": resident.name,
            "birth_place": resident.birth_place, "birth_date": resident.birth_date.isoformat(), "sex": resident.sex,
            "blood_type": resident.blood_type, "street": resident.street, "rt": resident.rt, "rw": resident.rw,
            "village_code": resident.village_code, "religion": resident.religion,
            "marital_status": resident.marital_status, "occupation": resident.occupation,
            "citizenship": resident.citizenship, "regency_code": resident.regency_code,
            "issued_at": clock.today_wib().isoformat()}


def _tell_story(*, settings: Settings, story: Settings, office_db: Database, console) -> None:  # noqa: ANN001
    """First run: PRR → message; outage opened, two residents turned away, outage closed → message / call list."""
    from ktpel.office.notify.sender import send_once
    from ktpel.office.notify.notices import add_turned_away
    from ktpel.sync import authorisation
    from ktpel.office.composition import SYNC
    from ktpel.office.sync.outage import record_failure, record_success

    with office_db.unit_of_work() as s:
        people = list(s.scalars(select(ResidentRow).where(ResidentRow.regency_code == settings.office_regency,
                                                          ResidentRow.birth_date <= dt.date(2000, 1, 1))
                                .order_by(ResidentRow.id).limit(3)))
        if len(people) < 3:
            return
        phones = [("+6281200000001", True), ("+62215550123", False), ("+6281200000003", True)]
        enrollments = []
        for person, (number, sms), receipt in zip(people, phones, RECEIPTS):
            s.add(PhoneRow(resident_id=person.id, number=number, takes_sms=sms, consent=True))
            e = EnrollmentRow(id=uuid.uuid4().hex, resident_id=person.id, office_code=settings.office_regency,
                              state=EnrollmentState.SENT.value, receipt_number=receipt, operator="demo")
            s.add(e)
            enrollments.append(e)
        s.flush()
        token = authorisation.issue(signing_key=_demo_signing_key(settings),
                                    card=_card_dict(people[0], enrollments[0]))
        _apply(s, settings=settings, kind="enrollment.print_ready",
               subject_id=enrollments[0].id, data={"authorisation": token})
    console.print("[bold]Notifikasi[/bold]: penduduk pertama menjadi PRR — pesan ke kanal konsol:")
    send_once(office_db, story)
    with office_db.unit_of_work() as s:
        record_failure(s, cause="demo: pusat data tidak terjangkau", next_attempt_at=None)
    with office_db.unit_of_work() as s:
        for person in people[1:]:
            add_turned_away(s, nik=person.nik, regency_code=settings.office_regency, actor="demo")
    with office_db.unit_of_work() as s:
        # ends the outage: the hooks notify the turned-away
        record_success(s, context=HandlerContext(settings=settings), ended_hooks=SYNC.outage_ended)
    console.print("[bold]Notifikasi[/bold]: gangguan selesai — pesan 'layanan cetak kembali normal':")
    send_once(office_db, story)
    _show_guessing(settings=story, office_db=office_db, console=console, nik=people[1].nik)


def _show_guessing(*, settings: Settings, office_db: Database, console, nik: str) -> None:  # noqa: ANN001
    """Guess receipts for the second resident (not the one printed for you to try) until the limit refuses."""
    from ktpel.office.notify.errors import RateLimited
    from ktpel.office.public.service import lookup_status

    answers = []
    for i in range(settings.status_limit_per_nik + 1):
        try:
            with office_db.unit_of_work() as s:
                found = lookup_status(s, settings=settings, nik=nik, receipt_number=f"TEBAK-{i:04d}", ip="demo")
            answers.append("tidak ditemukan" if not found.found else found.code)
        except RateLimited:
            answers.append("429 dibatasi")
    console.print(f"[bold]Cek status[/bold]: {len(answers)} tebakan nomor tanda terima untuk NIK {nik} → "
                  + ", ".join(answers))


def notify_demo(*, settings: Settings, office_db: Database, console) -> list:  # noqa: ANN001
    """Run the notification story once, say where to look, and start the background sender."""
    from ktpel.office.notify.sender import start_in_background
    from ktpel.office.notify.notices import call_list
    from ktpel.office.public.service import lookup_status

    demo = settings.model_copy(update={"notify_channel": "console"})
    # the story is shown whatever the hour; the background sender started below keeps the quiet hours
    story = demo.model_copy(update={"notify_quiet_hours": ""})
    with office_db.unit_of_work() as s:
        done = s.scalar(select(EnrollmentRow.id).where(EnrollmentRow.receipt_number == RECEIPTS[0])) is not None
    if not done:
        _tell_story(settings=settings, story=story, office_db=office_db, console=console)
    with office_db.unit_of_work() as s:
        first = s.execute(select(ResidentRow.nik, CardRow.authorisation)
                          .join(EnrollmentRow, EnrollmentRow.resident_id == ResidentRow.id)
                          .outerjoin(CardRow, CardRow.enrollment_id == EnrollmentRow.id)
                          .where(EnrollmentRow.receipt_number == RECEIPTS[0])).first()
        if first is None:
            return []
        calls = call_list(s, settings=demo)
        # a correct pair never counts towards the limits, so this answer is shown on every run
        found = lookup_status(s, settings=demo, nik=first[0], receipt_number=RECEIPTS[0], ip="demo")
    console.print(f"[bold]Daftar telepon[/bold] (/panggilan): {len(calls)} penduduk tanpa nomor SMS — "
                  + ", ".join(c.nik for c in calls))
    console.print(f"[bold]Cek status[/bold] (/status): NIK {first[0]} + tanda terima {RECEIPTS[0]} → "
                  f"{found.code}: {found.text_id}")
    if first[1]:
        # what the card's QR holds: the compact central-signed token inside the authorisation
        from ktpel.sync.authorisation import verify
        from ktpel.keys.keyring import central_public_keys

        payload = verify(first[1], public_keys=central_public_keys(settings)).get("qr", first[1])
        console.print(f"[bold]Verifikasi kartu[/bold] (/verifikasi): tempel kode QR ini:\n{payload}", soft_wrap=True)
    console.print(f"[dim]Pesan terkirim tercatat di {settings.data_dir / 'notifications.log'}[/dim]")
    start_in_background(office_db, demo)
    return []
