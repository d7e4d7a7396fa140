"""`ktpel office …`: each capability registers its commands from its own module."""

from __future__ import annotations

import typer

from ktpel.plugins import optional_module

app = typer.Typer(help="Regency office: serve, sync, import.", no_args_is_help=True)

# modules with a `register(app: typer.Typer) -> None` function
COMMAND_MODULES = [
    "ktpel.sync.office_cli",
    "ktpel.office.enrollment.cli",
    "ktpel.office.printing.cli",
    "ktpel.notify.cli",
    "ktpel.office.kit.cli",
]
for _m in COMMAND_MODULES:
    if (_mod := optional_module(_m)) is not None:
        _mod.register(app)
