"""`ktpel central allocate`: propose (and optionally publish) a split of the national blank stock."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("allocate")
    def allocate_cmd(
        stock: int = typer.Option(..., "--stock", min=0, help="Blanks in the national stock to allocate."),
        needs: Optional[Path] = typer.Option(None, "--needs", help="CSV regency_code,backlog,urgent,on_hand "
                                             "(default: from the central database)."),
        urgent_share: float = typer.Option(0.10, min=0, max=1, help="Urgent share of a backlog not reported."),
        chart: Path = typer.Option(Path("allocation.png"), help="Where to write the chart (PNG)."),
        publish: bool = typer.Option(False, "--publish", help="Save the plan and send each office its batch."),
        as_json: bool = typer.Option(False, "--json", help="Print the plan as JSON on stdout."),
    ) -> None:
        """Propose how to split a national stock of blanks over regencies by backlog, urgency and stock."""
        from rich.console import Console
        from rich.table import Table

        from ktpel.central.allocation import service
        from ktpel.config import get_settings
        from ktpel.reference import regions

        console = Console(stderr=True)
        settings = get_settings()
        reg = regions()
        names = {r.code: r.name for p in reg.children(None) for r in reg.children(p.code)}
        db = None
        if needs is not None:
            try:
                rows = service.needs_from_csv(needs, names=names)
            except (service.NeedsFileInvalid, FileNotFoundError) as exc:
                console.print(f"[red]✗[/red] {getattr(exc, 'message_id', exc)}")
                raise typer.Exit(2)
        else:
            from ktpel.store.db import open_database

            db = open_database(settings, name="central")
            with db.unit_of_work() as s:
                rows = service.needs_from_database(s, names=names)
        if not rows:
            console.print("[yellow]Tidak ada kebutuhan blanko (backlog kosong). No backlog to allocate.[/yellow]")
            raise typer.Exit(1)
        plan = service.propose(stock=stock, needs=rows, urgent_share=urgent_share)
        plan_id = None
        if publish:
            if db is None:
                from ktpel.store.db import open_database

                db = open_database(settings, name="central")
            with db.unit_of_work() as s:
                plan_id = service.save_plan(s, plan=plan, actor="cli", publish=True)
        service.chart_png(plan, chart)
        if as_json:
            print(json.dumps({"plan_id": plan_id, "stock": plan.stock, "allocated": plan.allocated,
                              "kept_at_central": plan.kept_at_central, "regencies": [
                                  {"code": a.need.code, "name": a.need.name, "backlog": a.need.backlog,
                                   "urgent": a.need.urgent, "on_hand": a.need.on_hand, "blanks": a.blanks,
                                   "urgent_part": a.urgent_part, "cover": round(a.cover, 3)}
                                  for a in plan.allocations]}, ensure_ascii=False))
        table = Table(title=f"Usulan alokasi blanko — {plan.allocated:,} dari {plan.stock:,} "
                            f"(sisa di pusat {plan.kept_at_central:,})")
        for col in ("kode", "kabupaten/kota", "PRR", "mendesak", "stok", "alokasi", "(mendesak)", "cakupan"):
            table.add_column(col, justify="right" if col not in ("kabupaten/kota",) else "left")
        for a in plan.allocations:
            table.add_row(a.need.code, a.need.name, f"{a.need.backlog:,}", f"{a.need.urgent:,}",
                          f"{a.need.on_hand:,}", f"{a.blanks:,}", f"{a.urgent_part:,}", f"{a.cover:.0%}")
        console.print(table)
        console.print(f"Grafik / chart: {chart}" + (f"  ·  plan {plan_id} dikirim ke kantor / published"
                                                      if plan_id else "  ·  belum dikirim (pakai --publish)"))
