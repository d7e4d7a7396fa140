"""Central blank allocation (pure) and the SimPy policy simulator."""

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from ktpel.central.allocation.plan import RegencyNeed, allocate
from ktpel.domain.priority import parse_policy
from ktpel.office.printing.simulator import Scenario, percentile, simulate, summary_rows

DEFAULT = Path(__file__).resolve().parents[3] / "src" / "ktpel" / "office" / "printing" / "policies" / "default.yaml"
FIFO = """
name: FIFO
ageing_per_day: 1
urgent_reserve_share: 0
classes:
  health: {label_id: Kesehatan, weight: 0}
"""


def test_urgent_backlog_is_served_first_then_cover_is_levelled():
    needs = [RegencyNeed("18.01", "A", backlog=20_000, urgent=1_500, on_hand=6_000),
             RegencyNeed("18.02", "B", backlog=12_000, urgent=1_200, on_hand=500),
             RegencyNeed("18.03", "C", backlog=3_000, urgent=200, on_hand=3_500)]
    plan = allocate(stock=10_000, needs=needs)
    by = {a.need.code: a for a in plan.allocations}
    assert plan.allocated == 10_000
    assert by["18.03"].blanks == 0  # holds more than its backlog already
    assert by["18.02"].urgent_part == 700  # its urgent residents not covered by stock on hand
    assert by["18.01"].urgent_part == 0  # 6,000 on hand cover its 1,500 urgent
    assert by["18.01"].cover == pytest.approx(by["18.02"].cover, abs=0.001)


def test_stock_beyond_need_stays_at_central():
    plan = allocate(stock=5_000, needs=[RegencyNeed("18.01", "A", backlog=1_000, urgent=0, on_hand=200)])
    assert plan.allocations[0].blanks == 800 and plan.kept_at_central == 4_200


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 50_000), st.lists(st.tuples(st.integers(0, 20_000), st.integers(0, 3_000),
                                                  st.integers(0, 10_000)), min_size=1, max_size=12))
def test_allocation_is_whole_blanks_never_over_stock_or_need(stock, rows):
    needs = [RegencyNeed(f"{i:02d}", str(i), backlog=b, urgent=min(u, b), on_hand=h) for i, (b, u, h) in enumerate(rows)]
    plan = allocate(stock=stock, needs=needs)
    total_need = sum(max(0, n.backlog - n.on_hand) for n in needs)
    assert plan.allocated == min(stock, total_need)
    for a in plan.allocations:
        assert a.blanks >= 0 and a.blanks <= max(0, a.need.backlog - a.need.on_hand)


def test_simulator_priority_shortens_urgent_waits_on_the_same_arrivals():
    scenario = Scenario(days=60, blanks_per_week=250, prr_per_day=50, printer_per_day=120, seed=3)
    default = simulate(policy=parse_policy(DEFAULT.read_text()), scenario=scenario)
    fifo = simulate(policy=parse_policy(FIFO), scenario=scenario)
    assert len(default.residents) == len(fifo.residents) > 1000  # same arrivals for both policies
    d = {r[0]: r for r in summary_rows(default)}
    f = {r[0]: r for r in summary_rows(fifo)}
    assert d["health"][3] < f["health"][3]  # median wait of the health class
    assert d["all"][2] == f["all"][2] or abs(d["all"][2] - f["all"][2]) < 0.05 * f["all"][2]
    # blanks are conserved: nobody prints without one
    assert d["all"][2] <= default.blanks_received


def test_percentile():
    assert percentile([1, 2, 3, 4], 0.5) == 2.5 and percentile([5], 0.9) == 5
