"""How a national stock of blanks is split over regencies (pure: no database, no I/O).

Two passes, both by largest remainder so the plan is whole blanks that add up exactly:
1. urgent residents first: each regency's urgent backlog not covered by its stock on hand;
2. the rest so that every regency ends with the same share of its print-ready backlog covered
   (stock on hand + delivery) / backlog — water-filling, so a regency already holding stock gets less.
No regency gets more than it needs; whatever is left over stays at central as a reserve.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class RegencyNeed:
    code: str
    name: str
    backlog: int  # print-ready residents without a card
    urgent: int  # of those, in urgent classes
    on_hand: int  # blanks the regency already holds


@dataclass(frozen=True)
class Allocation:
    need: RegencyNeed
    urgent_part: int
    backlog_part: int

    @property
    def blanks(self) -> int:
        return self.urgent_part + self.backlog_part

    @property
    def cover(self) -> float:
        """Share of the backlog covered after this delivery (stock on hand + allocation)."""
        if self.need.backlog == 0:
            return 1.0
        return min(1.0, (self.need.on_hand + self.blanks) / self.need.backlog)


@dataclass(frozen=True)
class Plan:
    stock: int
    allocations: list[Allocation]

    @property
    def allocated(self) -> int:
        return sum(a.blanks for a in self.allocations)

    @property
    def kept_at_central(self) -> int:
        return self.stock - self.allocated


def _largest_remainder(amount: int, weights: dict[str, int]) -> dict[str, int]:
    """Split `amount` (≤ sum of weights) over keys in proportion to weights, never above a weight."""
    total = sum(weights.values())
    if amount <= 0 or total <= 0:
        return {k: 0 for k in weights}
    amount = min(amount, total)
    exact = {k: amount * w / total for k, w in weights.items()}
    out = {k: int(v) for k, v in exact.items()}
    left = amount - sum(out.values())
    # ties broken by code so the same input always gives the same plan
    for k in sorted(weights, key=lambda k: (-(exact[k] - out[k]), k))[:left]:
        out[k] += 1
    return out


def _level_cover(amount: int, needs: list[RegencyNeed], given: dict[str, int]) -> dict[str, int]:
    """Give `amount` so that (on_hand + given + extra) / backlog is as equal as whole blanks allow."""
    room = {n.code: max(0, n.backlog - n.on_hand - given[n.code]) for n in needs}
    amount = min(amount, sum(room.values()))
    if amount <= 0:
        return {n.code: 0 for n in needs}

    def extra(level: float) -> dict[str, float]:
        return {n.code: min(room[n.code], max(0.0, level * n.backlog - n.on_hand - given[n.code])) for n in needs}

    lo, hi = 0.0, 1.0
    for _ in range(60):  # bisection on the common cover level
        mid = (lo + hi) / 2
        if sum(extra(mid).values()) < amount:
            lo = mid
        else:
            hi = mid
    exact = extra(hi)
    out = {k: min(room[k], int(v)) for k, v in exact.items()}
    left = amount - sum(out.values())
    for k in sorted(exact, key=lambda k: (-(exact[k] - out[k]), k)):
        if left <= 0:
            break
        if out[k] < room[k]:
            out[k] += 1
            left -= 1
    return out


def allocate(*, stock: int, needs: list[RegencyNeed]) -> Plan:
    """Propose a split of `stock` blanks over the regencies in `needs`."""
    if stock < 0:
        raise ValueError("stock must not be negative")
    uncovered = {n.code: max(0, n.backlog - n.on_hand) for n in needs}
    urgent_uncovered = {n.code: min(uncovered[n.code], max(0, n.urgent - n.on_hand)) for n in needs}
    first = _largest_remainder(stock, urgent_uncovered)
    rest = stock - sum(first.values())
    second = _level_cover(rest, needs, first)
    allocations = [Allocation(need=n, urgent_part=first[n.code], backlog_part=second[n.code]) for n in needs]
    allocations.sort(key=lambda a: (-a.blanks, a.need.code))
    return Plan(stock=stock, allocations=allocations)


def with_urgent_estimate(needs: list[RegencyNeed], *, share: float) -> list[RegencyNeed]:
    """Where offices have not reported urgent counts, estimate them as a share of the backlog."""
    return [n if n.urgent else replace(n, urgent=round(n.backlog * share)) for n in needs]
