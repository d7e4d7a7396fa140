"""The 2020 circular's priority preset: it parses, keeps the circular's order, and in the simulator serves
first-time KTP-El before lost/damaged cards on the very same arrivals as the default policy."""

from pathlib import Path

from ktpel.domain.priority import parse_policy
from ktpel.office.printing.simulator import Scenario, simulate, summary_rows

POLICIES = Path(__file__).resolve().parents[3] / "src" / "ktpel" / "office" / "printing" / "policies"


def load(name):
    return parse_policy((POLICIES / f"{name}.yaml").read_text(encoding="utf-8"), source=name)


def test_preset_order_is_the_circulars():
    policy = load("se-dirjen-2020")
    order = [c.code for c in sorted(policy.classes.values(), key=lambda c: -c.weight)]
    assert order == ["first_time", "disaster", "suket_prr", "lost_damaged"]
    assert policy.is_urgent(["disaster"]) and not policy.is_urgent(["first_time"])


def test_simulator_compares_it_with_the_default_on_the_same_arrivals():
    scenario = Scenario(days=90, blanks_per_week=300, outages_per_year=0, seed=3)
    circular, default = simulate(policy=load("se-dirjen-2020"), scenario=scenario), \
        simulate(policy=load("default"), scenario=scenario)
    assert len(circular.residents) == len(default.residents)
    rows = {r[0]: r for r in summary_rows(circular)}
    assert rows["first_time"][3] < rows["lost_damaged"][3]  # p50 wait
    assert rows["first_time"][4] < rows["lost_damaged"][4]  # p90 wait
    assert "first_time" not in {r[0] for r in summary_rows(default)}  # the default ignores the claim
