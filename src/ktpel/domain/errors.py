"""Typed errors of the domain, each with a stable code and a message in Bahasa Indonesia and English."""

from __future__ import annotations


class KtpelError(Exception):
    """Base of every error ktpel raises on purpose."""

    code: str = "error"

    def __init__(self, message_id: str, message_en: str, *, code: str | None = None) -> None:
        super().__init__(message_en)
        self.message_id = message_id
        self.message_en = message_en
        if code is not None:
            self.code = code

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message_id": self.message_id, "message_en": self.message_en}

    def __reduce__(self):  # noqa: ANN204
        # subclasses take keyword-only constructors; rebuild from the attributes, so an error raised in a
        # worker process (biometric pool) reaches the web process whole
        return _rebuild, (type(self), self.message_en, dict(self.__dict__))


def _rebuild(cls: type[KtpelError], message_en: str, state: dict) -> KtpelError:
    err = cls.__new__(cls)
    Exception.__init__(err, message_en)
    err.__dict__.update(state)
    return err


class NotFound(KtpelError):
    code = "not_found"


class InvalidTransition(KtpelError):
    """A state change the state machine does not allow."""

    code = "invalid_transition"

    def __init__(self, *, entity: str, current: str, action: str) -> None:
        super().__init__(
            f"{entity} berstatus {current}: tindakan '{action}' tidak diizinkan.",
            f"{entity} is {current}: action '{action}' is not allowed.",
        )
        self.entity = entity
        self.current = current
        self.action = action


class ValidationFailed(KtpelError):
    """One or more field errors, reported together."""

    code = "validation_failed"

    def __init__(self, errors: list[KtpelError]) -> None:
        super().__init__(
            "; ".join(e.message_id for e in errors),
            "; ".join(e.message_en for e in errors),
        )
        self.errors = errors
