"""Blank cards (blanko): a ledger where every serial is accounted for exactly once.

A serial enters the ledger AVAILABLE when its batch is received and leaves it exactly once:
USED (bound to one printed card), SPOILED (with a reason) or RETURNED (sent back to central).
Conservation — received = used + spoiled + returned + available — holds after every method.
A reservation (a blank taken into the printer for one card) does not change the state: the blank is
still on hand until the operator confirms the print, so reconciliation counts it as available.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from enum import Enum

from ktpel.domain.errors import KtpelError
from ktpel.domain.events import DomainEvent


class BlankState(str, Enum):
    AVAILABLE = "AVAILABLE"
    USED = "USED"
    SPOILED = "SPOILED"
    RETURNED = "RETURNED"

    @property
    def label_id(self) -> str:
        return {"AVAILABLE": "tersedia", "USED": "terpakai", "SPOILED": "rusak",
                "RETURNED": "dikembalikan"}[self.value]


class SpoilReason(str, Enum):
    MISPRINT = "misprint"  # salah cetak
    JAM = "jam"  # macet di printer
    DAMAGED = "damaged"  # rusak fisik
    TEST = "test"  # cetak uji

    @property
    def label_id(self) -> str:
        return {"misprint": "salah cetak", "jam": "macet di printer", "damaged": "rusak fisik",
                "test": "cetak uji"}[self.value]


class BlankError(KtpelError):
    code = "blank_error"
    http_status = 409


class UnknownSerial(BlankError):
    code = "blank_unknown"
    http_status = 404

    def __init__(self, serial: str) -> None:
        super().__init__(f"Nomor seri blanko {serial} tidak terdaftar di kantor ini.",
                         f"Blank serial {serial} is not in this office's ledger.")
        self.serial = serial


class BlankUnavailable(BlankError):
    code = "blank_unavailable"

    def __init__(self, serial: str, state: BlankState, *, reserved_for: str | None = None) -> None:
        if state is BlankState.AVAILABLE and reserved_for:
            mid = f"Blanko {serial} sedang dipakai untuk mencetak kartu lain."
            men = f"Blank {serial} is reserved for another card being printed."
        else:
            mid = f"Blanko {serial} berstatus {state.label_id}, tidak dapat dipakai."
            men = f"Blank {serial} is {state.value}, it cannot be used."
        super().__init__(mid, men)
        self.serial = serial
        self.state = state


class NoBlankAvailable(BlankError):
    code = "no_blank_available"

    def __init__(self) -> None:
        super().__init__("Stok blanko habis: tidak ada blanko tersedia untuk dicetak.",
                         "Out of blanks: no blank is available to print on.")


class SerialRangeInvalid(BlankError):
    code = "serial_range_invalid"
    http_status = 400


class DuplicateSerial(BlankError):
    code = "serial_duplicate"

    def __init__(self, serial: str) -> None:
        super().__init__(f"Nomor seri {serial} sudah pernah diterima.",
                         f"Serial {serial} was already received.")
        self.serial = serial


_SERIAL = re.compile(r"^(?P<prefix>[A-Z0-9.\-]*?)(?P<number>\d{4,12})$")


def serial_range(first: str, last: str) -> list[str]:
    """Every serial from `first` to `last` inclusive: same prefix, same width, ascending numbers."""
    a, b = _SERIAL.match(first.strip().upper()), _SERIAL.match(last.strip().upper())
    if a is None or b is None:
        raise SerialRangeInvalid(
            "Nomor seri harus diakhiri 4–12 angka (mis. LS26-000001).",
            "A serial must end in 4–12 digits (e.g. LS26-000001).")
    if a["prefix"] != b["prefix"] or len(a["number"]) != len(b["number"]):
        raise SerialRangeInvalid("Awal dan akhir rentang harus berawalan dan berpanjang sama.",
                                 "First and last serial must share prefix and width.")
    lo, hi = int(a["number"]), int(b["number"])
    if hi < lo:
        raise SerialRangeInvalid("Nomor akhir lebih kecil dari nomor awal.",
                                 "The last serial is before the first.")
    if hi - lo >= 200_000:
        raise SerialRangeInvalid("Satu batch paling banyak 200.000 blanko.",
                                 "A batch holds at most 200,000 blanks.")
    width = len(a["number"])
    return [f"{a['prefix']}{n:0{width}d}" for n in range(lo, hi + 1)]


@dataclass
class Blank:
    serial: str
    batch_id: str
    state: BlankState = BlankState.AVAILABLE
    card_id: str | None = None
    reason: SpoilReason | None = None
    reserved_for: str | None = None


@dataclass(frozen=True)
class Reconciliation:
    """The balance of the ledger (rekonsiliasi blanko)."""

    received: int
    used: int
    spoiled: int
    returned: int
    available: int
    reserved: int = 0  # of the available ones, taken into a printer right now

    @property
    def balanced(self) -> bool:
        return self.received == self.used + self.spoiled + self.returned + self.available


@dataclass
class BlankLedger:
    """All blanks of one office, keyed by serial."""

    blanks: dict[str, Blank] = field(default_factory=dict)
    events: list[DomainEvent] = field(default_factory=list)

    def receive_batch(self, *, batch_id: str, serials: list[str]) -> None:
        """Book a batch in: every serial new, all of them AVAILABLE, or nothing is booked."""
        seen: set[str] = set()
        for s in serials:
            if s in self.blanks or s in seen:
                raise DuplicateSerial(s)
            seen.add(s)
        for s in serials:
            self.blanks[s] = Blank(serial=s, batch_id=batch_id)
        self.events.append(DomainEvent("blanks.received", batch_id, {"count": len(serials)}))

    def _get(self, serial: str) -> Blank:
        blank = self.blanks.get(serial)
        if blank is None:
            raise UnknownSerial(serial)
        return blank

    def reserve(self, *, card_id: str, serial: str | None = None) -> str:
        """Take one available blank into the printer for `card_id` (the lowest serial unless named)."""
        if serial is None:
            free = [b for b in self.blanks.values()
                    if b.state is BlankState.AVAILABLE and b.reserved_for is None]
            if not free:
                raise NoBlankAvailable()
            blank = min(free, key=lambda b: b.serial)
        else:
            blank = self._get(serial)
            if blank.state is not BlankState.AVAILABLE or blank.reserved_for not in (None, card_id):
                raise BlankUnavailable(serial, blank.state, reserved_for=blank.reserved_for)
        blank.reserved_for = card_id
        return blank.serial

    def release(self, serial: str) -> None:
        """Put a reserved blank back untouched (the print was cancelled before it reached the card)."""
        self._get(serial).reserved_for = None

    def use(self, serial: str, *, card_id: str) -> None:
        """Bind one available blank to one printed card."""
        blank = self._get(serial)
        if blank.state is not BlankState.AVAILABLE or blank.reserved_for not in (None, card_id):
            raise BlankUnavailable(serial, blank.state, reserved_for=blank.reserved_for)
        blank.state, blank.card_id, blank.reserved_for = BlankState.USED, card_id, None
        self.events.append(DomainEvent("blank.used", serial, {"card_id": card_id}))

    def spoil(self, serial: str, *, reason: SpoilReason) -> None:
        """A blank ruined in the printer or found damaged: it leaves stock for the spoiled ledger."""
        blank = self._get(serial)
        if blank.state is not BlankState.AVAILABLE:
            raise BlankUnavailable(serial, blank.state)
        blank.state, blank.reason, blank.reserved_for = BlankState.SPOILED, SpoilReason(reason), None
        self.events.append(DomainEvent("blank.spoiled", serial, {"reason": blank.reason.value}))

    def spoil_used(self, serial: str, *, reason: SpoilReason) -> str:
        """A printed card found misprinted before hand-over: the blank is spoiled, the card freed."""
        blank = self._get(serial)
        if blank.state is not BlankState.USED:
            raise BlankUnavailable(serial, blank.state)
        card_id = blank.card_id or ""
        blank.state, blank.reason = BlankState.SPOILED, SpoilReason(reason)
        self.events.append(DomainEvent("blank.spoiled", serial, {"reason": blank.reason.value,
                                                                 "card_id": card_id}))
        return card_id

    def return_(self, serial: str) -> None:
        """Send an unused blank back to central (e.g. re-allocation to another regency)."""
        blank = self._get(serial)
        if blank.state is not BlankState.AVAILABLE or blank.reserved_for is not None:
            raise BlankUnavailable(serial, blank.state, reserved_for=blank.reserved_for)
        blank.state = BlankState.RETURNED
        self.events.append(DomainEvent("blank.returned", serial, {}))

    def reconcile(self) -> Reconciliation:
        counts = {s: 0 for s in BlankState}
        reserved = 0
        for b in self.blanks.values():
            counts[b.state] += 1
            reserved += b.state is BlankState.AVAILABLE and b.reserved_for is not None
        return Reconciliation(
            received=len(self.blanks), used=counts[BlankState.USED],
            spoiled=counts[BlankState.SPOILED], returned=counts[BlankState.RETURNED],
            available=counts[BlankState.AVAILABLE], reserved=reserved,
        )


def days_to_stockout(*, available: int, consumed: int, days: int) -> float | None:
    """Days until the stock on hand is gone at the rate of the last `days` days; None when idle."""
    if days <= 0 or consumed <= 0:
        return None
    return available / (consumed / days)


def urgent_reserve(*, share: float, day_start_stock: int) -> int:
    """Blanks kept back for urgent classes today: a share of the stock on hand when the day began."""
    return min(day_start_stock, math.ceil(share * day_start_stock))
