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
        from ktpel.sync.keys import init_keys
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
        from ktpel.sync.service import announce_maintenance

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
