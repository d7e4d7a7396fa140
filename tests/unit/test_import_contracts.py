"""The architecture contracts in .importlinter hold: domain is pure, store never imports security, only entry
points import a side's composition, no capability imports another's views, no cycles between siblings."""

from __future__ import annotations

import re
from pathlib import Path

from importlinter.cli import EXIT_STATUS_SUCCESS, lint_imports

CONFIG = Path(__file__).resolve().parents[2] / ".importlinter"


def test_every_import_contract_is_kept(capsys):
    status = lint_imports(config_filename=str(CONFIG), no_cache=True)
    out = capsys.readouterr().out
    assert re.search(r"Contracts: [1-9]\d* kept, 0 broken\.", out), out[-3000:]
    assert status == EXIT_STATUS_SUCCESS
