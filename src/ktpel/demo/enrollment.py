"""Demo step: record a handful of seeded residents with real images, so the demo has recordings to show."""

from __future__ import annotations

from sqlalchemy import func, select

from ktpel.security.access import Role, User

DEMO_OPERATOR = User(id=0, username="demo-perekaman", role=Role.OPERATOR, regency_code=None)
DEMO_RECORDINGS = 5


def record_demo_residents(*, settings, office_db, console) -> list:  # noqa: ANN001
    """Record DEMO_RECORDINGS residents once (idempotent: counts the demo operator's enrollments)."""
    from ktpel.domain.errors import KtpelError
    from ktpel.office.enrollment import samples, service
    from ktpel.reference import regions
    from ktpel.store.schema.core import EnrollmentRow, ResidentRow

    shared = settings.resolved_shared_data()
    with office_db.unit_of_work() as s:
        done = s.scalar(select(func.count()).select_from(EnrollmentRow)
                        .where(EnrollmentRow.operator == DEMO_OPERATOR.username)) or 0
        if done >= DEMO_RECORDINGS:
            return []
        recorded = select(EnrollmentRow.resident_id)
        niks = list(s.scalars(
            select(ResidentRow.nik).where(ResidentRow.regency_code == settings.office_regency,
                                          ResidentRow.id.not_in(recorded))
            .order_by(ResidentRow.nik).limit(DEMO_RECORDINGS - done)))
    reg = regions(shared)
    for i, nik in enumerate(niks, start=done):
        files = samples.capture_files(shared, i)
        form = service.CaptureForm(
            nik=nik, form_token=f"demo-{nik}", face=service.Upload(files["face"]),
            signature=service.Upload(files["signature"]),
            fingers={p: service.Upload(files[f"finger_{p}"]) for p in range(1, 11)},
        )
        try:
            result = service.record_enrollment(office_db, settings=settings, regions=reg, form=form,
                                               operator=DEMO_OPERATOR)
        except KtpelError as exc:
            console.print(f"[yellow]![/yellow] demo recording of {nik} skipped: {exc.message_en}")
            continue
        console.print(f"[green]✓[/green] direkam (recorded) {nik}: {result.state}, tanda terima {result.receipt_number}")
    return []
