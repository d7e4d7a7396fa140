"""`ktpel central serve | announce`."""

from __future__ import annotations

import datetime as dt
from typing import Optional

import typer

from ktpel.config import get_settings


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(host: Optional[str] = typer.Option(None), port: int = typer.Option(8001)) -> None:
        """Serve central: packet intake, events for offices, and the central web UI."""
        import uvicorn

        from ktpel.store.db import open_database
        from ktpel.keys.keyring import init_keys
        from ktpel.web.app import create_app

        settings = get_settings()
        init_keys(settings, side="central")
        db = open_database(settings, name="central")
        from ktpel.security.tls import server_kwargs

        uvicorn.run(create_app(settings=settings, side="central", db=db), host=host or settings.host, port=port,
                    log_level="warning", **server_kwargs(settings))

    @app.command("announce")
    def announce(
        start: str = typer.Option(..., "--start", help="Start, ISO 8601 (WIB when no offset), e.g. 2026-12-01T22:00"),
        end: Optional[str] = typer.Option(None, "--end", help="Announced end (optional)."),
        message: str = typer.Option(..., "--message", help="Message in Bahasa Indonesia."),
        message_en: str = typer.Option("", "--message-en"),
    ) -> None:
        """Announce a maintenance window to every registered office."""
        from ktpel.cli_console import console
        from ktpel.domain.errors import KtpelError
        from ktpel.store.db import open_database
        from ktpel.central.sync.service import announce_maintenance

        wib = dt.timezone(dt.timedelta(hours=7))

        def parse(raw: str) -> dt.datetime:
            value = dt.datetime.fromisoformat(raw)
            return value if value.tzinfo else value.replace(tzinfo=wib)

        db = open_database(get_settings(), name="central")
        try:
            with db.unit_of_work() as s:
                row = announce_maintenance(s, starts_at=parse(start), ends_at=parse(end) if end else None,
                                           message_id=message, message_en=message_en, created_by="cli")
                ann_id = row.id
        except (KtpelError, ValueError) as exc:
            console.print(f"[red]✗[/red] {getattr(exc, 'message_id', exc)}")
            raise typer.Exit(2)
        console.print(f"[green]✓[/green] pengumuman #{ann_id} dikirim ke semua kantor")

    @app.command("enrolment-token")
    def enrolment_token(
        regency: str = typer.Option(..., "--regency", help="Regency code of the office, e.g. 18.02."),
        hours: float = typer.Option(72.0, "--hours", help="Valid for this many hours (one use)."),
        issued_by: str = typer.Option("cli", "--by", help="Who issues it (center_admin username), for the audit."),
    ) -> None:
        """Issue a one-time enrolment token for one office of a regency (printed once; only its hash is kept)."""
        from ktpel.cli_console import console
        from ktpel.domain.errors import KtpelError
        from ktpel.store.db import open_database
        from ktpel.central.sync.service import issue_enrolment_token

        db = open_database(get_settings(), name="central")
        try:
            with db.unit_of_work() as s:
                token = issue_enrolment_token(s, regency_code=regency, issued_by=issued_by, valid_hours=hours)
                _audit_cli(s, actor=issued_by, action="sync.enrolment_token", subject=regency)
        except KtpelError as exc:
            console.print(f"[red]✗[/red] {exc.message_id}\n  [dim]{exc.message_en}[/dim]")
            raise typer.Exit(2)
        console.print(f"[green]✓[/green] token pendaftaran untuk {regency} (sekali pakai, {hours:g} jam) — "
                      "enrolment token, shown once:")
        print(token)
        console.print(f"Di kantor / at the office: KTPEL_OFFICE_REGENCY={regency} ktpel office register "
                      "--central URL --token TOKEN")


def _audit_cli(session, *, actor: str, action: str, subject: str) -> None:  # noqa: ANN001
    from ktpel.security.audit import record_audit

    record_audit(session, actor=actor, action=action, subject=subject)
