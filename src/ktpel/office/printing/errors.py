"""Why printing refuses: each a typed error with its message in Bahasa Indonesia and English."""

from __future__ import annotations

from ktpel.domain.errors import KtpelError


class PrintRefused(KtpelError):
    code = "print_refused"
    http_status = 409


class NotAuthorised(PrintRefused):
    code = "card_not_authorised"


class CardRevoked(PrintRefused):
    code = "card_revoked"


class NotPresent(PrintRefused):
    code = "resident_not_present"


class ReservedForUrgent(PrintRefused):
    code = "reserved_for_urgent"


class JobNotOpen(PrintRefused):
    code = "job_not_open"


class UnknownClass(KtpelError):
    code = "priority_class_unknown"
