"""Policy simulator (SimPy): replay a year of one office to compare priority policies and blank supply.

Model, in days: residents become print-ready (PRR) at a daily rate after a recording-to-PRR delay;
central outages stop new PRRs (the office still prints authorisations it holds); each print-ready
resident comes to the counter some days after the notice; blanks arrive weekly; on each working day
the office prints up to its printer capacity, in the policy's order, keeping the urgent reserve.
The result is the wait from PRR to printed card, by class, for each policy on the same random draws.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import math
import random
from dataclasses import dataclass, field

import simpy

from ktpel.domain.blanks import urgent_reserve
from ktpel.domain.priority import Candidate, Policy, rank

# share of print-ready residents who claim (and prove) each class; the rest have none
DEFAULT_MIX = {"health": 0.03, "disaster": 0.005, "disability": 0.01, "election": 0.04, "school": 0.06,
               "work": 0.07, "banking": 0.04,
               # the 2020 circular's classes (policies/se-dirjen-2020.yaml); a policy without them ignores them
               "first_time": 0.45, "suket_prr": 0.08, "lost_damaged": 0.15}
# share of print-ready residents the automatic classes apply to (by age)
DEFAULT_AGE = {"age_60_plus": 0.09, "age_17": 0.12}
EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class Scenario:
    days: int = 365
    blanks_per_week: int = 400
    initial_stock: int = 500
    prr_per_day: float = 80.0
    printer_per_day: int = 250
    recording_to_prr_days: float = 3.0  # median of a lognormal (σ 0.5)
    counter_delay_days: float = 4.0  # mean wait between the notice and coming to the counter
    outages_per_year: float = 6.0
    outage_days: float = 3.0  # mean length
    delivery_jitter_days: int = 2
    seed: int = 1
    mix: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))


@dataclass
class Resident:
    id: int
    classes: tuple[str, ...]
    prr_day: float
    present_day: float | None = None
    printed_day: float | None = None


@dataclass
class Result:
    policy: Policy
    residents: list[Resident]
    days: int
    blanks_received: int
    stockout_days: int
    outage_days: float

    def waits_by_class(self) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        for r in self.residents:
            if r.printed_day is None:
                continue
            wait = r.printed_day - r.prr_day
            for c in (r.classes or ("none",)):
                out.setdefault(c, []).append(wait)
            out.setdefault("all", []).append(wait)
        return out

    def waiting_at_end(self) -> int:
        return sum(1 for r in self.residents if r.printed_day is None)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def _draw_tags(rng: random.Random, *, mix: dict[str, float]) -> tuple[str, ...]:
    """What is true of a resident (claims and age), drawn independently of any policy."""
    tags = [c for c, p in sorted(mix.items()) if rng.random() < p]
    tags += [t for t, p in sorted(DEFAULT_AGE.items()) if rng.random() < p]
    return tuple(tags)


def _classes_under(policy: Policy, tags: tuple[str, ...]) -> tuple[str, ...]:
    """The classes a policy recognises for these tags (a policy without a class ignores the claim)."""
    return tuple(c.code for c in policy.classes.values() if c.code in tags or (c.automatic and c.automatic in tags))


def simulate(*, policy: Policy, scenario: Scenario) -> Result:
    """Run one policy over the scenario; the same seed gives the same arrivals for every policy."""
    # separate streams so a policy's choices never change who arrives when
    arrivals_rng = random.Random(scenario.seed)
    outage_rng = random.Random(scenario.seed + 1)
    delivery_rng = random.Random(scenario.seed + 2)
    env = simpy.Environment()
    counter_ids = itertools.count()
    residents: list[Resident] = []
    state = {"stock": scenario.initial_stock, "central_up": True, "received": scenario.initial_stock,
             "stockout_days": 0, "outage_days": 0.0, "first_open": 0}
    pending_prr: list[tuple[float, int, tuple[str, ...], float]] = []  # heap: (PRR due, n, classes, delay)

    def recordings():
        while env.now < scenario.days:
            n = _poisson(arrivals_rng, scenario.prr_per_day)
            for _ in range(n):
                delay = arrivals_rng.lognormvariate(math.log(scenario.recording_to_prr_days), 0.5)
                counter = arrivals_rng.expovariate(1 / scenario.counter_delay_days)
                classes = _classes_under(policy, _draw_tags(arrivals_rng, mix=scenario.mix))
                heapq.heappush(pending_prr, (env.now + delay, next(counter_ids), classes, counter))
            yield env.timeout(1)

    def central():
        """Turns recordings into PRR when due, except while central is down."""
        while True:
            while state["central_up"] and pending_prr and pending_prr[0][0] <= env.now:
                _, _, classes, delay = heapq.heappop(pending_prr)
                residents.append(Resident(id=len(residents), classes=classes, prr_day=env.now,
                                          present_day=env.now + delay))
            yield env.timeout(0.25)

    def outages():
        rate = scenario.outages_per_year / 365
        while True:
            yield env.timeout(outage_rng.expovariate(rate) if rate > 0 else scenario.days + 1)
            length = outage_rng.expovariate(1 / scenario.outage_days)
            state["central_up"] = False
            state["outage_days"] += length
            yield env.timeout(length)
            state["central_up"] = True

    def deliveries():
        while True:
            yield env.timeout(7 + delivery_rng.randint(-scenario.delivery_jitter_days, scenario.delivery_jitter_days))
            state["stock"] += scenario.blanks_per_week
            state["received"] += scenario.blanks_per_week

    def office():
        yield env.timeout(0.5)  # mid-day
        while True:
            day = int(env.now)
            if (EPOCH + dt.timedelta(days=day)).weekday() < 5:
                _print_day(day)
            yield env.timeout(1)

    def _print_day(day: int) -> None:
        today = (EPOCH + dt.timedelta(days=day)).date()
        waiting = [r for r in residents[state["first_open"]:] if r.printed_day is None and r.present_day is not None
                   and r.present_day <= env.now]
        while state["first_open"] < len(residents) and residents[state["first_open"]].printed_day is not None:
            state["first_open"] += 1
        if not waiting:
            return
        if state["stock"] <= 0:
            state["stockout_days"] += 1
            return
        reserve = urgent_reserve(share=policy.urgent_reserve_share, day_start_stock=state["stock"])
        by_id = {r.id: r for r in waiting}
        order = rank([Candidate(card_id=str(r.id), classes=r.classes,
                                print_ready_on=(EPOCH + dt.timedelta(days=r.prr_day)).date(),
                                arrived_at=EPOCH + dt.timedelta(days=r.present_day)) for r in waiting],
                     policy=policy, today=today)
        printed = 0
        for ranked in order:
            if printed >= scenario.printer_per_day or state["stock"] <= 0:
                break
            if not ranked.urgent and state["stock"] <= reserve:
                continue
            by_id[int(ranked.candidate.card_id)].printed_day = env.now
            state["stock"] -= 1
            printed += 1

    for proc in (recordings(), central(), outages(), deliveries(), office()):
        env.process(proc)
    env.run(until=scenario.days)
    return Result(policy=policy, residents=residents, days=scenario.days, blanks_received=state["received"],
                  stockout_days=state["stockout_days"], outage_days=round(state["outage_days"], 1))


def _poisson(rng: random.Random, lam: float) -> int:
    if lam > 50:  # normal approximation is plenty for daily arrival counts
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def summary_rows(result: Result) -> list[tuple[str, str, int, float, float, float]]:
    """(class code, label, printed, p50, p90, p99) rows, `all` first."""
    waits = result.waits_by_class()
    labels = {c.code: c.label_id for c in result.policy.classes.values()} | {"none": "Tanpa kelas", "all": "Semua"}
    order = ["all"] + sorted((c for c in waits if c != "all"),
                             key=lambda c: -result.policy.classes[c].weight if c in result.policy.classes else 0)
    return [(c, labels.get(c, c), len(waits[c]), percentile(waits[c], 0.5), percentile(waits[c], 0.9),
             percentile(waits[c], 0.99)) for c in order]


def chart(results: list[Result], path, *, title: str) -> None:  # noqa: ANN001
    """p50 and p90 wait by class for each policy, side by side (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    classes: list[str] = []
    for res in results:
        for row in summary_rows(res):
            if row[0] not in classes:
                classes.append(row[0])
    fig, ax = plt.subplots(figsize=(max(7, 0.9 * len(classes) + 2), 4.5), dpi=110)
    width = 0.8 / max(1, len(results))
    for i, res in enumerate(results):
        rows = {r[0]: r for r in summary_rows(res)}
        xs = [j + i * width for j in range(len(classes))]
        p50 = [rows[c][3] if c in rows else 0 for c in classes]
        p90 = [rows[c][4] if c in rows else 0 for c in classes]
        ax.bar(xs, p90, width=width * 0.9, alpha=0.35, label=f"{res.policy.name} p90")
        ax.bar(xs, p50, width=width * 0.9, label=f"{res.policy.name} p50")
    ax.set_xticks([j + width * (len(results) - 1) / 2 for j in range(len(classes))], classes, rotation=30,
                  ha="right", fontsize=8)
    ax.set_ylabel("hari menunggu (PRR → cetak) / days waiting")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
