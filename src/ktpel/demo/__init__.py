"""`ktpel demo`: the newcomer's first command — a seeded district on SQLite, served on localhost."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

from rich.console import Console
from rich.table import Table

from ktpel.config import Settings, get_settings
from ktpel.demo import central_history
from ktpel.demo import central_ikd as central_ikd_demo
from ktpel.demo import central_process as sync_demo
from ktpel.demo import enrollment as enrollment_demo
from ktpel.demo import ikd as ikd_demo
from ktpel.demo import kit as kit_demo
from ktpel.demo import loans as loan_demo
from ktpel.demo import notify as notify_demo
from ktpel.demo import office_history as history
from ktpel.demo import pipeline as pipeline_demo
from ktpel.demo import print_presets as preset_demo
from ktpel.demo import printing as printing_demo
from ktpel.demo import suket as suket_demo
from ktpel.demo import transparency as board_demo
from ktpel.demo import users as security_demo
from ktpel.office import composition as office_composition

# the demo's steps, in order: fn(*, settings, office_db, console) -> rows (side, username, role, password)
DEMO_STEPS: list[Callable] = [
    sync_demo.prepare_central,
    security_demo.create_demo_users,
    history.demo_history,
    central_history.demo_central_history,
    central_ikd_demo.backfill_demo,
    notify_demo.notify_demo,
    enrollment_demo.record_demo_residents,
    pipeline_demo.start_demo_pipeline,
    printing_demo.prepare_printing,
    suket_demo.suket_demo,
    ikd_demo.ikd_demo,
    loan_demo.loan_demo,
    preset_demo.simulate_presets,
    board_demo.board_demo,
    kit_demo.kit_demo,
]


class DemoFailed(RuntimeError):
    """The demo could not start (its central did not come up as itself)."""


def demo_settings(*, base: Settings, data_dir: Path, port: int, host: str, central_port: int | None) -> Settings:
    """The demo's settings: office on `port`, its own central on `central_port` (default port + 1),
    so a second demo with another --port moves both servers."""
    central_port = central_port or port + 1
    if central_port == port:
        raise DemoFailed(f"--central-port must differ from --port ({port})")
    return Settings(**{**base.model_dump(), "data_dir": data_dir, "port": port, "host": host,
                       "central_url": f"http://{host}:{central_port}", "database_url": None, "demo_mode": True})


def run_demo(
    *, residents: int, port: int, host: str, fresh: bool, data_dir: Path | None, serve: bool,
    console: Console, progress_bar: Callable, central_port: int | None = None,
) -> None:
    from ktpel.reference import names, regions
    from ktpel.seeding.service import seed_district
    from ktpel.store.db import open_database
    from sqlalchemy import func, select
    from ktpel.store.schema.core import ResidentRow

    base = get_settings()
    data_dir = data_dir or (base.data_dir / "demo")
    if fresh and data_dir.exists():
        shutil.rmtree(data_dir)
    settings = demo_settings(base=base, data_dir=data_dir, port=port, host=host, central_port=central_port)
    reg = regions(settings.resolved_shared_data())
    office_db = open_database(settings, name="office")
    with office_db.unit_of_work() as s:
        have = s.scalar(select(func.count()).select_from(ResidentRow)) or 0
    if have == 0:
        with progress_bar() as bar:
            task = bar.add_task(f"Seeding {reg[settings.office_regency].name}", total=residents)
            seed_district(office_db, regions=reg, names=names(settings.resolved_shared_data()),
                          regency_code=settings.office_regency, residents=residents, seed=1,
                          progress=lambda n: bar.advance(task, n))
    table = Table(title="Demo users (pengguna demo) — passwords shown once")
    for col in ("side", "username", "role", "password"):
        table.add_column(col)
    for step in DEMO_STEPS:
        for row in step(settings=settings, office_db=office_db, console=console) or []:
            table.add_row(*[str(x) for x in row])
    if table.row_count:
        console.print(table)
    console.print(f"[bold green]Office[/bold green]: http://{host}:{port}  (data in {data_dir})")
    if not serve:
        return
    import uvicorn

    from ktpel.web.app import create_app

    from ktpel.office.sync.agent import start_background
    from ktpel.supervisor import supervisor
    from ktpel.demo.central_process import DemoCentral, exit_on_sigterm

    # central runs as a child process (its own data_dir/central.db) so /sinkron can stop and restart it
    exit_on_sigterm()
    central = DemoCentral(settings=settings, log_path=data_dir / "central.log")
    central.start()
    console.print(f"[bold green]Central[/bold green]: {settings.central_url}/pusat/sinkron  (log {data_dir / 'central.log'})")
    if not central.wait_ready(timeout=90):
        supervisor().stop_all()
        console.print(f"[red]✗[/red] Pusat demo tidak siap di {settings.central_url} (port dipakai proses lain? "
                      f"pakai --central-port) — the demo's central did not come up as itself; see "
                      f"{data_dir / 'central.log'}")
        raise DemoFailed(f"demo central not ready at {settings.central_url}")
    _, stop_sync = start_background(handlers=office_composition.SYNC, settings=settings, db=office_db)
    app = create_app(settings=settings, side="office", db=office_db)
    app.state.demo_central = central
    try:
        from ktpel.security.tls import server_kwargs

        uvicorn.run(app, host=host, port=port, log_level="warning", **server_kwargs(settings))
    finally:
        stop_sync.set()
        supervisor().stop_all()  # central and the pipeline worker
