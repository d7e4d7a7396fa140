"""Enrollment (perekaman) and card state machines, with the codes offices already know."""

from __future__ import annotations

from enum import Enum

from ktpel.domain.state_machine import StateMachine


class EnrollmentState(str, Enum):
    CAPTURED = "CAPTURED"  # rekam
    QUEUED = "QUEUED"  # in the outbox
    SENT = "SENT"  # SFE: sent for enrollment
    RECEIVED = "RECEIVED"  # central holds it durably
    PRINT_READY = "PRINT_READY"  # PRR
    ADJUDICATION = "ADJUDICATION"  # a person compares candidates
    DUPLICATE = "DUPLICATE"  # DUP: data ganda
    FAILED = "FAILED"  # EFAC: bad quality, re-record

    @property
    def office_code(self) -> str:
        """The short code officers use on screens and reports."""
        return _OFFICE_CODES[self]

    @property
    def label_id(self) -> str:
        return _LABELS_ID[self]


_OFFICE_CODES = {
    EnrollmentState.CAPTURED: "REKAM",
    EnrollmentState.QUEUED: "ANTRE",
    EnrollmentState.SENT: "SFE",
    EnrollmentState.RECEIVED: "TERIMA",
    EnrollmentState.PRINT_READY: "PRR",
    EnrollmentState.ADJUDICATION: "ADJ",
    EnrollmentState.DUPLICATE: "DUP",
    EnrollmentState.FAILED: "EFAC",
}
_LABELS_ID = {
    EnrollmentState.CAPTURED: "sudah rekam",
    EnrollmentState.QUEUED: "menunggu kirim",
    EnrollmentState.SENT: "terkirim ke pusat",
    EnrollmentState.RECEIVED: "diterima pusat",
    EnrollmentState.PRINT_READY: "siap cetak",
    EnrollmentState.ADJUDICATION: "diperiksa petugas pusat",
    EnrollmentState.DUPLICATE: "data ganda",
    EnrollmentState.FAILED: "gagal, rekam ulang",
}

_E = EnrollmentState


class Enrollment(StateMachine[EnrollmentState]):
    """One recording of a resident, from capture at the counter to central's decision."""

    ENTITY = "enrollment"
    STATE_TYPE = EnrollmentState
    TRANSITIONS = {
        "queue": (frozenset({_E.CAPTURED}), _E.QUEUED),
        "mark_sent": (frozenset({_E.QUEUED}), _E.SENT),
        "receive": (frozenset({_E.QUEUED, _E.SENT}), _E.RECEIVED),
        "mark_print_ready": (frozenset({_E.RECEIVED, _E.ADJUDICATION}), _E.PRINT_READY),
        "send_to_adjudication": (frozenset({_E.RECEIVED}), _E.ADJUDICATION),
        "mark_duplicate": (frozenset({_E.ADJUDICATION}), _E.DUPLICATE),
        "fail": (frozenset({_E.RECEIVED}), _E.FAILED),
        # data-ganda resolution: the record the resident keeps becomes PRR again
        "keep_after_resolution": (frozenset({_E.DUPLICATE}), _E.PRINT_READY),
    }

    def __init__(self, *, id: str, state: EnrollmentState = _E.CAPTURED) -> None:
        super().__init__(id=id, state=state)

    def queue(self, *, packet_id: str) -> None:
        """Written to the outbox in the same transaction as the capture."""
        self._apply("queue", packet_id=packet_id)

    def mark_sent(self, *, receipt_id: str) -> None:
        """Central signed a receipt for the packet (SFE)."""
        self._apply("mark_sent", receipt_id=receipt_id)

    def receive(self) -> None:
        self._apply("receive")

    def mark_print_ready(self, *, authorisation_id: str) -> None:
        self._apply("mark_print_ready", authorisation_id=authorisation_id)

    def send_to_adjudication(self, *, score: float) -> None:
        self._apply("send_to_adjudication", score=score)

    def mark_duplicate(self, *, other_enrollment_id: str) -> None:
        self._apply("mark_duplicate", other=other_enrollment_id)

    def fail(self, *, reason: str) -> None:
        self._apply("fail", reason=reason)

    def keep_after_resolution(self, *, case_id: str) -> None:
        self._apply("keep_after_resolution", case_id=case_id)


class CardState(str, Enum):
    PRINT_READY = "PRINT_READY"
    AUTHORISED = "AUTHORISED"
    PRINTED = "PRINTED"  # bound to a blank serial
    ISSUED = "ISSUED"  # handed to the resident
    SPOILED = "SPOILED"  # transient: the blank goes to the spoiled ledger, the card back to AUTHORISED
    REVOKED = "REVOKED"  # the other record of a resolved duplicate: card blocked

    @property
    def label_id(self) -> str:
        return {
            "PRINT_READY": "siap cetak",
            "AUTHORISED": "izin cetak diterima",
            "PRINTED": "sudah cetak",
            "ISSUED": "sudah diambil",
            "SPOILED": "cetak rusak",
            "REVOKED": "diblokir",
        }[self.value]


_C = CardState


class Card(StateMachine[CardState]):
    """The physical card of one print-ready enrollment."""

    ENTITY = "card"
    STATE_TYPE = CardState
    TRANSITIONS = {
        "authorise": (frozenset({_C.PRINT_READY}), _C.AUTHORISED),
        "print": (frozenset({_C.AUTHORISED}), _C.PRINTED),
        "spoil": (frozenset({_C.PRINTED}), _C.SPOILED),
        "reauthorise": (frozenset({_C.SPOILED}), _C.AUTHORISED),
        "issue": (frozenset({_C.PRINTED}), _C.ISSUED),
        "revoke": (frozenset({_C.PRINT_READY, _C.AUTHORISED, _C.PRINTED, _C.ISSUED}), _C.REVOKED),
    }

    def __init__(self, *, id: str, state: CardState = _C.PRINT_READY) -> None:
        super().__init__(id=id, state=state)
        self.blank_serial: str | None = None

    def authorise(self, *, authorisation_id: str) -> None:
        """Central's signed print authorisation is held by the office."""
        self._apply("authorise", authorisation_id=authorisation_id)

    def print(self, *, blank_serial: str) -> None:
        self._apply("print", blank_serial=blank_serial)
        self.blank_serial = blank_serial

    def spoil(self, *, reason: str) -> None:
        """A misprint: the blank is spoiled and the card may be printed again on another blank."""
        serial = self.blank_serial
        self._apply("spoil", blank_serial=serial, reason=reason)
        self._apply("reauthorise")
        self.blank_serial = None

    def issue(self, *, handed_over_by: str) -> None:
        self._apply("issue", handed_over_by=handed_over_by)

    def revoke(self, *, reason: str) -> None:
        self._apply("revoke", reason=reason)
