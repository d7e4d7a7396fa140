"""`ktpel office blanks-receive | print-queue | reconcile`: the blank ledger and queue from a terminal."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Optional

import typer

from ktpel.domain import clock


def _db():  # noqa: ANN202
    from ktpel.config import get_settings
    from ktpel.store.db import open_database

    settings = get_settings()
    return settings, open_database(settings, name="office")


def register(app: typer.Typer) -> None:
    @app.command("blanks-receive")
    def blanks_receive(
        first: str = typer.Option(..., "--first", help="First serial of the batch, e.g. LS26-000001."),
        last: str = typer.Option(..., "--last", help="Last serial of the batch."),
        actor: str = typer.Option("cli", help="Who received the batch (for the audit log)."),
    ) -> None:
        """Book a batch of blanks received by hand into the ledger."""
        from rich.console import Console

        from ktpel.domain.errors import KtpelError
        from ktpel.office.printing import service

        console = Console(stderr=True)
        _, db = _db()
        try:
            with db.unit_of_work() as s:
                batch = service.receive_blanks(s, first_serial=first, last_serial=last, actor=actor)
        except KtpelError as exc:
            console.print(f"[red]✗[/red] {exc.message_id}\n  [dim]{exc.message_en}[/dim]")
            raise typer.Exit(2)
        console.print(f"[green]✓[/green] batch {batch.id}: {batch.count} blanko {batch.first_serial}–{batch.last_serial}")

    @app.command("print-queue")
    def print_queue(limit: int = typer.Option(30, min=1), as_json: bool = typer.Option(False, "--json")) -> None:
        """The print queue in priority order, with stock on hand."""
        from rich.console import Console
        from rich.table import Table

        from ktpel.office.printing import service

        console = Console(stderr=True)
        settings, db = _db()
        policy = service.current_policy()
        with db.unit_of_work() as s:
            view = service.print_queue(s, regency_code=settings.office_regency, policy=policy, limit=limit)
        rows = [{"position": e.ranked.position, "card_id": e.ranked.candidate.card_id, "nik": e.nik,
                 "name": e.name, "classes": list(e.classes), "score": e.ranked.score,
                 "printable": e.ranked.printable, "why_not": e.ranked.why_not_en or None} for e in view.entries]
        if as_json:
            print(json.dumps({"available": view.stock.available, "items": rows}, ensure_ascii=False))
            return
        table = Table(title=f"Antrean cetak · stok {view.stock.available} · {policy.name}")
        for col in ("#", "NIK", "nama", "kelas", "skor", "cetak?"):
            table.add_column(col)
        for r in rows:
            table.add_row(str(r["position"]), r["nik"], r["name"], ", ".join(r["classes"]), str(r["score"]),
                          "ya" if r["printable"] else (r["why_not"] or "tidak"))
        console.print(table)

    @app.command("reconcile")
    def reconcile(
        day: Optional[str] = typer.Option(None, "--date", help="Day to reconcile (YYYY-MM-DD); default today."),
        pdf: Optional[Path] = typer.Option(None, help="Write the reconciliation PDF here."),
        csv_out: Optional[Path] = typer.Option(None, "--csv", help="Write the reconciliation CSV here."),
    ) -> None:
        """Daily blank reconciliation: received = used + spoiled + returned + available; exit 1 if not."""
        from rich.console import Console

        from ktpel.office.printing import reports

        console = Console(stderr=True)
        settings, db = _db()
        when = dt.date.fromisoformat(day) if day else clock.today_wib()
        with db.unit_of_work() as s:
            balance, moves = reports.reconciliation(s, day=when)
        if pdf:
            pdf.write_bytes(reports.reconciliation_pdf(balance, moves, office=settings.office_name))
        if csv_out:
            csv_out.write_text(reports.reconciliation_csv(balance, moves, office=settings.office_name))
        t = balance.totals
        console.print(f"{when}: awal {balance.opening} + terima {balance.received} − pakai {balance.used} − rusak "
                      f"{balance.spoiled} − kembali {balance.returned} = akhir {balance.closing}")
        console.print(f"kumulatif: {t.received} = {t.used} + {t.spoiled} + {t.returned} + {t.available} → "
                      + ("[green]seimbang / balanced[/green]" if balance.balanced else "[red]TIDAK seimbang[/red]"))
        if not balance.balanced:
            raise typer.Exit(1)
