"""Demo step: an IKD activated with a real selfie (ORL faces), and one waiting at the selfie step to try live."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

DEMO_OFFICER = "petugas.demo"
SUBJECTS = (("enr-ikd-demo-0", 12), ("enr-ikd-demo-1", 13))  # enrollment id, ORL subject


def adult_born_by(year: int) -> dt.date:
    """Born on or before this day: an adult (20 or more) whose IKD the demo activates in `year`."""
    return dt.date(year - 20, 1, 1)


def _prr_resident(session, *, settings, enrollment_id: str, subject: int, shared) -> str | None:  # noqa: ANN001
    """A print-ready recording with an enrolled face template, made once for the demo (None: no adult left)."""
    from ktpel.biometrics import get_engine
    from ktpel.domain.enrollment import EnrollmentState
    from ktpel.store.schema.core import CardRow, EnrollmentRow, ResidentRow
    from ktpel.store.schema.enrollment import EnrollmentCaptureRow

    found = session.get(EnrollmentRow, enrollment_id)
    if found is not None:
        return session.get(ResidentRow, found.resident_id).nik
    from ktpel.domain.events import utcnow

    adult = adult_born_by(utcnow().year)
    resident = session.scalars(
        select(ResidentRow).where(ResidentRow.regency_code == settings.office_regency, ResidentRow.birth_date <= adult,
                                  ResidentRow.revoked.is_(False), ResidentRow.id.not_in(select(CardRow.resident_id)),
                                  ResidentRow.id.not_in(select(EnrollmentRow.resident_id)
                                                        .where(EnrollmentRow.id.like("enr-ikd-demo-%"))))
        # never recorded first; else one whose newest recording becomes this print-ready one
        .order_by(ResidentRow.id.in_(select(EnrollmentRow.resident_id)), ResidentRow.nik.desc()).limit(1)).first()
    if resident is None:
        return None
    face = (shared / "faces" / "att_orl" / f"s{subject}" / "1.pgm").read_bytes()
    session.add(EnrollmentRow(id=enrollment_id, resident_id=resident.id, office_code=settings.office_regency,
                              state=EnrollmentState.PRINT_READY.value, receipt_number=f"DEMO-IKD-{subject}", operator=DEMO_OFFICER))
    session.flush()
    session.add(EnrollmentCaptureRow(enrollment_id=enrollment_id, kind="face", content_type="image/x-portable-graymap",
                                     image=face, template=get_engine().extract_face(face).to_bytes()))
    session.flush()
    return resident.nik


def ikd_demo(*, settings, office_db, console) -> list:  # noqa: ANN001
    """Activate one IKD end to end and leave a second at the selfie step (idempotent)."""
    from ktpel.domain.ikd import IkdState
    from ktpel.office.ikd import service
    from ktpel.store.schema.ikd import IkdActivationRow
    from ktpel.store.schema.notify import NotifyMessageRow

    shared = settings.resolved_shared_data()
    with office_db.unit_of_work() as s:
        niks = [_prr_resident(s, settings=settings, enrollment_id=e, subject=n, shared=shared) for e, n in SUBJECTS]
        if None in niks:
            console.print("[yellow]![/yellow] IKD demo: tidak ada penduduk dewasa tanpa KTP-El / "
                          "no adult resident without a card left")
            return []
        done = s.scalar(select(IkdActivationRow).where(IkdActivationRow.officer == DEMO_OFFICER,
                                                       IkdActivationRow.state == IkdState.ACTIVE.value))
        pending = s.scalar(select(IkdActivationRow).where(IkdActivationRow.officer == DEMO_OFFICER,
                                                          IkdActivationRow.state == IkdState.PENDING_SELFIE.value))
    if done is None:
        with office_db.unit_of_work() as s:
            aid = service.start_activation(s, settings=settings, nik=niks[0], phone="0812-7000-1201",
                                           email="ikd.demo@example.org", consent=True, actor=DEMO_OFFICER).id
        selfie = service.submit_selfie(office_db, settings=settings, activation_id=aid, actor=DEMO_OFFICER,
                                       image=(shared / "faces" / "att_orl" / "s12" / "3.pgm").read_bytes())
        with office_db.unit_of_work() as s:
            row = service.scan_officer_qr(s, settings=settings, nonce=selfie.qr_nonce)
            code = json.loads(s.scalars(select(NotifyMessageRow).where(
                NotifyMessageRow.resident_id == row.resident_id, NotifyMessageRow.trigger == "ikd_code")
                .order_by(NotifyMessageRow.created_at.desc())).first().variables)["kode"]
        done = service.enter_code(office_db, settings=settings, nonce=selfie.qr_nonce, code=code)
        console.print(f"[green]✓[/green] IKD {done.id} aktif (swafoto cocok 1:1, skor {selfie.score:.1f} ≥ "
                      f"{selfie.threshold:.1f}); kredensial KTD1 terverifikasi di /verifikasi")
    if pending is None:
        with office_db.unit_of_work() as s:
            pending = service.start_activation(s, settings=settings, nik=niks[1], phone="0812-7000-1302",
                                               email="ikd.coba@example.org", consent=True, actor=DEMO_OFFICER)
    orl = shared / "faces" / "att_orl"
    console.print(f"  coba IKD / try: /ikd/{pending.id} — swafoto cocok {orl / 's13' / '2.pgm'} · "
                  f"orang lain (ditolak dengan skor) {orl / 's14' / '1.pgm'}")
    return []
