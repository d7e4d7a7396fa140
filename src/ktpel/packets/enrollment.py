"""The enrollment packet's payload (`ktpel.enrollment`), one Pydantic model per version.

The office writes it (`ktpel.office.enrollment.packet.build_payload`) and central reads it
(`ktpel.central.pipeline.payload.parse`) through these same models, so the two sides cannot drift apart:
tests/integration/test_packet_contract.py feeds the office's real writer into central's real intake.
Sync wraps the payload in the signed, sealed envelope; this module knows nothing of that.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

FORMAT = "ktpel.enrollment"
TEMPLATE_KEYS = ("face", *(f"finger_{i}" for i in range(1, 11)))
# images travel beside the templates: adjudicators compare them, the card is printed from face and signature
IMAGE_KINDS = ("face", "signature", *(f"finger_{i}" for i in range(1, 11)))


def _text(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError("is not text")
    return value


def _filled(value: str) -> str:
    if not value.strip():
        raise ValueError("missing")
    return value


def _nik(value: str) -> str:
    if len(value) != 16 or not value.isdigit():
        raise ValueError("NIK is not 16 digits")
    return value


def _iso_date(value: str) -> str:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError("birth_date is not an ISO date") from None
    return value


def _aware_iso_datetime(value: str) -> str:
    try:
        at = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("captured_at is not an ISO datetime") from None
    if at.tzinfo is None:
        raise ValueError("captured_at has no time zone")
    return value


_BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _base64(value: str) -> str:
    """Standard padded base64 (RFC 4648 §4), checked without decoding: a packet's images are megabytes, and
    whoever needs their bytes decodes them once."""
    padding = len(value) - len(value.rstrip("="))
    if (not value.isascii() or len(value) % 4 or padding > 2
            or value.encode("ascii").translate(None, _BASE64_ALPHABET) != b"=" * padding):
        raise ValueError("is not valid base64")
    return value


Text = Annotated[str, BeforeValidator(_text)]
Required = Annotated[str, BeforeValidator(_text), AfterValidator(_filled)]
Base64 = Annotated[str, BeforeValidator(_text), AfterValidator(_base64)]
TemplateKey = Literal["face", "finger_1", "finger_2", "finger_3", "finger_4", "finger_5", "finger_6",
                      "finger_7", "finger_8", "finger_9", "finger_10"]


class ResidentV1(BaseModel):
    """Demographics after the counter's corrections. Phones are never sent: contacting is the office's job."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    nik: Annotated[str, BeforeValidator(_text), AfterValidator(_nik)]
    name: Required
    birth_place: Required
    birth_date: Annotated[str, BeforeValidator(_text), AfterValidator(_filled), AfterValidator(_iso_date)]
    sex: Literal["L", "P"]
    kk_number: Text | None = None
    blood_type: Text | None = None
    street: Text | None = None
    rt: Text | None = None
    rw: Text | None = None
    village_code: Text | None = None
    religion: Text | None = None
    marital_status: Text | None = None
    occupation: Text | None = None
    citizenship: Text | None = None
    family_role: Text | None = None
    father_name: Text | None = None
    mother_name: Text | None = None
    regency_code: Text | None = None
    district_code: Text | None = None

    @property
    def birth(self) -> dt.date:
        return dt.date.fromisoformat(self.birth_date)


class EnrollmentPacketV1(BaseModel):
    """Version 1: demographics, biometric templates and images, quality and declared exceptions."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    format: Literal["ktpel.enrollment"] = FORMAT
    version: Literal[1] = 1
    enrollment_id: Annotated[str, BeforeValidator(_text), Field(min_length=1, max_length=40)]
    office_code: Text
    receipt_number: Text = ""
    captured_at: Annotated[str, BeforeValidator(_text), AfterValidator(_aware_iso_datetime)]
    operator: Text = ""
    approved_by: Text | None = None
    resident: ResidentV1
    quality: dict[str, Any] = Field(default_factory=dict)
    exceptions: dict[str, Any] = Field(default_factory=dict)
    templates: dict[TemplateKey, Base64] = Field(default_factory=dict)
    images: dict[str, Base64] = Field(default_factory=dict)
    image_types: dict[str, str] = Field(default_factory=dict)

    @property
    def captured(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.captured_at).astimezone(dt.timezone.utc)

    def decoded(self, section: Literal["templates", "images"]) -> dict[str, bytes]:
        return {k: base64.b64decode(v) for k, v in getattr(self, section).items()}


# every version central reads; the office writes the newest
VERSIONS: dict[int, type[EnrollmentPacketV1]] = {1: EnrollmentPacketV1}
CURRENT = EnrollmentPacketV1
