"""`ktpel demo`: the newcomer's first command — a seeded district on SQLite, served on localhost."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

from rich.console import Console
from rich.table import Table

from ktpel.config import Settings, get_settings
from ktpel.plugins import optional_module

# Capabilities add steps here: callables (settings, office_db, console) -> list of rows to show.
DEMO_STEPS: list[str] = [
    "ktpel.sync.demo:prepare_central",
    "ktpel.security.demo:create_demo_users",
    "ktpel.reports.history:demo_history",
    "ktpel.reports.central_history:demo_central_history",
    "ktpel.notify.demo:notify_demo",
    "ktpel.office.enrollment.demo:record_demo_residents",
    "ktpel.central.pipeline.demo:start_demo_pipeline",
    "ktpel.office.printing.demo:prepare_printing",
    "ktpel.office.suket.demo:suket_demo",
    "ktpel.office.ikd.demo:ikd_demo",
    "ktpel.central.allocation.loan_demo:loan_demo",
    "ktpel.printing.preset_demo:simulate_presets",
    "ktpel.office.transparency.demo:board_demo",
    "ktpel.office.kit.demo:kit_demo",
]


def _load(path: str) -> Callable | None:
    module, _, attr = path.partition(":")
    mod = optional_module(module)
    return None if mod is None else getattr(mod, attr, None)


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
        fn = _load(step)
        if fn is None:
            continue
        for row in fn(settings=settings, office_db=office_db, console=console) or []:
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
    _, stop_sync = start_background(settings=settings, db=office_db)
    app = create_app(settings=settings, side="office", db=office_db)
    app.state.demo_central = central
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        stop_sync.set()
        central.stop()
