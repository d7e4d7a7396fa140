"""Demo users, one per role, with random passwords printed once (at the first start only)."""

from __future__ import annotations

from sqlalchemy import select

from ktpel.security import service
from ktpel.security.access import Role
from ktpel.store.schema.security import UserRow

SHOWN = "(sudah ditampilkan — shown at first start)"

OFFICE_DEMO = [("operator", Role.OPERATOR), ("supervisor", Role.SUPERVISOR), ("kadis", Role.HEAD),
               ("auditor", Role.AUDITOR)]
# two adjudicators: a "same person" decision needs a second one to confirm it (four-eyes)
CENTRAL_DEMO = [("adjudikator", Role.ADJUDICATOR), ("adjudikator2", Role.ADJUDICATOR),
                ("admin-pusat", Role.CENTER_ADMIN), ("auditor-pusat", Role.AUDITOR)]


def _ensure(db, *, side: str, users: list[tuple[str, Role]], regency_code: str | None) -> list[tuple]:  # noqa: ANN001
    rows = []
    with db.unit_of_work() as s:
        for username, role in users:
            existing = s.scalar(select(UserRow).where(UserRow.username == username))
            if existing is not None:
                rows.append((side, username, existing.role, SHOWN))
                continue
            _, password = service.add_user(
                s, username=username, role=role, actor="demo",
                regency_code=None if side == "central" else regency_code,
                full_name=f"Demo {role.value}",
            )
            rows.append((side, username, role.value, password))
    return rows


def create_demo_users(*, settings, office_db, console=None) -> list[tuple]:  # noqa: ANN001
    """Office users (operator, supervisor, head, auditor) of the demo regency; idempotent."""
    return _ensure(office_db, side="office", users=OFFICE_DEMO, regency_code=settings.office_regency)


def create_central_demo_users(*, settings, central_db, console=None) -> list[tuple]:  # noqa: ANN001
    """Central users (adjudicator, center admin, auditor) in the central database; idempotent."""
    return _ensure(central_db, side="central", users=CENTRAL_DEMO, regency_code=None)
