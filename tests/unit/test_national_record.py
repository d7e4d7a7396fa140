import pytest
from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from ktpel.domain.errors import InvalidTransition
from ktpel.domain.national_record import LIVE_STATES, NationalRecord, NationalRecordState

N = NationalRecordState

# (start, action, arguments, end or None when refused): the lifecycle central's pipeline and cases follow
TABLE = [
    (N.RECEIVED, "mark_print_ready", {"card_id": "C-1"}, N.PRINT_READY),
    (N.RECEIVED, "send_to_adjudication", {"candidates": 2}, N.ADJUDICATION),
    (N.RECEIVED, "fail", {"reason": "blur"}, N.FAILED),
    (N.ADJUDICATION, "mark_duplicate", {"other_record_id": "r0"}, N.DUPLICATE),
    (N.ADJUDICATION, "mark_print_ready", {"card_id": "C-1"}, N.PRINT_READY),
    (N.DUPLICATE, "keep_after_resolution", {"case_id": "DG-1", "card_id": "C-2"}, N.PRINT_READY),
    (N.RECEIVED, "keep_after_resolution", {"case_id": "DG-1", "card_id": "C-2"}, N.PRINT_READY),
    (N.DUPLICATE, "revoke", {"case_id": "DG-1", "kept_record_id": "r0"}, N.REVOKED),
    (N.PRINT_READY, "revoke", {"case_id": "DG-1", "kept_record_id": "r0"}, N.REVOKED),
    (N.PRINT_READY, "mark_print_ready", {"card_id": "C-1"}, None),  # a replayed decision never signs twice
    (N.FAILED, "send_to_adjudication", {"candidates": 1}, None),
    (N.RECEIVED, "mark_duplicate", {"other_record_id": "r0"}, None),  # only a person decides "same"
    (N.REVOKED, "keep_after_resolution", {"case_id": "DG-1", "card_id": "C-2"}, None),
    (N.REVOKED, "revoke", {"case_id": "DG-2", "kept_record_id": "r9"}, None),
]


@pytest.mark.parametrize("start,action,kwargs,end", TABLE)
def test_transition_table(start, action, kwargs, end):
    r = NationalRecord(id="r1", state=start)
    if end is None:
        with pytest.raises(InvalidTransition):
            getattr(r, action)(**kwargs)
        assert r.state is start and r.events == []
    else:
        getattr(r, action)(**kwargs)
        assert r.state is end
        [event] = r.events
        assert event.name == f"national_record.{action}" and event.data["from"] == start.value
        assert event.data["to"] == end.value


def test_revoked_is_a_real_state_outside_the_live_ones():
    assert N("REVOKED") is N.REVOKED and not N.REVOKED.live and not N.FAILED.live
    assert set(LIVE_STATES) == {N.RECEIVED, N.PRINT_READY, N.ADJUDICATION, N.DUPLICATE}
    assert not NationalRecord(id="r").decided and NationalRecord(id="r", state=N.ADJUDICATION).decided


ACTIONS = {action: kwargs for _, action, kwargs, _ in TABLE}


class RecordMachine(RuleBasedStateMachine):
    """Any sequence of actions: legal ones move as the table says, illegal ones change nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.r = NationalRecord(id="r")
        self.expected = N.RECEIVED
        self.events = 0

    @rule(action=st.sampled_from(sorted(ACTIONS)))
    def act(self, action):
        sources, target = NationalRecord.TRANSITIONS[action]
        if self.expected in sources:
            getattr(self.r, action)(**ACTIONS[action])
            self.expected, self.events = target, self.events + 1
        else:
            with pytest.raises(InvalidTransition):
                getattr(self.r, action)(**ACTIONS[action])

    @invariant()
    def state_and_events_agree(self):
        assert self.r.state is self.expected and len(self.r.events) == self.events
        assert self.r.state is not N.REVOKED or not any(e.data["from"] == "REVOKED" for e in self.r.events)


TestRecordMachine = RecordMachine.TestCase
TestRecordMachine.settings = settings(max_examples=100, stateful_step_count=20, deadline=None)
