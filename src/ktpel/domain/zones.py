"""Indonesia's three time zones and which province keeps which (no daylight saving, fixed offsets).

Pages show time in the office's own zone, with the zone's name, so an officer never converts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Zone:
    name: str  # WIB, WITA, WIT
    offset_hours: int

    @property
    def tzinfo(self) -> dt.timezone:
        return dt.timezone(dt.timedelta(hours=self.offset_hours), self.name)


WIB = Zone("WIB", 7)
WITA = Zone("WITA", 8)
WIT = Zone("WIT", 9)

# province code (first two digits of a region code) -> zone; everything else is WIB
_WITA = {"51", "52", "53", "63", "64", "65", "71", "72", "73", "74", "75", "76"}
_WIT = {"81", "82", "91", "92", "93", "94", "95", "96", "97"}


def zone_of_region(code: str | None) -> Zone:
    """The zone of a region code ("18.01", "1801", "63.71.02"): Bali, Nusa Tenggara, the eastern half of
    Kalimantan and Sulawesi keep WITA; Maluku and Papua keep WIT; Sumatra, Java, West and Central
    Kalimantan keep WIB. The data center (Jakarta) and an unknown code are WIB."""
    province = (code or "").replace(".", "")[:2]
    if province in _WITA:
        return WITA
    if province in _WIT:
        return WIT
    return WIB


def to_local(at: dt.datetime, *, zone: Zone) -> dt.datetime:
    """An instant in the zone; a naive datetime is read as UTC (how the store keeps them)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.timezone.utc)
    return at.astimezone(zone.tzinfo)
