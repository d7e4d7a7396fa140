"""What the enrollment API answers (response models: the OpenAPI document says what comes back)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class EnrollmentCreated(BaseModel):
    """`POST /api/v1/enrollments`: 201 for a new recording, 200 when the form token was seen before."""

    model_config = ConfigDict(extra="allow")

    enrollment_id: str
    state: str
    quality: dict[str, Any]
    receipt_number: str
    approval_reasons: list[str]
    created: bool


class EnrollmentOut(BaseModel):
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
