"""The blank ledger: every serial accounted for exactly once, and the books always balance."""

import pytest
from hypothesis import given, settings, strategies as st

from ktpel.domain.blanks import (
    BlankLedger, BlankState, BlankUnavailable, DuplicateSerial, NoBlankAvailable, SerialRangeInvalid,
    SpoilReason, UnknownSerial, days_to_stockout, serial_range, urgent_reserve,
)


def ledger_with(n: int = 5) -> BlankLedger:
    ledger = BlankLedger()
    ledger.receive_batch(batch_id="B1", serials=serial_range("LS26-000001", f"LS26-{n:06d}"))
    return ledger


def test_serial_range_keeps_prefix_and_width():
    assert serial_range("LS26-000098", "LS26-000101") == ["LS26-000098", "LS26-000099", "LS26-000100",
                                                          "LS26-000101"]


@pytest.mark.parametrize("first,last", [("LS26-0010", "LS26-0001"), ("A-0001", "B-0002"),
                                        ("LS26-001", "LS26-002"), ("X-0001", "X-00002")])
def test_bad_serial_ranges_are_refused(first, last):
    with pytest.raises(SerialRangeInvalid):
        serial_range(first, last)


def test_blank_cannot_be_used_twice():
    ledger = ledger_with()
    ledger.use("LS26-000001", card_id="C1")
    with pytest.raises(BlankUnavailable) as err:
        ledger.use("LS26-000001", card_id="C2")
    assert "terpakai" in err.value.message_id
    assert ledger.blanks["LS26-000001"].card_id == "C1"


def test_unknown_serial_is_refused():
    with pytest.raises(UnknownSerial):
        ledger_with().use("LS26-999999", card_id="C1")


def test_a_batch_with_a_known_serial_books_nothing():
    ledger = ledger_with(3)
    with pytest.raises(DuplicateSerial):
        ledger.receive_batch(batch_id="B2", serials=["LS26-000004", "LS26-000003"])
    assert len(ledger.blanks) == 3


def test_reserved_blank_is_not_given_to_another_card():
    ledger = ledger_with(1)
    assert ledger.reserve(card_id="C1") == "LS26-000001"
    with pytest.raises(NoBlankAvailable):
        ledger.reserve(card_id="C2")
    with pytest.raises(BlankUnavailable):
        ledger.use("LS26-000001", card_id="C2")
    ledger.use("LS26-000001", card_id="C1")
    assert ledger.reconcile().used == 1


def test_spoiled_printed_card_frees_its_card_and_keeps_the_balance():
    ledger = ledger_with(2)
    ledger.use("LS26-000001", card_id="C1")
    assert ledger.spoil_used("LS26-000001", reason=SpoilReason.MISPRINT) == "C1"
    r = ledger.reconcile()
    assert (r.used, r.spoiled, r.available, r.balanced) == (0, 1, 1, True)


def test_days_to_stockout_and_reserve():
    assert days_to_stockout(available=100, consumed=70, days=14) == pytest.approx(20.0)
    assert days_to_stockout(available=100, consumed=0, days=14) is None
    assert urgent_reserve(share=0.15, day_start_stock=100) == 15
    assert urgent_reserve(share=0.5, day_start_stock=1) == 1


ops = st.lists(st.tuples(st.sampled_from(["reserve", "release", "use", "spoil", "spoil_used", "return",
                                          "receive"]),
                         st.integers(0, 40), st.sampled_from(list(SpoilReason))), max_size=120)


@settings(max_examples=150, deadline=None)
@given(ops)
def test_ledger_always_balances(steps):
    """received = used + spoiled + returned + available after any sequence of operations, legal or not."""
    ledger = ledger_with(20)
    batches = 1
    for op, n, reason in steps:
        serial = f"LS26-{n:06d}"
        try:
            if op == "reserve":
                ledger.reserve(card_id=f"C{n}")
            elif op == "release":
                ledger.release(serial)
            elif op == "use":
                ledger.use(serial, card_id=f"C{n}")
            elif op == "spoil":
                ledger.spoil(serial, reason=reason)
            elif op == "spoil_used":
                ledger.spoil_used(serial, reason=reason)
            elif op == "return":
                ledger.return_(serial)
            else:
                batches += 1
                ledger.receive_batch(batch_id=f"B{batches}", serials=[f"LS26-{n:06d}", f"X-{batches:06d}"])
        except (BlankUnavailable, UnknownSerial, NoBlankAvailable, DuplicateSerial):
            pass
        r = ledger.reconcile()
        assert r.balanced, r
        assert r.reserved <= r.available
    # a serial never leaves a final state
    for b in ledger.blanks.values():
        if b.state is BlankState.USED:
            assert b.card_id is not None
        if b.state is BlankState.SPOILED:
            assert b.reason is not None
