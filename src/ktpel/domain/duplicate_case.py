"""A data-ganda case's refusals, raised the same at central (resolution) and at the office (duplicates)."""

from __future__ import annotations

from ktpel.domain.errors import KtpelError


class CaseClosed(KtpelError):
    code = "case_closed"
    http_status = 409


class CaseInvalid(KtpelError):
    code = "case_invalid"
    http_status = 422
