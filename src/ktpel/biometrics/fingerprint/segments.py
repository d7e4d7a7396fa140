"""What the two finger indexes' segment stores share: which neighbouring segments a compaction merges."""

from __future__ import annotations

from typing import Protocol, TypeVar


class _Sized(Protocol):
    @property
    def postings(self) -> int: ...


S = TypeVar("S", bound=_Sized)


def neighbour_groups(segments: list[S], *, cap: int) -> list[list[S]]:
    """Runs of neighbouring segments, each as long as its postings stay within cap (a segment already
    over it stands alone): what compact() merges into one segment each."""
    groups: list[list[S]] = []
    for seg in segments:
        if groups and sum(x.postings for x in groups[-1]) + seg.postings <= cap:
            groups[-1].append(seg)
        else:
            groups.append([seg])
    return groups
