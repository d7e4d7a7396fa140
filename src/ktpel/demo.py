"""`ktpel demo`: the newcomer's first command — a seeded district on SQLite, served on localhost."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

from rich.console import Console
from rich.table import Table

from ktpel.central.allocation import loan_demo
from ktpel.central.pipeline import demo as pipeline_demo
from ktpel.config import Settings, get_settings
from ktpel.notify import demo as notify_demo
from ktpel.office import composition as office_composition
from ktpel.office.enrollment import demo as enrollment_demo
from ktpel.office.ikd import demo as ikd_demo
from ktpel.office.kit import demo as kit_demo
from ktpel.office.printing import demo as printing_demo
from ktpel.office.suket import demo as suket_demo
from ktpel.office.transparency import demo as board_demo
from ktpel.printing import preset_demo
from ktpel.reports import central_history, history
from ktpel.security import demo as security_demo
from ktpel.sync import demo as sync_demo

# the demo's steps, in order: fn(*, settings, office_db, console) -> rows (side, username, role, password)
DEMO_STEPS: list[Callable] = [
    sync_demo.prepare_central,
    security_demo.create_demo_users,
    history.demo_history,
    central_history.demo_central_history,
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


def run_demo(
    *, residents: int, port: int, host: str, fresh: bool, data_dir: Path | None, serve: bool,
    console: Console, progress_bar: Callable,
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
    settings = Settings(**{**base.model_dump(), "data_dir": data_dir, "port": port, "host": host,
                           "database_url": None, "demo_mode": True})
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

    from ktpel.sync.agent import start_background
    from ktpel.sync.demo import DemoCentral, exit_on_sigterm

    # central runs as a child process (its own data_dir/central.db) so /sinkron can stop and restart it
    exit_on_sigterm()
    central = DemoCentral(settings=settings, log_path=data_dir / "central.log")
    central.start()
    console.print(f"[bold green]Central[/bold green]: {settings.central_url}/pusat/sinkron  (log {data_dir / 'central.log'})")
    central.wait_ready(timeout=60)
    _, stop_sync = start_background(handlers=office_composition.SYNC, settings=settings, db=office_db)
    app = create_app(settings=settings, side="office", db=office_db)
    app.state.demo_central = central
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        stop_sync.set()
        central.stop()
