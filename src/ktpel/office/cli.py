"""`ktpel office …`: the office CLI, composed by import; each capability registers its own commands, and
`serve` (the web app, the sync agent, the notifier or the kit agent) is here, at the office's entry point."""

from __future__ import annotations

from typing import Optional

import typer

from ktpel.config import get_settings
from ktpel.office import composition as office_composition
from ktpel.office.notify import cli as notify_cli
from ktpel.office.enrollment import cli as enrollment_cli
from ktpel.office.kit import cli as kit_cli
from ktpel.office.printing import cli as printing_cli
from ktpel.office.sync import cli as sync_cli

app = typer.Typer(help="Regency office: serve, sync, import.", no_args_is_help=True)

# each module adds its commands with `register(app: typer.Typer) -> None`
sync_cli.register(app, handlers=office_composition.SYNC)  # sync gets the office's wiring from here
for _module in (enrollment_cli, printing_cli, notify_cli, kit_cli):
    _module.register(app)


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
