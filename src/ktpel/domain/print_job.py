"""A print job: one card sent to a printer on one blank, until the operator confirms or spoils it."""

from __future__ import annotations

from enum import Enum


class PrintJobState(str, Enum):
    SENT = "SENT"  # at the printer, the blank reserved
    PRINTED = "PRINTED"  # confirmed: the blank is USED
    SPOILED = "SPOILED"  # misprint: the blank is SPOILED, the card may be printed again
    CANCELLED = "CANCELLED"  # never reached a blank: the blank goes back untouched
