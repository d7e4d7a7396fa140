import pytest
from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from ktpel.domain.enrollment import Card, CardState, Enrollment, EnrollmentState
from ktpel.domain.errors import InvalidTransition

E = EnrollmentState


def test_happy_path_of_an_enrollment_emits_one_event_per_step():
    e = Enrollment(id="e1")
    e.queue(packet_id="p1")
    e.mark_sent(receipt_id="r1")
    e.receive()
    e.mark_print_ready(authorisation_id="a1")
    assert e.state is E.PRINT_READY
    assert [ev.name for ev in e.events] == [
        "enrollment.queue", "enrollment.mark_sent", "enrollment.receive", "enrollment.mark_print_ready",
    ]
    assert e.events[-1].data == {"from": "RECEIVED", "to": "PRINT_READY", "authorisation_id": "a1"}


def test_enrollment_cannot_skip_central():
    e = Enrollment(id="e1")
    with pytest.raises(InvalidTransition) as info:
        e.mark_print_ready(authorisation_id="a1")
    assert info.value.current == "CAPTURED"
    assert e.state is E.CAPTURED and e.events == []


def test_duplicate_goes_through_adjudication_and_the_kept_record_becomes_prr():
    e = Enrollment(id="e1", state=E.RECEIVED)
    e.send_to_adjudication(score=0.97)
    e.mark_duplicate(other_enrollment_id="e0")
    assert e.state.office_code == "DUP"
    e.keep_after_resolution(case_id="c1")
    assert e.state is E.PRINT_READY


def test_spoiled_card_returns_to_authorised_without_its_blank():
    c = Card(id="c1")
    c.authorise(authorisation_id="a1")
    c.print(blank_serial="B-0001")
    c.spoil(reason="jam")
    assert c.state is CardState.AUTHORISED and c.blank_serial is None
    assert [ev.name for ev in c.events][-2:] == ["card.spoil", "card.reauthorise"]
    c.print(blank_serial="B-0002")
    c.issue(handed_over_by="operator1")
    assert c.state is CardState.ISSUED
    with pytest.raises(InvalidTransition):
        c.print(blank_serial="B-0003")


ACTIONS = {
    "queue": {"packet_id": "p"}, "mark_sent": {"receipt_id": "r"}, "receive": {},
    "mark_print_ready": {"authorisation_id": "a"}, "send_to_adjudication": {"score": 0.9},
    "mark_duplicate": {"other_enrollment_id": "x"}, "fail": {"reason": "blur"},
    "keep_after_resolution": {"case_id": "c"},
}


class EnrollmentMachine(RuleBasedStateMachine):
    """Any sequence of actions: legal ones move exactly as the table says, illegal ones change nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.e = Enrollment(id="e")
        self.expected = E.CAPTURED
        self.events = 0

    @rule(action=st.sampled_from(sorted(ACTIONS)))
    def act(self, action):
        sources, target = Enrollment.TRANSITIONS[action]
        if self.expected in sources:
            getattr(self.e, action)(**ACTIONS[action])
            self.expected = target
            self.events += 1
        else:
            with pytest.raises(InvalidTransition):
                getattr(self.e, action)(**ACTIONS[action])

    @invariant()
    def state_and_events_agree(self):
        assert self.e.state is self.expected
        assert len(self.e.events) == self.events
        if self.e.events:
            assert self.e.events[-1].data["to"] == self.e.state.value


CARD_ACTIONS = {
    "authorise": {"authorisation_id": "a"}, "print": {"blank_serial": "S"}, "spoil": {"reason": "jam"},
    "issue": {"handed_over_by": "op"}, "revoke": {"reason": "dup"},
}


class CardMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.c = Card(id="c")
        self.expected = CardState.PRINT_READY

    @rule(action=st.sampled_from(sorted(CARD_ACTIONS)))
    def act(self, action):
        sources, target = Card.TRANSITIONS[action]
        if self.expected in sources:
            getattr(self.c, action)(**CARD_ACTIONS[action])
            self.expected = CardState.AUTHORISED if action == "spoil" else target
        else:
            with pytest.raises(InvalidTransition):
                getattr(self.c, action)(**CARD_ACTIONS[action])

    @invariant()
    def printed_cards_hold_a_blank(self):
        assert self.c.state is self.expected
        assert (self.c.blank_serial is not None) == (self.c.state in (CardState.PRINTED, CardState.ISSUED)) \
            or self.c.state is CardState.REVOKED


TestEnrollmentMachine = EnrollmentMachine.TestCase
TestEnrollmentMachine.settings = settings(max_examples=100, stateful_step_count=20, deadline=None)
TestCardMachine = CardMachine.TestCase
TestCardMachine.settings = settings(max_examples=100, stateful_step_count=20, deadline=None)
