"""A lifecycle's state is written only through its machine: no state name as a bare string outside domain/.

The state names are every value of every `...State` enum of `ktpel.domain`, so a new state is checked the
day it is added. A quoted literal equal to one of them anywhere in src/ktpel (outside domain/ and the
migrations, which are history) fails this test: use the enum member (`EnrollmentState.PRINT_READY.value`).
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from enum import Enum
from pathlib import Path

import ktpel.domain

SRC = Path(ktpel.domain.__file__).resolve().parents[1]
EXEMPT = (SRC / "domain", SRC / "store" / "migrations")


def state_names() -> set[str]:
    names: set[str] = set()
    for info in pkgutil.iter_modules(ktpel.domain.__path__):
        module = importlib.import_module(f"ktpel.domain.{info.name}")
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, Enum) and obj.__name__.endswith("State") \
                    and obj.__module__ == module.__name__:
                names |= {str(member.value) for member in obj}
    return names


def literals(path: Path, names: set[str]) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [f"{path.name}:{node.lineno}: {node.value!r}" for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names]


def test_the_state_names_come_from_the_domain_machines():
    names = state_names()
    assert {"CAPTURED", "PRINT_READY", "REVOKED", "AUTHORISED", "ISSUED", "USED", "QUEUED", "PENDING"} <= names


def test_no_state_string_literal_outside_the_domain():
    names = state_names()
    found = [hit for path in sorted(SRC.rglob("*.py"))
             if not any(path.is_relative_to(e) for e in EXEMPT) for hit in literals(path, names)]
    assert found == [], "state names as string literals (use the domain enum):\n" + "\n".join(found)


def test_the_check_catches_a_literal(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('row.state = "REVOKED"\nlabel = f"{x} REVOKED"\n')
    assert [hit.split(": ", 1)[1] for hit in literals(sample, state_names())] == ["'REVOKED'"]
