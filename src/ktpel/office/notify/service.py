"""Templates as the office keeps them, and the values that fill them."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from ktpel.config import Settings
from ktpel.domain.events import utcnow
from ktpel.office.notify import templates as tpl
from ktpel.security.audit import record_audit
from ktpel.store.schema.core import EnrollmentRow, ResidentRow
from ktpel.store.schema.notify import NotifyTemplateRow


def template_for(session: Session, *, trigger: str) -> tpl.Template:
    """The office's edited template for a trigger, or the built-in one."""
    tpl.check_trigger(trigger)
    row = session.get(NotifyTemplateRow, trigger)
    if row is None:
        return tpl.BUILT_IN[trigger]
    return tpl.Template(trigger, row.body_id, row.body_en)


def list_templates(session: Session) -> list[tuple[tpl.Template, bool]]:
    """Every trigger's template and whether the office edited it."""
    return [(template_for(session, trigger=t), session.get(NotifyTemplateRow, t) is not None)
            for t in tpl.TRIGGERS]


def save_template(session: Session, *, trigger: str, body_id: str, body_en: str, actor: str) -> tpl.Template:
    """Store an edited template after refusing unknown variables or broken braces in either language."""
    tpl.check_trigger(trigger)
    body_id, body_en = body_id.strip(), body_en.strip()
    tpl.validate(body_id)
    tpl.validate(body_en)
    row = session.get(NotifyTemplateRow, trigger)
    before = None if row is None else {"body_id": row.body_id, "body_en": row.body_en}
    if row is None:
        row = NotifyTemplateRow(trigger=trigger, body_id=body_id, body_en=body_en, updated_by=actor,
                                updated_at=utcnow())
        session.add(row)
    else:
        row.body_id, row.body_en, row.updated_by, row.updated_at = body_id, body_en, actor, utcnow()
    record_audit(session, actor=actor, action="notify.template_saved", subject=trigger, before=before,
           after={"body_id": body_id, "body_en": body_en})
    return tpl.Template(trigger, body_id, body_en)


def reset_template(session: Session, *, trigger: str, actor: str) -> None:
    """Go back to the built-in text of a trigger."""
    tpl.check_trigger(trigger)
    row = session.get(NotifyTemplateRow, trigger)
    if row is not None:
        session.delete(row)
        record_audit(session, actor=actor, action="notify.template_reset", subject=trigger,
               before={"body_id": row.body_id, "body_en": row.body_en}, after=None)


def values_for(session: Session, *, settings: Settings, resident_id: int, trigger: str,
               variables: dict) -> tuple[dict[str, str], dict[str, str]]:
    """Every template variable in Bahasa Indonesia and in English; caller's variables win."""
    name = session.scalar(select(ResidentRow.name).where(ResidentRow.id == resident_id)) or ""
    enrollment = session.scalars(select(EnrollmentRow).where(EnrollmentRow.resident_id == resident_id)
                                 .order_by(EnrollmentRow.created_at.desc()).limit(1)).first()
    bring_id, bring_en = tpl.DEFAULT_BRING[trigger]
    base = {
        "nama": name, "kantor": settings.office_name, "alamat_kantor": settings.office_address,
        "jam_buka": settings.office_hours,
        "nomor_tanda_terima": enrollment.receipt_number if enrollment else "-",
        "alasan": (enrollment.failure_reason if enrollment and enrollment.failure_reason else "-"),
    }
    given = {k: str(v) for k, v in (variables or {}).items()}
    values_id = {**base, "bawa": bring_id, **{k: v for k, v in given.items() if not k.endswith("_en")}}
    values_en = {**base, "bawa": bring_en, **{k: v for k, v in given.items() if not k.endswith("_en")},
                 **{k[:-3]: v for k, v in given.items() if k.endswith("_en")}}
    if "bawa" in given and "bawa_en" not in given:
        values_en["bawa"] = given["bawa"]
    return values_id, values_en


def compose_for(session: Session, *, settings: Settings, resident_id: int, trigger: str,
                variables: dict) -> tuple[str, list[str]]:
    """The text to send and the ordered template parameters (for WhatsApp)."""
    template = template_for(session, trigger=trigger)
    values_id, values_en = values_for(session, settings=settings, resident_id=resident_id, trigger=trigger,
                                      variables=variables)
    text = tpl.compose(template, values_id=values_id, values_en=values_en)
    params = [values_id[n] for n in tpl.variables_of(template.body_id)]
    return text, params


def local_time(now: dt.datetime, *, settings: Settings) -> dt.datetime:
    from zoneinfo import ZoneInfo

    return now.astimezone(ZoneInfo(settings.notify_timezone))


def quiet_until(now: dt.datetime, *, settings: Settings) -> dt.datetime | None:
    """If `now` is inside the quiet hours, the UTC instant they end; else None."""
    spec = settings.notify_quiet_hours.strip()
    if not spec:
        return None
    start_s, _, end_s = spec.partition("-")
    start = dt.time.fromisoformat(start_s.strip())
    end = dt.time.fromisoformat(end_s.strip())
    local = local_time(now, settings=settings)
    t = local.time()
    inside = (start <= t or t < end) if start > end else (start <= t < end)
    if not inside:
        return None
    end_day = local.date() if t < end else local.date() + dt.timedelta(days=1)
    if start <= end:
        end_day = local.date()
    end_local = dt.datetime.combine(end_day, end, tzinfo=local.tzinfo)
    return end_local.astimezone(dt.timezone.utc)


def decode(values: str) -> dict:
    return json.loads(values or "{}")
