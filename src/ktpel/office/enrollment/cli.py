"""`ktpel office import DIR`: record a folder of residents in bulk (layout in ktpel.office.enrollment.bulk)."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("import")(import_residents)


def import_residents(
    folder: Path = typer.Argument(..., exists=True, file_okay=False, help="One sub-folder per NIK."),
    operator: str = typer.Option(..., "--operator", "-o", help="Username of the recording operator."),
    workers: int = typer.Option(1, min=1, max=16, help="Residents processed in parallel."),
) -> None:
    """Record every resident folder (face, finger_1…10, signature, resident.json); JSON summary on stdout."""
    from ktpel.cli_console import console, progress_bar
    from ktpel.config import get_settings
    from ktpel.domain.errors import KtpelError
    from ktpel.office.enrollment.bulk import import_folder
    from ktpel.reference import regions
    from ktpel.security.access import OFFICE_ROLES
    from ktpel.security.service import as_user, get_user
    from ktpel.store.db import open_database

    settings = get_settings()
    db = open_database(settings, name="office")
    try:
        with db.unit_of_work() as s:
            user = as_user(get_user(s, username=operator))
    except KtpelError as exc:
        console.print(f"[red]✗[/red] {exc.message_id}\n  [dim]{exc.message_en}[/dim]")
        raise typer.Exit(2)
    if user.role not in OFFICE_ROLES or user.regency_code != settings.office_regency:
        console.print(f"[red]✗[/red] {operator} bukan petugas kantor ini — not an officer of this office.")
        raise typer.Exit(2)
    total = sum(1 for p in folder.iterdir() if p.is_dir() and p.name != "taken")
    with progress_bar() as bar:
        task = bar.add_task("Perekaman massal (bulk recording)", total=total)
        report = import_folder(db, settings=settings, regions=regions(settings.resolved_shared_data()),
                               folder=folder, operator=user, workers=workers,
                               progress=lambda n: bar.advance(task, n))
    for f in report.failed:
        console.print(f"[yellow]![/yellow] {f['nik']}: {f['message_id']}")
    print(json.dumps(report.as_dict(), ensure_ascii=False))
    if report.failed and not report.recorded and not report.repeated:
        raise typer.Exit(1)
