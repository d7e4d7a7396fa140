"""`ktpel office …`: the office CLI, composed by import; each capability registers its own commands."""

from __future__ import annotations

import typer

from ktpel.office.notify import cli as notify_cli
from ktpel.office.enrollment import cli as enrollment_cli
from ktpel.office.kit import cli as kit_cli
from ktpel.office.printing import cli as printing_cli
from ktpel.office.sync import cli as sync_cli

app = typer.Typer(help="Regency office: serve, sync, import.", no_args_is_help=True)

# each module adds its commands with `register(app: typer.Typer) -> None`
for _module in (sync_cli, enrollment_cli, printing_cli, notify_cli, kit_cli):
    _module.register(app)
