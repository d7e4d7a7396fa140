"""Suket (surat keterangan pengganti KTP-El): the temporary certificate an office issues when no card can be
printed now. Pure model: its states, validity and the office policy that decides whether it may be issued."""

from __future__ import annotations

import datetime as dt
from enum import Enum

from ktpel.domain.errors import KtpelError
from ktpel.domain.state_machine import StateMachine

DEFAULT_VALID_MONTHS = 6


class SuketState(str, Enum):
    ACTIVE = "ACTIVE"  # in the resident's hands and valid until `valid_until`
    ENDED = "ENDED"  # the card was printed: the Suket is no longer needed
    REVOKED = "REVOKED"  # withdrawn by the office (wrong person, data ganda, misuse)

    @property
    def label_id(self) -> str:
        return {"ACTIVE": "berlaku", "ENDED": "selesai (KTP-El dicetak)", "REVOKED": "dicabut"}[self.value]


class SuketPolicyMode(str, Enum):
    """What the office head decided: a Suket may be issued, only for listed reasons, or not at all."""

    ALLOWED = "ALLOWED"
    LISTED = "LISTED"
    BANNED = "BANNED"

    @property
    def label_id(self) -> str:
        return {"ALLOWED": "diizinkan", "LISTED": "hanya untuk alasan tertentu", "BANNED": "dilarang"}[self.value]

    @property
    def label_en(self) -> str:
        return {"ALLOWED": "allowed", "LISTED": "only for listed reasons", "BANNED": "banned"}[self.value]


# why the card cannot be printed now (what an officer picks at the counter)
REASONS: dict[str, tuple[str, str]] = {
    "blanko_habis": ("blanko habis", "no blank cards in stock"),
    "jaringan_putus": ("jaringan ke pusat putus", "no network to the data center"),
    "menunggu_pusat": ("data masih diperiksa pusat (SFE)", "record still being checked centrally (SFE)"),
    "data_ganda": ("data ganda belum selesai (DUP)", "duplicate record not yet resolved (DUP)"),
    "rekam_ulang": ("perlu rekam ulang (EFAC)", "must be re-recorded (EFAC)"),
    "printer_rusak": ("printer kartu rusak", "card printer out of order"),
}

# status code printed in the corner of the Suket, from the enrollment state
_CODES = {
    "CAPTURED": "SFE", "QUEUED": "SFE", "SENT": "SFE", "RECEIVED": "SFE", "ADJUDICATION": "SFE",
    "PRINT_READY": "PRR", "DUPLICATE": "DUP", "FAILED": "EFAC",
}


class SuketRefused(KtpelError):
    code = "suket_refused"
    http_status = 409


def status_code_for(enrollment_state: str | None) -> str:
    """SFE / PRR / DUP / EFAC for the resident's latest recording; a resident never recorded gets no Suket."""
    if enrollment_state is None or enrollment_state not in _CODES:
        raise SuketRefused("Penduduk belum melakukan perekaman KTP-El: Suket tidak dapat diterbitkan.",
                           "The resident has not been recorded: no Suket can be issued.", code="suket_not_recorded")
    return _CODES[enrollment_state]


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` plus whole months, clamped to the month's last day (31 Aug + 6 months = 28/29 Feb)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


def check_policy(*, mode: SuketPolicyMode, listed: frozenset[str] | set[str], reason: str) -> None:
    """Raise SuketRefused unless the office policy lets a Suket be issued for `reason`."""
    if reason not in REASONS:
        raise SuketRefused(f"Alasan '{reason}' tidak dikenal.", f"Unknown reason '{reason}'.", code="suket_reason")
    if mode is SuketPolicyMode.BANNED:
        raise SuketRefused("Kebijakan kantor: penerbitan Suket dilarang.",
                           "Office policy: Suket issuance is banned.", code="suket_banned")
    if mode is SuketPolicyMode.LISTED and reason not in listed:
        raise SuketRefused(f"Kebijakan kantor: Suket hanya untuk alasan tertentu, bukan '{REASONS[reason][0]}'.",
                           f"Office policy: a Suket only for listed reasons, not '{REASONS[reason][1]}'.",
                           code="suket_reason_not_listed")


_S = SuketState


class Suket(StateMachine[SuketState]):
    """One certificate: ACTIVE until revoked or ended by the printed card; expiry is by date, not by state."""

    ENTITY = "suket"
    TRANSITIONS = {
        "renew": (frozenset({_S.ACTIVE}), _S.ACTIVE),
        "revoke": (frozenset({_S.ACTIVE}), _S.REVOKED),
        "end": (frozenset({_S.ACTIVE}), _S.ENDED),
    }

    def __init__(self, *, id: str, state: SuketState = _S.ACTIVE, valid_until: dt.date) -> None:
        super().__init__(id=id, state=state)
        self.valid_until = valid_until

    def expired(self, *, today: dt.date) -> bool:
        return today > self.valid_until

    def effective(self, *, today: dt.date) -> str:
        """What a verifier says: ACTIVE, EXPIRED, ENDED or REVOKED."""
        if self.state is _S.ACTIVE and self.expired(today=today):
            return "EXPIRED"
        return self.state.value

    def renew(self, *, today: dt.date, months: int) -> dt.date:
        """Another `months` from today; a revoked, ended or expired Suket is never renewed (issue a new one)."""
        if self.state is not _S.ACTIVE:
            raise SuketRefused(f"Suket {self.id} sudah {self.state.label_id}: tidak dapat diperpanjang.",
                               f"Suket {self.id} is {self.state.value}: it cannot be renewed.",
                               code="suket_not_active")
        if self.expired(today=today):
            raise SuketRefused(f"Suket {self.id} sudah kedaluwarsa ({self.valid_until:%d-%m-%Y}): terbitkan Suket baru.",
                               f"Suket {self.id} expired on {self.valid_until}: issue a new one.",
                               code="suket_expired")
        before = self.valid_until
        self.valid_until = add_months(today, months)
        self._apply("renew", valid_from=before.isoformat(), valid_until=self.valid_until.isoformat())
        return self.valid_until

    def revoke(self, *, reason: str) -> None:
        if self.state is not _S.ACTIVE:
            raise SuketRefused(f"Suket {self.id} sudah {self.state.label_id}.", f"Suket {self.id} is {self.state.value}.",
                               code="suket_not_active")
        self._apply("revoke", reason=reason)

    def end(self, *, card_id: str) -> None:
        """The card was printed."""
        self._apply("end", card_id=card_id)
