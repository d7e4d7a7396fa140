"""Demo step: record a handful of seeded residents with real images, so the demo has recordings to show."""

from __future__ import annotations

from sqlalchemy import func, select

from ktpel.security.access import Role, User

DEMO_OPERATOR = User(id=0, username="demo-perekaman", role=Role.OPERATOR, regency_code=None)
DEMO_RECORDINGS = 5
RETAKES = 2  # a finger the counter refuses for low quality is captured again up to twice, as operators do


def record_retaking(db, *, settings, regions, form, operator, shared, resident: int):  # noqa: ANN001, ANN201
    """`record_enrollment`, capturing a finger the counter refuses for its quality again (the next FVC
    impression of the same finger, `samples.finger_path`), as the operator does when asked to."""
    from ktpel.office.enrollment import samples, service

    tries: dict[str, int] = {}
    while True:
        try:
            return service.record_enrollment(db, settings=settings, regions=regions, form=form, operator=operator)
        except service.LowQuality as exc:
            n = tries.get(exc.kind, 0) + 1
            if not exc.kind.startswith("finger_") or n > RETAKES:
                raise
            tries[exc.kind] = n
            p = int(exc.kind.removeprefix("finger_"))
            form.fingers[p] = service.Upload(samples.finger_path(shared, resident, p, attempt=n).read_bytes())


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
            result = record_retaking(office_db, settings=settings, regions=reg, form=form, operator=DEMO_OPERATOR,
                                     shared=shared, resident=i)
        except KtpelError as exc:
            console.print(f"[yellow]![/yellow] demo recording of {nik} skipped: {exc.message_en}")
            continue
        console.print(f"[green]✓[/green] direkam (recorded) {nik}: {result.state}, tanda terima {result.receipt_number}")
    return []
