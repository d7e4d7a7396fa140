"""The enrollment payload sent to central (`ktpel.enrollment`, the newest version; docs/packet-format.md).

Written through the shared packet model (`ktpel.packets.enrollment`) that central reads with, so a field
the office writes wrongly fails here, at the counter, not in central's pipeline. Sync wraps it in the
signed+encrypted envelope; this module only decides what a recording says.
"""

from __future__ import annotations

import base64
import datetime as dt

from ktpel.packets.enrollment import CURRENT, FORMAT, IMAGE_KINDS

PACKET_FORMAT = FORMAT
PACKET_VERSION = CURRENT.model_fields["version"].default

DEMOGRAPHIC_FIELDS = (
    "nik", "kk_number", "name", "birth_place", "birth_date", "sex", "blood_type", "street", "rt", "rw",
    "village_code", "religion", "marital_status", "occupation", "citizenship", "family_role",
    "father_name", "mother_name",
)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def demographics_of(resident) -> dict:  # noqa: ANN001 - a ResidentRow
    """The demographic block of a resident row, JSON-ready."""
    out = {}
    for name in DEMOGRAPHIC_FIELDS:
        value = getattr(resident, name)
        out[name] = value.isoformat() if isinstance(value, dt.date) else value
    out["regency_code"] = resident.regency_code
    out["district_code"] = resident.district_code
    return out


def build_payload(
    *,
    enrollment,  # noqa: ANN001 - an EnrollmentRow
    resident,  # noqa: ANN001 - a ResidentRow
    captures: list,  # EnrollmentCaptureRow
    captured_at: dt.datetime,
) -> dict:
    """The versioned payload of one enrollment: demographics, templates, images, quality, exceptions."""
    templates, template_models, images, content_types = {}, {}, {}, {}
    for c in captures:
        if c.template is not None:
            templates[c.kind] = _b64(c.template)
        if c.kind in IMAGE_KINDS:
            images[c.kind] = _b64(c.image)
            content_types[c.kind] = c.content_type
    return CURRENT(
        enrollment_id=enrollment.id,
        office_code=enrollment.office_code,
        receipt_number=enrollment.receipt_number,
        captured_at=captured_at.astimezone(dt.timezone.utc).isoformat(),
        operator=enrollment.operator,
        approved_by=enrollment.approved_by,
        resident=demographics_of(resident),
        quality=enrollment.quality or {},
        exceptions=enrollment.exceptions or {},
        templates=templates,
        images=images,
        image_types=content_types,
    ).model_dump(mode="json")


def decode_binary(payload: dict, *, section: str) -> dict[str, bytes]:
    """The base64 blocks of a payload section (`templates` or `images`) back to bytes."""
    return {k: base64.b64decode(v) for k, v in payload.get(section, {}).items()}
