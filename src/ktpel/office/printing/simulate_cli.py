"""`ktpel simulate`: compare print priority policies on a simulated year of one office."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("simulate")
    def simulate_cmd(
        regency: str = typer.Option("18.01", help="Regency code, e.g. 18.01 (Lampung Selatan)."),
        days: int = typer.Option(365, min=7, max=3650, help="Days to simulate."),
        blanks_per_week: int = typer.Option(400, min=0, help="Blanks delivered each week."),
        policy: Optional[List[Path]] = typer.Option(
            None, "--policy", help="Policy YAML, or a shipped preset by name (default, se-dirjen-2020); repeat to compare."),
        prr_per_day: float = typer.Option(80.0, min=0, help="Residents becoming print-ready per day."),
        printer_per_day: int = typer.Option(250, min=1, help="Cards the office can print per working day."),
        initial_stock: int = typer.Option(500, min=0, help="Blanks on hand at the start."),
        outages_per_year: float = typer.Option(6.0, min=0, help="Central outages per year (mean)."),
        seed: int = typer.Option(1, help="Random seed: the same seed replays the same year."),
        chart: Path = typer.Option(Path("simulation.png"), help="Where to write the chart (PNG)."),
        as_json: bool = typer.Option(False, "--json", help="Print the results as JSON on stdout."),
    ) -> None:
        """Replay arrivals, PRR delays, outages and blank deliveries; print wait percentiles by class."""
        from rich.console import Console
        from rich.table import Table

        from ktpel.domain.errors import KtpelError
        from ktpel.domain.priority import parse_policy
        from ktpel.office.printing.simulator import Scenario, chart as draw, simulate, summary_rows
        from ktpel.office.printing.policy import DEFAULT_POLICY

        console = Console(stderr=True)
        try:
            from ktpel.reference import regions

            place = regions().get(regency)
            if place is None or place.level != 2:
                console.print(f"[red]✗[/red] {regency} bukan kode kabupaten/kota — not a regency code.")
                raise typer.Exit(2)
            name = place.name
        except FileNotFoundError:
            name = regency
        policies = []
        for path in policy or [DEFAULT_POLICY]:
            preset = DEFAULT_POLICY.parent / f"{path}.yaml"
            if not path.exists() and path.suffix == "" and preset.is_file():
                path = preset  # a shipped preset named without its folder
            try:
                policies.append(parse_policy(path.read_text(encoding="utf-8"), source=path.name))
            except FileNotFoundError:
                console.print(f"[red]✗[/red] {path}: berkas tidak ada — file not found.")
                raise typer.Exit(2)
            except KtpelError as exc:
                console.print(f"[red]✗[/red] {exc.message_id}\n  [dim]{exc.message_en}[/dim]")
                raise typer.Exit(2)
        scenario = Scenario(days=days, blanks_per_week=blanks_per_week, prr_per_day=prr_per_day,
                            printer_per_day=printer_per_day, initial_stock=initial_stock,
                            outages_per_year=outages_per_year, seed=seed)
        results = []
        for p in policies:
            with console.status(f"Simulasi {p.name} …"):
                results.append(simulate(policy=p, scenario=scenario))
        out = []
        for res in results:
            table = Table(title=f"{name} · {days} hari · {blanks_per_week} blanko/minggu · {res.policy.name}")
            for col in ("kelas / class", "tercetak", "p50 (hari)", "p90", "p99"):
                table.add_column(col, justify="left" if col.startswith("kelas") else "right")
            rows = summary_rows(res)
            for code, label, n, p50, p90, p99 in rows:
                table.add_row(label, f"{n:,}", f"{p50:.1f}", f"{p90:.1f}", f"{p99:.1f}")
            console.print(table)
            console.print(f"  masih menunggu di akhir / still waiting: {res.waiting_at_end():,} · "
                          f"hari stok habis / stock-out days: {res.stockout_days} · "
                          f"gangguan pusat / outage days: {res.outage_days}")
            out.append({"policy": res.policy.name, "waiting_at_end": res.waiting_at_end(),
                        "stockout_days": res.stockout_days, "outage_days": res.outage_days,
                        "classes": [{"class": c, "printed": n, "p50": round(a, 2), "p90": round(b, 2),
                                     "p99": round(d, 2)} for c, _, n, a, b, d in rows]})
        draw(results, chart, title=f"{name}: tunggu PRR → cetak / wait PRR → print ({blanks_per_week}/minggu)")
        console.print(f"Grafik / chart: {chart}")
        if as_json:
            print(json.dumps({"regency": regency, "days": days, "blanks_per_week": blanks_per_week,
                              "results": out}, ensure_ascii=False))
