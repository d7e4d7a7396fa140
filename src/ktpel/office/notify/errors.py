"""Typed errors of the notification capability."""

from __future__ import annotations

from ktpel.domain.errors import KtpelError


class InvalidPhone(KtpelError):
    """A phone number that is not a valid Indonesian (or international) number."""

    code = "invalid_phone"
    http_status = 422

    def __init__(self, raw: str) -> None:
        super().__init__(
            f"Nomor telepon '{raw}' tidak valid. Tulis seperti 0812xxxxxxx atau +62812xxxxxxx.",
            f"Phone number '{raw}' is not valid. Write it like 0812xxxxxxx or +62812xxxxxxx.",
        )


class UnknownVariable(KtpelError):
    """A template uses a variable the system cannot fill."""

    code = "unknown_variable"
    http_status = 422

    def __init__(self, *, names: list[str], allowed: list[str]) -> None:
        shown = ", ".join("{" + n + "}" for n in names)
        ok = ", ".join("{" + n + "}" for n in allowed)
        super().__init__(
            f"Variabel tidak dikenal: {shown}. Variabel yang boleh dipakai: {ok}.",
            f"Unknown variable(s): {shown}. Allowed variables: {ok}.",
        )
        self.names = names


class MalformedTemplate(KtpelError):
    """A template with an unbalanced brace or a format spec."""

    code = "malformed_template"
    http_status = 422

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"Templat tidak dapat dibaca: {detail}. Pakai variabel dalam kurung kurawal, mis. {{nama}}.",
            f"Template cannot be parsed: {detail}. Put variables in braces, e.g. {{nama}}.",
        )


class UnknownTrigger(KtpelError):
    code = "unknown_trigger"

    def __init__(self, trigger: str) -> None:
        super().__init__(f"Pemicu notifikasi '{trigger}' tidak dikenal.", f"Unknown notification trigger '{trigger}'.")


class ChannelError(KtpelError):
    """A provider refused or failed; `retry_after` (seconds) when it asked us to slow down."""

    code = "channel_error"
    http_status = 502

    def __init__(self, detail: str, *, retry_after: float | None = None, permanent: bool = False) -> None:
        super().__init__(f"Pengiriman gagal: {detail}", f"Sending failed: {detail}")
        self.retry_after = retry_after
        self.permanent = permanent


class RateLimited(KtpelError):
    code = "rate_limited"
    http_status = 429

    def __init__(self, *, retry_after: int) -> None:
        super().__init__(
            "Terlalu banyak pencarian. Silakan coba lagi nanti.",
            "Too many lookups. Please try again later.",
        )
        self.retry_after = retry_after


class UnknownChannel(KtpelError):
    """Settings.notify_channel names no channel this version has."""

    code = "notify_channel_unknown"

    def __init__(self, kind: str) -> None:
        super().__init__(
            f"Kanal notifikasi '{kind}' tidak dikenal: pilih console, file, smtp, http_sms atau whatsapp.",
            f"Unknown notification channel '{kind}': use console, file, smtp, http_sms or whatsapp.",
        )
