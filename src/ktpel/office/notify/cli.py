"""`ktpel office notify`: send due notifications once (cron) or in a loop."""

from __future__ import annotations

import json

import typer


def register(app: typer.Typer) -> None:
    @app.command("notify")
    def notify(once: bool = typer.Option(True, "--once/--loop", help="One pass, or run until Ctrl-C."),
               concurrency: int = typer.Option(1, min=1, max=64, help="Messages sent in parallel."),
               interval: float = typer.Option(5.0, help="Seconds between passes when idle (--loop)."),
               channel: str = typer.Option("", help="Override Settings.notify_channel for this run.")) -> None:
        """Send the notification outbox through the office's channel; prints a JSON report."""
        import threading

        from ktpel.config import get_settings
        from ktpel.office.notify.channels import channel_for
        from ktpel.office.notify.errors import UnknownChannel
        from ktpel.office.notify.sender import run_until_stopped, send_once
        from ktpel.store.db import open_database

        settings = get_settings()
        if channel:
            settings = settings.model_copy(update={"notify_channel": channel})
        try:
            sender_channel = channel_for(settings)  # a misconfigured channel fails now, not at the first message
        except UnknownChannel as exc:
            typer.echo(f"{exc.message_id}\n{exc.message_en}", err=True)
            raise typer.Exit(2) from None
        db = open_database(settings, name="office")
        if once:
            try:
                report = send_once(db, settings, channel=sender_channel, concurrency=concurrency)
            finally:
                sender_channel.close()
            print(json.dumps(report.as_dict()))
            raise typer.Exit(0 if report.failed == 0 else 1)
        sender_channel.close()
        stop = threading.Event()
        try:
            run_until_stopped(db, settings, stop=stop, interval_s=interval)
        except KeyboardInterrupt:
            stop.set()
