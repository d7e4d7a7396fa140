"""Central's national record: one recording as the data center holds it, from receipt to its decision.

RECEIVED → PRINT_READY (PRR) / ADJUDICATION / FAILED (EFAC); ADJUDICATION → DUPLICATE (data ganda) or PRR;
a data-ganda resolution keeps one record (PRR) and REVOKES the other (its NIK retired, its card blocked).
"""

from __future__ import annotations

from enum import Enum

from ktpel.domain.state_machine import StateMachine


class NationalRecordState(str, Enum):
    RECEIVED = "RECEIVED"  # stored by the validate stage, not decided yet
    PRINT_READY = "PRINT_READY"  # PRR: a print authorisation was issued
    ADJUDICATION = "ADJUDICATION"  # a person compares it with candidates
    DUPLICATE = "DUPLICATE"  # data ganda: the resident chooses the record that stays
    FAILED = "FAILED"  # EFAC: unusable (quality, retired NIK); the resident records again
    REVOKED = "REVOKED"  # the other record of a resolved data-ganda case

    @property
    def live(self) -> bool:
        """A record that may still become (or is) the resident's card: what dedup and cases look at."""
        return self in LIVE_STATES


_N = NationalRecordState
LIVE_STATES = (_N.RECEIVED, _N.PRINT_READY, _N.ADJUDICATION, _N.DUPLICATE)


class NationalRecord(StateMachine[NationalRecordState]):
    """The data center's decision on one recording."""

    ENTITY = "national_record"
    STATE_TYPE = NationalRecordState
    TRANSITIONS = {
        "mark_print_ready": (frozenset({_N.RECEIVED, _N.ADJUDICATION}), _N.PRINT_READY),
        "send_to_adjudication": (frozenset({_N.RECEIVED}), _N.ADJUDICATION),
        "mark_duplicate": (frozenset({_N.ADJUDICATION}), _N.DUPLICATE),
        "fail": (frozenset({_N.RECEIVED}), _N.FAILED),
        # data-ganda resolution: the kept record is PRR (it may still be undecided when the resident chooses)
        "keep_after_resolution": (frozenset({_N.DUPLICATE, _N.ADJUDICATION, _N.RECEIVED}), _N.PRINT_READY),
        "revoke": (frozenset({_N.RECEIVED, _N.PRINT_READY, _N.ADJUDICATION, _N.DUPLICATE, _N.FAILED}), _N.REVOKED),
    }

    def __init__(self, *, id: str, state: NationalRecordState = _N.RECEIVED) -> None:
        super().__init__(id=id, state=state)

    @property
    def decided(self) -> bool:
        """The pipeline's decide stage already ran for it (a replayed job must not decide twice)."""
        return self.state is not _N.RECEIVED

    def mark_print_ready(self, *, card_id: str) -> None:
        self._apply("mark_print_ready", card_id=card_id)

    def send_to_adjudication(self, *, candidates: int) -> None:
        self._apply("send_to_adjudication", candidates=candidates)

    def mark_duplicate(self, *, other_record_id: str) -> None:
        self._apply("mark_duplicate", other=other_record_id)

    def fail(self, *, reason: str) -> None:
        self._apply("fail", reason=reason)

    def keep_after_resolution(self, *, case_id: str, card_id: str) -> None:
        self._apply("keep_after_resolution", case_id=case_id, card_id=card_id)

    def revoke(self, *, case_id: str, kept_record_id: str) -> None:
        self._apply("revoke", case_id=case_id, kept=kept_record_id)
