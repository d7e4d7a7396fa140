"""`ktpel central …`: the central CLI, composed by import; each capability registers its own commands."""

from __future__ import annotations

import typer

from ktpel.central.abis import cli as abis_cli
from ktpel.central.allocation import cli as allocation_cli
from ktpel.central.pipeline import cli as pipeline_cli
from ktpel.central.sync import cli as sync_cli

app = typer.Typer(help="Central data center: serve, worker, allocate.", no_args_is_help=True)

# each module adds its commands with `register(app: typer.Typer) -> None`
for _module in (sync_cli, pipeline_cli, allocation_cli, abis_cli):
    _module.register(app)
