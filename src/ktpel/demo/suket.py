"""Demo step: a Suket issued to a recorded resident and verified, and an expired one that verifies as such."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

DEMO_OFFICER = "petugas.demo"


def suket_demo(*, settings, office_db, console) -> list:  # noqa: ANN001
    """Issue two Suket once (idempotent: the demo officer's Suket are counted)."""
    from ktpel.domain.enrollment import CardState, EnrollmentState
    from ktpel.domain import clock
    from ktpel.office.public.service import verify_card
    from ktpel.office.suket import service
    from ktpel.store.schema.core import CardRow, EnrollmentRow, ResidentRow
    from ktpel.store.schema.suket import SuketRow

    with office_db.unit_of_work() as s:
        have = list(s.scalars(select(SuketRow).where(SuketRow.issued_by == DEMO_OFFICER).order_by(SuketRow.serial)))
        if not have:
            printed = select(CardRow.resident_id).where(CardRow.state.in_((CardState.PRINTED.value, CardState.ISSUED.value)))
            niks = list(s.scalars(
                select(ResidentRow.nik).join(EnrollmentRow, EnrollmentRow.resident_id == ResidentRow.id)
                .where(EnrollmentRow.state.in_((EnrollmentState.PRINT_READY.value, EnrollmentState.SENT.value,
                                                  EnrollmentState.RECEIVED.value, EnrollmentState.FAILED.value)),
                       ResidentRow.regency_code == settings.office_regency, ResidentRow.revoked.is_(False),
                       ResidentRow.id.not_in(printed), ~EnrollmentRow.id.like("enr-ikd-demo-%"))
                # a demo print card first: printing it at /cetak ends its Suket
                .order_by(EnrollmentRow.id.like("enr-demo-%").desc(), ResidentRow.nik).limit(2)))
            if len(niks) < 2:
                console.print("[yellow]![/yellow] Suket demo: no recorded resident without a card")
                return []
            today = clock.today_wib()
            have = [service.issue_suket(s, settings=settings, nik=niks[0], reason="blanko_habis", actor=DEMO_OFFICER),
                    service.issue_suket(s, settings=settings, nik=niks[1], reason="jaringan_putus", actor=DEMO_OFFICER,
                                        today=today - dt.timedelta(days=200))]
        results = [verify_card(s, settings=settings, payload=row.token).result for row in have]
        out = settings.data_dir / "suket"
        out.mkdir(parents=True, exist_ok=True)
        for row in have:
            (out / f"{row.serial}.pdf").write_bytes(service.suket_pdf(s, settings=settings, serial=row.serial))
            (out / f"{row.serial}.txt").write_text(row.token + "\n")
    console.print(f"[green]✓[/green] Suket {have[0].serial} ({have[0].status_code}, NIK {have[0].nik}) → "
                  f"/verifikasi: {results[0]}; {have[1].serial} → {results[1]} · PDF dan isi QR di {out} · buka /suket")
    return []
