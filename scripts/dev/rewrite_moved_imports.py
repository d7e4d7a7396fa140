"""Rewrite imports of modules that issue 19 moved (docs/CONTRACTS.md, "Where modules went").

Usage: python scripts/dev/rewrite_moved_imports.py FILE...   (rewrites in place, prints what changed)
       python scripts/dev/rewrite_moved_imports.py $(git ls-files src tests bench docs scripts) .importlinter README.md
       python scripts/dev/rewrite_moved_imports.py --table    (prints the mapping as a Markdown table)

After merging a branch written against the old layout, run it on that branch's new or changed files.
It rewrites `from OLD import x`, `from PKG import oldmod [as y]`, dotted names in strings (mock targets,
.importlinter) and `ktpel/old/path.py` paths. Names that moved out of a module that was split in two
(`SYMBOLS`) follow their own target. Anything else (an attribute reached through a module object that
was split) is left for a person: `grep -n` the old names after running it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

# old module or package -> new one (a package entry also maps its submodules), one group per move
MOVES: dict[str, dict[str, str]] = {"demo": {
    # the demo, one package (demo.py itself became demo/__init__.py: same name)
    "ktpel.office.enrollment.demo": "ktpel.demo.enrollment",
    "ktpel.office.printing.demo": "ktpel.demo.printing",
    "ktpel.central.pipeline.demo": "ktpel.demo.pipeline",
    "ktpel.security.demo": "ktpel.demo.users",
    "ktpel.sync.demo": "ktpel.demo.central_process",
    "ktpel.notify.demo": "ktpel.demo.notify",
    "ktpel.reports.history": "ktpel.demo.office_history",
    "ktpel.reports.central_history": "ktpel.demo.central_history",
    "ktpel.office.ikd.demo": "ktpel.demo.ikd",
    "ktpel.office.kit.demo": "ktpel.demo.kit",
    "ktpel.office.suket.demo": "ktpel.demo.suket",
    "ktpel.office.transparency.demo": "ktpel.demo.transparency",
    "ktpel.central.allocation.loan_demo": "ktpel.demo.loans",
    "ktpel.printing.preset_demo": "ktpel.demo.print_presets",
}, "sync": {
    # sync, per side (envelope, authorisation, wiring, registration and schemas (the wire models) stay in
    # ktpel.sync; crypto, keys and their cli went to ktpel.keys: see "keys")
    "ktpel.sync.agent": "ktpel.office.sync.agent",
    "ktpel.sync.office_apply": "ktpel.office.sync.apply",
    "ktpel.sync.outbox": "ktpel.office.sync.outbox",
    "ktpel.sync.outage": "ktpel.office.sync.outage",
    "ktpel.sync.banner": "ktpel.office.sync.banner",
    "ktpel.sync.notice": "ktpel.office.sync.notice",
    "ktpel.sync.office_views": "ktpel.office.sync.views",
    "ktpel.sync.office_cli": "ktpel.office.sync.cli",
    "ktpel.sync.sender": "ktpel.office.sender",  # then up beside the composition it starts: see "entry"
    "ktpel.sync.central_intake": "ktpel.central.sync.intake",
    "ktpel.sync.central_views": "ktpel.central.sync.views",
    "ktpel.sync.central_cli": "ktpel.central.sync.cli",
    "ktpel.sync.events": "ktpel.central.sync.events",
    "ktpel.sync.service": "ktpel.central.sync.service",  # split: see SYMBOLS
}, "notify": {
    # notifications, one home
    "ktpel.office.notices.service": "ktpel.office.notify.notices",
    "ktpel.office.notices.views": "ktpel.office.notify.views",
    "ktpel.office.notices": "ktpel.office.notify",
    "ktpel.notify": "ktpel.office.notify",
}, "printing": {
    # printing, one home per side
    "ktpel.printing.cli": "ktpel.office.printing.simulate_cli",
    "ktpel.printing": "ktpel.office.printing",
}, "duplicates": {
    # data ganda at the office
    "ktpel.central.resolution.office": "ktpel.office.duplicates.service",
    "ktpel.central.resolution.office_views": "ktpel.office.duplicates.views",
}, "reports": {
    # reports, per side (the kit stays in ktpel.reports: metrics, panels, period, sources, cache, exports)
    "ktpel.reports.office": "ktpel.office.reports.office",
    "ktpel.reports.daily": "ktpel.office.reports.daily",
    "ktpel.reports.monthly": "ktpel.office.reports.monthly",
    "ktpel.reports.turnaround": "ktpel.office.reports.turnaround",
    "ktpel.reports.views": "ktpel.office.reports.views",
    "ktpel.reports.central": "ktpel.central.reports.central",
    "ktpel.reports.central_views": "ktpel.central.reports.views",
    "ktpel.reports.service": "ktpel.office.reports.service",  # split: see SYMBOLS
}, "keys": {
    # the side's key pairs and the crypto they sign and seal with, below security and sync (both use them)
    "ktpel.sync.crypto": "ktpel.keys.crypto",
    "ktpel.sync.keys": "ktpel.keys.keyring",
    "ktpel.sync.cli": "ktpel.keys.cli",
}, "entry": {
    # the office's sync process is an entry point: it stands beside office.composition, not inside sync
    "ktpel.office.sync.sender": "ktpel.office.sender",
}, "fields": {
    # field encryption belongs to store (the shim is gone)
    "ktpel.security.fields": "ktpel.store.fields",
}}
MODULES: dict[str, str] = {old: new for group in MOVES.values() for old, new in group.items()}

# a module split in two: old module -> {name: new module}; names not listed follow MODULES
SYMBOLS: dict[str, dict[str, str]] = {
    "ktpel.sync.service": {
        "register_with_central": "ktpel.office.sync.service",
        "office_queue": "ktpel.office.sync.service",
        "outbox_totals": "ktpel.office.sync.service",
        "RegistrationFailed": "ktpel.sync.registration",
        "signed_key_list": "ktpel.sync.registration",
        "accept_key_list": "ktpel.sync.registration",
    },
    "ktpel.reports.service": {
        "view_central_dashboard": "ktpel.central.reports.service",
        "UnknownTable": "ktpel.reports.panels",
        "panel_of": "ktpel.reports.panels",
        "dashboard_json": "ktpel.reports.panels",
    },
    "ktpel.reports.views": {
        "export_response": "ktpel.reports.exports",
        "XLSX": "ktpel.reports.exports",
    },
    "ktpel.reports.metrics": {
        "office_metrics": "ktpel.office.reports.metrics",
        "central_metrics": "ktpel.central.reports.metrics",
    },
    "ktpel.central.resolution.service": {
        "CaseClosed": "ktpel.domain.duplicate_case",
        "CaseInvalid": "ktpel.domain.duplicate_case",
    },
    "ktpel.store.schema.central": {
        "OfficeDuplicateCaseRow": "ktpel.store.schema.office_duplicates",
    },
}

_NAME = re.compile(r"\bktpel(?:\.[A-Za-z_]\w*)+")
_PATH = re.compile(r"\bktpel(?:/[A-Za-z_]\w*)+(?:\.py)?/?")
_FROM = re.compile(r"^(?P<indent>[ \t]*)from\s+(?P<module>ktpel(?:\.\w+)*)\s+import\s+"
                   r"(?P<names>\([^)]*\)|[^\n#]+?)(?P<tail>[ \t]*(?:#[^\n]*)?)$", re.MULTILINE)


def moved(name: str) -> str:
    """The new dotted name of `name` (a module, a package or module.attribute), or `name` itself."""
    parts = name.split(".")
    for cut in range(len(parts), 1, -1):
        head, rest = ".".join(parts[:cut]), parts[cut:]
        if head in SYMBOLS and rest and rest[0] in SYMBOLS[head]:
            return ".".join([SYMBOLS[head][rest[0]], *rest])
        if head in MODULES:
            return ".".join([MODULES[head], *rest])
    return name


def _rewrite_from(match: re.Match) -> str:
    module, raw = match["module"], match["names"]
    names = [n.strip() for n in raw.strip("()").replace("\n", " ").split(",") if n.strip()]
    groups: dict[str, list[str]] = {}
    for item in names:
        name, _, alias = (p.strip() for p in item.partition(" as "))
        full = f"{module}.{name}"
        if full in MODULES or any(full.startswith(k + ".") for k in MODULES if k.count(".") > full.count(".")):
            target, new_name = moved(full).rsplit(".", 1)
        elif module in SYMBOLS and name in SYMBOLS[module]:
            target, new_name = SYMBOLS[module][name], name
        else:
            target, new_name = moved(module), name
        alias = alias or (name if new_name != name else "")
        groups.setdefault(target, []).append(f"{new_name} as {alias}" if alias else new_name)
    if list(groups) == [module]:
        return match[0]
    lines = []
    for target, items in groups.items():
        line = f"{match['indent']}from {target} import {', '.join(items)}"
        if len(line) > 118:
            inner = "".join(f"{match['indent']}    {i},\n" for i in items)
            line = f"{match['indent']}from {target} import (\n{inner}{match['indent']})"
        lines.append(line)
    lines[-1] += match["tail"]
    return "\n".join(lines)


def rewrite(text: str) -> str:
    """`text` with every moved module's imports, dotted names and paths rewritten."""
    text = _FROM.sub(_rewrite_from, text)
    text = _NAME.sub(lambda m: moved(m[0]), text)

    def path(m: re.Match) -> str:
        raw = m[0]
        suffix = ".py" if raw.endswith(".py") else ""
        slash = "/" if raw.endswith("/") else ""
        dotted = raw.removesuffix("/").removesuffix(".py").replace("/", ".")
        return moved(dotted).replace(".", "/") + suffix + slash

    return _PATH.sub(path, text)


def table() -> str:
    rows = ["| old module | new module |", "|---|---|"]
    rows += [f"| `{old}` | `{new}` |" for old, new in MODULES.items()]
    for old, names in SYMBOLS.items():
        rows += [f"| `{old}.{name}` | `{new}.{name}` |" for name, new in names.items()]
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    if argv == ["--table"]:
        print(table())
        return 0
    if argv[:1] == ["--move"]:  # apply one move's group only (how the moves were made, one commit each)
        global MODULES, SYMBOLS
        MODULES = MOVES[argv[1]]
        SYMBOLS = {k: v for k, v in SYMBOLS.items() if k in MODULES}
        argv = argv[2:]
    for arg in argv:
        path = Path(arg)
        before = path.read_text(encoding="utf-8")
        after = rewrite(before)
        if after != before:
            path.write_text(after, encoding="utf-8")
            print(f"rewrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
