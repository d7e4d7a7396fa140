"""What the allocation API answers."""

from __future__ import annotations

from typing import Any

from ktpel.web.schemas import Answer


class LoanAccepted(Answer):
    id: Any
    state: str
    lender_code: str
    borrower_code: str
    count: int
