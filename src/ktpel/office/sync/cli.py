"""`ktpel office register | sync | verify-audit` (`serve`, which starts everything, is in office/cli.py)."""

from __future__ import annotations

import json
from typing import Optional

import typer

from ktpel.config import get_settings
from ktpel.sync.wiring import OfficeHandlers


def register(app: typer.Typer, *, handlers: OfficeHandlers) -> None:
    """Add the commands; `handlers`: the office's reactions to central (office.composition.SYNC, handed by
    the `ktpel office` entry point, so sync never reaches for the wiring)."""

    @app.command("register")
    def register_office(
        central: Optional[str] = typer.Option(None, "--central", help="Central's URL (default: settings)."),
        token: Optional[str] = typer.Option(None, help="One-time enrolment token from central's admin (needed for a new office)."),
    ) -> None:
        """Exchange public keys with central (creates this office's keys first if needed)."""
        from ktpel.cli_console import console
        from ktpel.domain.errors import KtpelError
        from ktpel.keys.keyring import init_keys
        from ktpel.office.sync.service import register_with_central

        settings = get_settings()
        init_keys(settings, side="office")
        url = central or settings.central_url
        try:
            keys = register_with_central(settings, central_url=url, token=token)
        except KtpelError as exc:
            console.print(f"[red]✗[/red] {exc.message_id}\n  [dim]{exc.message_en}[/dim]")
            raise typer.Exit(2)
        except Exception as exc:  # noqa: BLE001 - network errors, said plainly
            console.print(f"[red]✗[/red] Pusat tidak dapat dihubungi — central unreachable: {exc}")
            raise typer.Exit(3)
        console.print(f"[green]✓[/green] {settings.office_regency} terdaftar di {url}; "
                      f"kunci pusat: {', '.join(k.kid for k in keys)}")

    @app.command("sync")
    def sync(once: bool = typer.Option(True, "--once/--loop", help="One round, or run until Ctrl-C."),
             central: Optional[str] = typer.Option(None, "--central", help="Override central's URL.")) -> None:
        """Send the outbox to central and apply its events; prints a JSON report."""
        import threading

        from ktpel.store.db import open_database
        from ktpel.office.sync.agent import SyncAgent

        settings = get_settings()
        db = open_database(settings, name="office")
        agent = SyncAgent(handlers=handlers, settings=settings, db=db, central_url=central)
        if once:
            from ktpel.cli_console import console
            from ktpel.domain.errors import KtpelError

            try:
                r = agent.run_once(force=True)
            except KtpelError as exc:
                console.print(f"[red]✗[/red] {exc.message_id}\n  [dim]{exc.message_en}[/dim]")
                raise typer.Exit(2)
            print(json.dumps({"sent": r.sent, "applied": r.applied, "reachable": r.reachable,
                              "stopped_because": r.stopped_because}))
            raise typer.Exit(0 if r.reachable else 1)
        stop = threading.Event()
        try:
            agent.run_forever(stop)
        except KeyboardInterrupt:
            stop.set()

    @app.command("verify-audit")
    def verify_audit(as_json: bool = typer.Option(False, "--json", help="Print JSON."),
                     central: Optional[str] = typer.Option(None, "--central", help="Override central's URL.")) -> None:
        """Check this office's audit chain against its own signed checkpoints and the copy central holds;
        exit 1 and name the entries where it was edited or cut, 3 when central cannot be reached."""
        from ktpel.cli_console import console
        from ktpel.office.sync.agent import SyncAgent, Unreachable
        from ktpel.office.sync.service import verify_audit_with_central
        from ktpel.security.audit import seal
        from ktpel.security.cli import show_report
        from ktpel.store.db import open_database

        settings = get_settings()
        db = open_database(settings, name="office")
        seal(db)  # entries left pending (a process killed between commit and seal) are chained first
        try:  # a read of central's copy only: no event is applied
            docs = SyncAgent(handlers=handlers, settings=settings, db=db,
                             central_url=central).central_checkpoints()
        except Unreachable as exc:
            console.print(f"[red]✗[/red] pusat tidak dapat dihubungi — central unreachable: {exc}")
            raise typer.Exit(3)
        with db.unit_of_work() as s:
            report = verify_audit_with_central(s, settings=settings, central_checkpoints=docs)
        show_report(report, as_json=as_json)
