"""`ktpel central …`: each capability registers its commands from its own module."""

from __future__ import annotations

import typer

from ktpel.plugins import optional_module

app = typer.Typer(help="Central data center: serve, worker, allocate.", no_args_is_help=True)

# modules with a `register(app: typer.Typer) -> None` function
COMMAND_MODULES = [
    "ktpel.sync.central_cli",
    "ktpel.central.pipeline.cli",
    "ktpel.central.allocation.cli",
    "ktpel.central.abis.cli",
]
for _m in COMMAND_MODULES:
    if (_mod := optional_module(_m)) is not None:
        _mod.register(app)
