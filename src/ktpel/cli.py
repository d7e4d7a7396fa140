"""The `ktpel` command: one sub-command group per capability, thin over the services."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Optional

import typer

from ktpel.biometrics import cli as bio_cli
from ktpel.central import cli as central_cli
from ktpel.cli_console import console, progress_bar
from ktpel.config import Settings, get_settings
from ktpel.keys import cli as keys_cli
from ktpel.office import cli as office_cli
from ktpel.office.printing import simulate_cli as printing_cli
from ktpel.security import cli as security_cli

app = typer.Typer(help="ktpel — KTP-El office, central and demo.", no_args_is_help=True)

nik_app = typer.Typer(help="NIK tools.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(nik_app, name="nik")
app.add_typer(db_app, name="db")

# capability command groups, by import
app.add_typer(bio_cli.app, name="bio")
app.add_typer(security_cli.users_app, name="users")
app.add_typer(security_cli.audit_app, name="audit")
app.add_typer(security_cli.security_app, name="security")
app.add_typer(keys_cli.keys_app, name="keys")
app.add_typer(office_cli.app, name="office")
app.add_typer(central_cli.app, name="central")
printing_cli.register(app)  # top-level commands (`ktpel simulate`)


@nik_app.command("check")
def nik_check(nik: str, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Validate a NIK and say what it encodes; exit 2 when invalid."""
    from ktpel.domain.errors import ValidationFailed
    from ktpel.domain.nik import parse_nik
    from ktpel.reference import regions

    reg = regions()
    try:
        nik = parse_nik(nik, regions=reg)
    except ValidationFailed as exc:
        out = {"valid": False, "errors": [e.as_dict() for e in exc.errors]}
        if as_json:
            print(json.dumps(out, ensure_ascii=False))
        else:
            for e in exc.errors:
                console.print(f"[red]✗[/red] {e.message_id}\n  [dim]{e.message_en}[/dim]")
        raise typer.Exit(2)
    chain = {r.level: r for r in reg.parents(nik.district_code)}
    out = {
        "valid": True,
        "nik": nik.value,
        "province": chain[1].name,
        "regency": chain[2].name,
        "district": chain[3].name,
        "district_code": nik.district_code,
        "birth_date": nik.birth_date.isoformat(),
        "sex": nik.sex.value,
        "serial": nik.serial,
    }
    if as_json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        for k, v in out.items():
            print(f"{k:>14}: {v}")


@db_app.command("upgrade")
def db_upgrade(side: str = typer.Option("office", help="office or central")) -> None:
    """Create or migrate the database to the newest schema."""
    from ktpel.store.db import open_database

    db = open_database(get_settings(), name=side)
    console.print(f"[green]✓[/green] {side} database at head: {db.url}")


@app.command("seed")
def seed(
    regency: str = typer.Option("18.01", help="Regency code, e.g. 18.01 (Lampung Selatan)."),
    residents: int = typer.Option(1000, min=1, help="How many residents to create."),
    seed: int = typer.Option(1, help="Random seed: the same seed gives the same district."),
    side: str = typer.Option("office", help="Which database: office or central."),
) -> None:
    """Create a synthetic district: families with valid, unique NIKs over real villages."""
    from ktpel.reference import names, regions
    from ktpel.seeding.service import seed_district
    from ktpel.store.db import open_database

    reg = regions()
    if reg.get(regency) is None or reg[regency].level != 2:
        console.print(f"[red]✗[/red] {regency} bukan kode kabupaten/kota — not a regency code.")
        raise typer.Exit(2)
    db = open_database(get_settings(), name=side)
    done = 0
    with progress_bar() as bar:
        task = bar.add_task(f"Seeding {reg[regency].name}", total=residents)
        try:
            done = seed_district(
                db, regions=reg, names=names(), regency_code=regency, residents=residents, seed=seed,
                progress=lambda n: bar.advance(task, n),
            )
        except KeyboardInterrupt:
            console.print("[yellow]Interrupted: whole families written so far are kept.[/yellow]")
            raise typer.Exit(130)
    console.print(f"[green]✓[/green] {done} residents in {reg[regency].name}")


@app.command("demo")
def demo(
    residents: int = typer.Option(5000, min=100, help="Residents to seed on the first run."),
    port: int = typer.Option(8000, help="Office web UI port."),
    central_port: Optional[int] = typer.Option(None, help="Central's port (default: --port + 1)."),
    host: str = typer.Option("127.0.0.1"),
    fresh: bool = typer.Option(False, help="Delete the demo data and start over."),
    data_dir: Optional[Path] = typer.Option(None, help="Where the demo keeps its files."),
    no_serve: bool = typer.Option(False, "--no-serve", help="Prepare the demo and exit."),
) -> None:
    """Office and central on SQLite, seeded with Lampung Selatan, served on http://127.0.0.1:8000."""
    from ktpel.demo import DemoFailed, run_demo

    try:
        run_demo(residents=residents, port=port, host=host, fresh=fresh, data_dir=data_dir, central_port=central_port,
                 serve=not no_serve, console=console, progress_bar=progress_bar)
    except DemoFailed:
        raise typer.Exit(3)


def main() -> None:
    import os

    # population data, keys and logs: every file this process makes is private (0600, directories 0700)
    os.umask(0o077)
    app()


if __name__ == "__main__":
    main()
