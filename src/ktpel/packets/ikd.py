"""The IKD report's payload (`ktpel.ikd`): a digital ID activated or revoked at an office, one model per version.

The office writes it (`ktpel.office.ikd.service`) with `CURRENT(...).model_dump(mode="json")` under the packet
kind `ikd.activated` or `ikd.revoked`; central reads it (`ktpel.central.ikd.service`) with
`VERSIONS[version].model_validate` and counts each activation once, per office, as a blank saved.
Packets queued before this model existed carry no `format`/`version`: they read as version 1.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from ktpel.packets.enrollment import Required, Text, _nik, _text

FORMAT = "ktpel.ikd"
KINDS = ("ikd.activated", "ikd.revoked")


def _aware(value: str) -> str:
    try:
        at = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("is not an ISO datetime") from None
    if at.tzinfo is None:
        raise ValueError("has no time zone")
    return value


Instant = Annotated[str, BeforeValidator(_text), AfterValidator(_aware)]


class IkdReportV1(BaseModel):
    """Version 1: which activation, whose, at which office, whether it saved a blank, and when."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    format: Literal["ktpel.ikd"] = FORMAT
    version: Literal[1] = 1
    activation_id: Annotated[str, BeforeValidator(_text), Field(min_length=1, max_length=40)]
    nik: Annotated[str, BeforeValidator(_text), AfterValidator(_nik)]
    office_code: Required
    officer: Text = ""
    # activated before any card was printed for the resident: one blank the office need not spend
    saves_blank: bool
    activated_at: Instant
    revoked_at: Instant | None = None
    reason: Text = ""

    @staticmethod
    def _utc(value: str) -> dt.datetime:
        return dt.datetime.fromisoformat(value).astimezone(dt.timezone.utc)

    @property
    def activated(self) -> dt.datetime:
        return self._utc(self.activated_at)

    @property
    def revoked(self) -> dt.datetime | None:
        return None if self.revoked_at is None else self._utc(self.revoked_at)


# every version central reads; the office writes the newest
VERSIONS: dict[int, type[IkdReportV1]] = {1: IkdReportV1}
CURRENT = IkdReportV1
