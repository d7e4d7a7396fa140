"""The office's print-priority policy (a YAML file) and the "present residents only" switch."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy.orm import Session

from ktpel.domain.errors import NotFound
from ktpel.domain.events import utcnow
from ktpel.domain.priority import Policy, parse_policy
from ktpel.office.printing.drivers import PrintingConfig
from ktpel.security.audit import record_audit
from ktpel.store.schema.printing import PrintingSettingRow


DEFAULT_POLICY = Path(__file__).resolve().parent / "policies" / "default.yaml"


def policy_path(config: PrintingConfig | None = None) -> Path:
    config = config or PrintingConfig()
    return config.policy_file or DEFAULT_POLICY


@lru_cache(maxsize=8)
def _load_policy(path: str, mtime: float) -> Policy:
    return parse_policy(Path(path).read_text(encoding="utf-8"), source=Path(path).name)


def current_policy(config: PrintingConfig | None = None) -> Policy:
    """The priority policy in force (re-read when the file changes)."""
    path = policy_path(config)
    try:
        return _load_policy(str(path), path.stat().st_mtime)
    except FileNotFoundError:
        raise NotFound(f"Berkas kebijakan {path} tidak ditemukan.", f"Policy file {path} not found.") from None


PRESENT_ONLY = "present_only"


def present_only(session: Session) -> bool:
    """Print only residents present at the counter (the default) unless the head of office changed it."""
    row = session.get(PrintingSettingRow, PRESENT_ONLY)
    return True if row is None else bool(row.value.get("enabled", True))


def set_present_only(session: Session, *, enabled: bool, actor: str, source_ip: str | None = None) -> None:
    """Change the present-only rule (head of office), audited."""
    before = present_only(session)
    row = session.get(PrintingSettingRow, PRESENT_ONLY)
    if row is None:
        session.add(PrintingSettingRow(key=PRESENT_ONLY, value={"enabled": enabled}, changed_by=actor))
    else:
        row.value, row.changed_by, row.changed_at = {"enabled": enabled}, actor, utcnow()
    record_audit(session, actor=actor, action="printing.present_only", subject=PRESENT_ONLY,
                 before={"enabled": before}, after={"enabled": enabled}, source_ip=source_ip)
