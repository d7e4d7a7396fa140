"""The Suket state machine, validity arithmetic and office policy (pure domain)."""

import datetime as dt

import pytest

from ktpel.domain.suket import (
    Suket, SuketPolicyMode, SuketRefused, SuketState, add_months, check_policy, status_code_for,
)


def test_add_months_clamps_to_month_end():
    assert add_months(dt.date(2026, 8, 31), 6) == dt.date(2027, 2, 28)
    assert add_months(dt.date(2027, 8, 31), 6) == dt.date(2028, 2, 29)
    assert add_months(dt.date(2026, 12, 3), 6) == dt.date(2027, 6, 3)


def test_status_codes_from_enrollment_states():
    assert [status_code_for(s) for s in ("QUEUED", "SENT", "PRINT_READY", "DUPLICATE", "FAILED")] == \
        ["SFE", "SFE", "PRR", "DUP", "EFAC"]
    with pytest.raises(SuketRefused):
        status_code_for(None)


def test_renew_revoke_end_and_expiry():
    s = Suket(id="S1", valid_until=dt.date(2027, 1, 31))
    assert s.effective(today=dt.date(2027, 1, 31)) == "ACTIVE"
    assert s.effective(today=dt.date(2027, 2, 1)) == "EXPIRED"
    assert s.renew(today=dt.date(2027, 1, 10), months=6) == dt.date(2027, 7, 10)
    with pytest.raises(SuketRefused) as exc:
        s.renew(today=dt.date(2027, 8, 1), months=6)
    assert exc.value.code == "suket_expired"
    s.revoke(reason="x")
    assert s.state is SuketState.REVOKED and [e.name for e in s.events] == ["suket.renew", "suket.revoke"]
    with pytest.raises(SuketRefused):
        s.renew(today=dt.date(2027, 1, 11), months=6)
    ended = Suket(id="S2", valid_until=dt.date(2027, 1, 31))
    ended.end(card_id="C1")
    assert ended.effective(today=dt.date(2030, 1, 1)) == "ENDED"


def test_policy():
    check_policy(mode=SuketPolicyMode.ALLOWED, listed=set(), reason="blanko_habis")
    check_policy(mode=SuketPolicyMode.LISTED, listed={"blanko_habis"}, reason="blanko_habis")
    for mode, listed, reason, code in ((SuketPolicyMode.BANNED, set(), "blanko_habis", "suket_banned"),
                                       (SuketPolicyMode.LISTED, {"jaringan_putus"}, "blanko_habis",
                                        "suket_reason_not_listed"),
                                       (SuketPolicyMode.ALLOWED, set(), "nope", "suket_reason")):
        with pytest.raises(SuketRefused) as exc:
            check_policy(mode=mode, listed=listed, reason=reason)
        assert exc.value.code == code
