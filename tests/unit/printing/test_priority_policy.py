"""The priority policy: parsed with line numbers for every mistake, ordering fair and total."""

import datetime as dt
import time
from pathlib import Path

import pytest

from ktpel.domain.priority import Candidate, PolicyInvalid, parse_policy, rank

DEFAULT = Path(__file__).resolve().parents[3] / "src" / "ktpel" / "office" / "printing" / "policies" / "default.yaml"
TODAY = dt.date(2026, 11, 29)
NOON = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def policy():
    return parse_policy(DEFAULT.read_text(), source="default.yaml")


def cand(card_id: str, *classes: str, waited: int = 0, minute: int = 0, present: bool = True) -> Candidate:
    return Candidate(card_id=card_id, classes=classes, print_ready_on=TODAY - dt.timedelta(days=waited),
                     arrived_at=NOON + dt.timedelta(minutes=minute), present=present)


def test_default_policy_has_the_classes_the_office_needs(policy):
    assert {"health", "school", "work", "banking", "election", "elderly", "disability", "disaster",
            "new17"} <= set(policy.classes)
    assert policy.classes["health"].urgent and policy.classes["health"].proof_id
    assert 0 < policy.urgent_reserve_share < 1


def test_health_goes_before_a_long_wait_and_ageing_catches_up(policy):
    order = rank([cand("wait30", waited=30), cand("health", "health"), cand("school", "school", waited=5)],
                 policy=policy, today=TODAY)
    assert [r.candidate.card_id for r in order] == ["health", "school", "wait30"]
    # after 120 days anyone outranks a fresh urgent claim: nobody waits forever
    order = rank([cand("health", "health"), cand("wait120", waited=120)], policy=policy, today=TODAY)
    assert order[0].candidate.card_id == "wait120"


def test_ties_go_to_the_earlier_arrival(policy):
    order = rank([cand("late", minute=30), cand("early", minute=1)], policy=policy, today=TODAY)
    assert [r.candidate.card_id for r in order] == ["early", "late"]


def test_reserve_keeps_the_last_blanks_for_urgent_classes(policy):
    order = rank([cand("bank", "banking", waited=3), cand("health", "health")], policy=policy, today=TODAY,
                 available=2, reserve=2)
    by_id = {r.candidate.card_id: r for r in order}
    assert by_id["health"].printable
    assert not by_id["bank"].printable and "dicadangkan" in by_id["bank"].why_not_id


def test_absent_residents_are_not_printable(policy):
    [r] = rank([cand("away", present=False)], policy=policy, today=TODAY)
    assert not r.printable and r.why_not_en == "not present at the counter"


def test_elderly_and_new_17_are_automatic(policy):
    assert policy.automatic_classes(birth_date=dt.date(1960, 1, 1), today=TODAY) == ["elderly"]
    assert policy.automatic_classes(birth_date=dt.date(2009, 6, 1), today=TODAY) == ["new17"]
    assert policy.automatic_classes(birth_date=dt.date(2009, 12, 1), today=TODAY) == []


@pytest.mark.parametrize("text,line,fragment", [
    ("name: x\nageing_per_day: 1\nclasses:\n  a:\n    label_id: A\n    weight: tinggi\n", 6, "number"),
    ("name: x\nageing_per_day: 1\nturbo: 2\nclasses:\n  a: {label_id: A, weight: 1}\n", 3, "unknown key"),
    ("name: [x\nageing_per_day: 1\n", 2, "broken YAML"),
    ("name: x\nageing_per_day: 1\nclasses:\n  a:\n    label_id: A\n    weight: 1\n    urgent: ya\n", 7,
     "true or false"),
    ("name: x\nageing_per_day: 1\nurgent_reserve_share: 1.5\nclasses:\n  a: {label_id: A, weight: 1}\n", 3,
     "between"),
    ("name: x\nageing_per_day: 1\nclasses:\n  a:\n    weight: 1\n", 4, "'label_id' is required"),
    ("- just\n- a list\n", 1, "mapping"),
])
def test_malformed_policy_names_the_line(text, line, fragment):
    with pytest.raises(PolicyInvalid) as err:
        parse_policy(text, source="kebijakan.yaml")
    assert err.value.line == line
    assert fragment in err.value.message_en
    assert f"kebijakan.yaml, baris {line}" in err.value.message_id


def test_ordering_twenty_thousand_is_fast(policy):
    import random

    rng = random.Random(7)
    codes = list(policy.classes) + [None] * 20
    cands = [cand(f"C{i}", *([c] if (c := rng.choice(codes)) else []), waited=rng.randrange(200),
                  minute=rng.randrange(600)) for i in range(20_000)]
    rank(cands, policy=policy, today=TODAY)
    t = time.process_time()  # CPU time: a busy machine (other jobs on the cores) does not inflate it
    order = rank(cands, policy=policy, today=TODAY, available=500, reserve=75)
    elapsed = time.process_time() - t
    scores = [r.score for r in order]
    assert scores == sorted(scores, reverse=True)
    assert elapsed < 1.0  # the bench holds the 50 ms goal; here we only guard against a blow-up on a busy box
