"""`ktpel central …`: each capability registers its commands from its own module."""

from __future__ import annotations

import importlib
import importlib.util

import typer

app = typer.Typer(help="Central data center: serve, worker, allocate.", no_args_is_help=True)

# modules with a `register(app: typer.Typer) -> None` function
COMMAND_MODULES = [
    "ktpel.sync.central_cli",
    "ktpel.central.pipeline.cli",
    "ktpel.central.allocation.cli",
]
for _m in COMMAND_MODULES:
    if importlib.util.find_spec(_m) is not None:
        importlib.import_module(_m).register(app)
