"""Column types shared by every table."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import DateTime, LargeBinary, String
from sqlalchemy.types import TypeDecorator

from ktpel.store.fields import cipher


class EncryptedText(TypeDecorator):
    """Text encrypted with the field cipher (AEAD); the database only ever sees ciphertext."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value, dialect):  # noqa: ANN001
        if value is None:
            return None
        return cipher().encrypt(value.encode("utf-8"))

    def process_result_value(self, value, dialect):  # noqa: ANN001
        if value is None:
            return None
        return cipher().decrypt(bytes(value)).decode("utf-8")


class EncryptedBytes(TypeDecorator):
    """Binary payloads (images, templates) encrypted at rest."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value, dialect):  # noqa: ANN001
        return None if value is None else cipher().encrypt(bytes(value))

    def process_result_value(self, value, dialect):  # noqa: ANN001
        return None if value is None else cipher().decrypt(bytes(value))


class EncryptedJSON(EncryptedBytes):
    """A JSON value (canonical, UTF-8) encrypted at rest, for personal data kept as a structure (e.g. finger
    exception reasons: an amputation is health data). Read and written whole; never queried in SQL."""

    cache_ok = True

    def process_bind_param(self, value, dialect):  # noqa: ANN001
        if value is None:
            return None
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return super().process_bind_param(text.encode("utf-8"), dialect)

    def process_result_value(self, value, dialect):  # noqa: ANN001
        raw = super().process_result_value(value, dialect)
        return None if raw is None else json.loads(raw.decode("utf-8"))


class UtcDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both SQLite and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # noqa: ANN001
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.timezone.utc)

    def process_result_value(self, value, dialect):  # noqa: ANN001
        if value is None:
            return None
        return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


Code = String(32)
