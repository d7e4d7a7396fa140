"""The fingers the national search finds a person by, and the fewest minutiae a capture of one needs.

The national ABIS indexes the thumbs (its triangle index holds them; docs/abis-sizing.md, runs N and O):
a thumb captured with few minutiae is what lets a duplicate slip through at national scale. The office's
counter asks for such a thumb again (office.enrollment.policy); central lists the records enrolled before
that rule whose thumb falls short, so that offices can call those residents back (central.abis.recall).
"""

from __future__ import annotations

IDENTIFYING_FINGERS = (1, 6)  # ISO/IEC 19794-4: right and left thumb
IDENTIFYING_MIN_MINUTIAE = 15


def short_for_search(*, position: int, minutiae: int) -> bool:
    """A capture of an identifying finger with too few minutiae for the national search."""
    return position in IDENTIFYING_FINGERS and minutiae < IDENTIFYING_MIN_MINUTIAE


def short_of(minutiae_by_position: dict[int, int]) -> dict[int, int]:
    """The identifying fingers of one recording short for the national search, with their minutiae (a
    finger declared missing has no count and is not short: there is nothing to capture again)."""
    return {p: n for p, n in minutiae_by_position.items() if short_for_search(position=p, minutiae=n)}
