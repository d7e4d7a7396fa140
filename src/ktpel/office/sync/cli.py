"""`ktpel office register | sync | verify-audit | serve`."""

from __future__ import annotations

import json
from typing import Optional

import typer

from ktpel.config import get_settings
from ktpel.office import composition as office_composition


def web_workers(settings, *, requested: int | None, sqlite: bool) -> int:  # noqa: ANN001
    """Web worker processes to start: as asked (0 = cores) on PostgreSQL; one on SQLite, said aloud."""
    import os

    from ktpel.cli_console import console

    n = settings.web_workers if requested is None else requested
    n = n if n > 0 else (os.cpu_count() or 1)
    if sqlite and n > 1:
        # SQLite lets one writer at a time: N processes would queue on its file lock (and time out under load)
        console.print(f"[yellow]![/yellow] SQLite: dilayani dengan 1 proses web, bukan {n}; untuk beberapa proses "
                      f"gunakan PostgreSQL (KTPEL_DATABASE_URL).\n  [dim]SQLite: serving with 1 web worker, not "
                      f"{n}; use PostgreSQL for several workers.[/dim]", highlight=False)
        return 1
    return n


def register(app: typer.Typer) -> None:
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
        agent = SyncAgent(handlers=office_composition.SYNC, settings=settings, db=db, central_url=central)
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
            docs = SyncAgent(handlers=office_composition.SYNC, settings=settings, db=db,
                             central_url=central).central_checkpoints()
        except Unreachable as exc:
            console.print(f"[red]✗[/red] pusat tidak dapat dihubungi — central unreachable: {exc}")
            raise typer.Exit(3)
        with db.unit_of_work() as s:
            report = verify_audit_with_central(s, settings=settings, central_checkpoints=docs)
        show_report(report, as_json=as_json)

    @app.command("serve")
    def serve(host: Optional[str] = typer.Option(None), port: Optional[int] = typer.Option(None),
              no_sync: bool = typer.Option(False, "--no-sync", help="Do not run the sync agent."),
              workers: Optional[int] = typer.Option(None, "--workers", min=0, max=64,
                                                    help="Web worker processes on PostgreSQL (0 = cores; default "
                                                         "KTPEL_WEB_WORKERS). SQLite serves with one. The sync "
                                                         "agent and notifier run once, in the supervising process."),
              mobile_kit: bool = typer.Option(False, "--mobile-kit",
                                              help="Run as a mobile recording kit: own SQLite, sync into the home "
                                                   "office (KTPEL_KIT_HOME_URL, KTPEL_KIT_TOKEN), never to central.")) -> None:
        """Serve the office web UI with the sync agent in a background thread."""
        import uvicorn

        from ktpel.store.db import open_database
        from ktpel.office.sync.agent import start_background
        from ktpel.web.app import create_app

        settings = get_settings()
        if mobile_kit:
            settings = settings.model_copy(update={"mobile_kit": True})
        db = open_database(settings, name="office")
        from ktpel.office.notify.sender import start_in_background as start_notifier
        from ktpel.security.tls import server_kwargs

        tls = server_kwargs(settings)
        workers = web_workers(settings, requested=workers, sqlite=db.is_sqlite)
        if settings.mobile_kit:
            from ktpel.office.kit.agent import start_kit_agent

            start_kit_agent(settings=settings, db=db)  # pushes to the home office whenever it is reachable
        elif not no_sync:
            start_background(handlers=office_composition.SYNC, settings=settings, db=db)
        start_notifier(db, settings)
        if workers > 1 and not settings.mobile_kit:  # a kit is one laptop process on its own SQLite
            # each worker builds its own app and database pool from the same KTPEL_* settings, and its own
            # biometric pool: the cores are shared among the workers, not multiplied by them
            import os

            if settings.biometric_workers <= 0:
                os.environ["KTPEL_BIOMETRIC_WORKERS"] = str(max(1, (os.cpu_count() or 1) // workers))
            # uvicorn kills a worker that does not answer its health ping in time (5 s by default); a worker
            # still importing on a loaded machine misses it, and is killed and restarted over and over
            uvicorn.run("ktpel.web.app:office_app", factory=True, workers=workers, host=host or settings.host,
                        port=port or settings.port, log_level="warning", timeout_worker_healthcheck=120, **tls)
            return
        uvicorn.run(create_app(settings=settings, side="office", db=db), host=host or settings.host,
                    port=port or settings.port, log_level="warning", **tls)
