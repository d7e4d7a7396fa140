"""The published shape of a recording request: the `demographics` JSON of the API and of bulk import.

Parsing goes through pydantic's JSON parser, which refuses nesting deeper than its recursion limit and
lone surrogates (`\\ud800`) before anything else runs; every field has a type, so `missing_fingers
{"abc": ...}` or `exceptions: [1, 2]` are a 422 naming the field, never a crash in the middle of the work.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from ktpel.domain.errors import KtpelError, ValidationFailed
from ktpel.domain.names import MAX_NAME_LENGTH, NAME_PATTERN
from ktpel.office.enrollment.policy import CAPTURE_KINDS, MAX_UPLOAD_BYTES
from ktpel.web.openapi import inline_schema

CaptureKind = Literal[CAPTURE_KINDS]  # type: ignore[valid-type]
FingerPosition = Annotated[int, Field(ge=1, le=10)]
Text = Annotated[str, StringConstraints(max_length=200)]
Short = Annotated[str, StringConstraints(max_length=40)]


def _clean(value: object) -> object:
    """Text must be encodable (no lone surrogate) and free of control characters other than none."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("contains a lone surrogate") from None
        if any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 for ch in value):
            raise ValueError("contains a control character")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=200)

    @field_validator("*", mode="after")
    @classmethod
    def _text(cls, value: object) -> object:
        if isinstance(value, dict):
            for k, v in value.items():
                _clean(k)
                _clean(v)
        elif isinstance(value, list):
            for v in value:
                _clean(v)
        return _clean(value)


class CaptureExceptionIn(_Strict):
    """An item declared not captured, with the reason (at least 3 characters)."""

    kind: Literal["missing", "injured", "unable"]
    reason: Text = ""


class PhoneIn(_Strict):
    number: Short
    consent: bool = False


class DemographicsIn(_Strict):
    """The `demographics` part of POST /api/v1/enrollments (and resident.json of a bulk import folder)."""

    nik: Annotated[str, StringConstraints(max_length=32)]
    form_token: Annotated[str, StringConstraints(max_length=64)] | None = None
    phones: Annotated[list[Union[Short, PhoneIn]], Field(max_length=4)] = []
    exceptions: dict[CaptureKind, Union[CaptureExceptionIn, Text]] = {}
    missing_fingers: dict[FingerPosition, Union[CaptureExceptionIn, Text]] = {}
    override_low_quality: bool = False
    # corrections of the resident's register data, as the counter confirmed them
    name: Annotated[str, StringConstraints(max_length=MAX_NAME_LENGTH + 20, pattern=NAME_PATTERN)] | None = None
    birth_place: Text | None = None
    birth_date: Annotated[str, StringConstraints(max_length=10)] | None = None
    sex: Literal["L", "P"] | None = None
    blood_type: Annotated[str, StringConstraints(max_length=2)] | None = None
    street: Text | None = None
    rt: Annotated[str, StringConstraints(max_length=3)] | None = None
    rw: Annotated[str, StringConstraints(max_length=3)] | None = None
    village_code: Annotated[str, StringConstraints(max_length=13)] | None = None
    religion: Short | None = None
    marital_status: Short | None = None
    occupation: Text | None = None
    citizenship: Literal["WNI", "WNA"] | None = None


def _failed(exc: ValidationError) -> ValidationFailed:
    errors = []
    for e in exc.errors(include_url=False, include_input=False)[:20]:
        where = ".".join(str(x) for x in e["loc"]) or "demographics"
        errors.append(KtpelError(f"Isian '{where}' tidak valid: {e['msg']}.", f"{where}: {e['msg']}.",
                                 code="demographics_invalid"))
    failed = ValidationFailed(errors)
    failed.code = "demographics_invalid"  # one code for every malformed demographics, the fields in `errors`
    return failed


def parse_demographics_json(raw: object) -> DemographicsIn:
    """The API's `demographics` text as a model; 422 (ValidationFailed) listing the fields that are wrong."""
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationFailed([KtpelError("Kolom 'demographics' harus objek JSON.",
                                           "'demographics' must be a JSON object.", code="demographics_invalid")])
    try:
        return DemographicsIn.model_validate_json(raw)
    except ValidationError as exc:
        raise _failed(exc) from None


def parse_demographics(data: object) -> DemographicsIn:
    """Already-decoded demographics (bulk import's resident.json) as a model; 422 like the API."""
    try:
        return DemographicsIn.model_validate(data)
    except ValidationError as exc:
        raise _failed(exc) from None


# the multipart body of POST /api/v1/enrollments, for the OpenAPI document (the route reads it itself,
# with part limits, so FastAPI cannot derive it)
_FILE = {"type": "string", "format": "binary", "maxLength": MAX_UPLOAD_BYTES}
ENROLLMENT_REQUEST_BODY = {
    "required": True,
    "content": {"multipart/form-data": {
        "schema": {
            "type": "object", "required": ["demographics", "face"],
            "properties": {
                "demographics": {"type": "string", "contentMediaType": "application/json",
                                 "contentSchema": inline_schema(DemographicsIn),
                                 "description": "JSON text of the DemographicsIn schema"},
                "face": _FILE, "signature": _FILE, **{f"finger_{i}": _FILE for i in range(1, 11)},
            },
        },
        "encoding": {"demographics": {"contentType": "application/json"}},
    }},
}
QUALITY_REQUEST_BODY = {
    "required": True,
    "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["image"], "properties": {"image": _FILE}}}},
}


class QualityOut(BaseModel):
    """Live quality of one capture."""

    kind: str
    score: float
    ok: bool
    reasons: list[str]
    warnings: list[str] = []  # accepted, but the operator should know (e.g. a smaller face in the background)
    refused: str | None = None  # the code when unusable whatever the score (e.g. two faces: multiple_faces)
    prompt_id: str | None = None
    prompt_en: str | None = None


class EnrollmentOut(BaseModel):
    """What POST /api/v1/enrollments answers."""

    enrollment_id: str
    state: str
    quality: dict[str, dict]
    receipt_number: str
    approval_reasons: list[str]
    created: bool


class EnrollmentView(BaseModel):
    """`GET /api/v1/enrollments/{id}`: one enrollment of this office and where it stands."""

    model_config = ConfigDict(extra="allow")

    enrollment_id: str
    state: str
    state_code: str  # the code officers know: REKAM, ANTRE, SFE, PRR, DUP, EFAC …
    state_label_id: str
    receipt_number: str
    office_code: str
    operator: str
    approved_by: str | None
    created_at: str
    quality: dict[str, Any]
    exceptions: dict[str, Any]
    approval_reasons: list[str]
    nik: str
    name: str
