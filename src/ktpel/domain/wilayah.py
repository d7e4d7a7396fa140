"""Kemendagri region codes (kode wilayah): province → regency → district → village."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Iterable, Iterator

LEVELS = {1: "province", 2: "regency", 3: "district", 4: "village"}


@dataclass(frozen=True, slots=True)
class Region:
    code: str  # dotted, e.g. "18.01.06"
    name: str
    level: int

    @property
    def parent_code(self) -> str | None:
        return self.code.rsplit(".", 1)[0] if "." in self.code else None

    @property
    def compact_code(self) -> str:
        return self.code.replace(".", "")


def dotted_district(compact: str) -> str:
    """Turn a NIK's 6-digit district code into the dotted form (180106 → 18.01.06)."""
    return f"{compact[0:2]}.{compact[2:4]}.{compact[4:6]}"


class RegionRegistry:
    """All regions, looked up by code, walked up and down, searched by name."""

    def __init__(self, rows: Iterable[tuple[str, str, int]]) -> None:
        self._by_code: dict[str, Region] = {}
        self._children: dict[str | None, list[str]] = {}
        for code, name, level in rows:
            region = Region(code, name, level)
            self._by_code[code] = region
            self._children.setdefault(region.parent_code, []).append(code)
        self._sorted_codes = sorted(self._by_code)
        self._lower_names: list[tuple[str, str]] | None = None

    def __len__(self) -> int:
        return len(self._by_code)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def get(self, code: str) -> Region | None:
        return self._by_code.get(code)

    def __getitem__(self, code: str) -> Region:
        return self._by_code[code]

    def parents(self, code: str) -> list[Region]:
        """The chain from the region itself up to its province (village → … → province)."""
        chain: list[Region] = []
        current: str | None = code
        while current is not None:
            region = self._by_code.get(current)
            if region is None:
                break
            chain.append(region)
            current = region.parent_code
        return chain

    def children(self, code: str | None) -> list[Region]:
        """Direct children; `None` gives the provinces."""
        return [self._by_code[c] for c in self._children.get(code, [])]

    def descendants(self, code: str, *, level: int) -> Iterator[Region]:
        """Every region under `code` at `level` (codes share the dotted prefix)."""
        prefix = code + "."
        start = bisect.bisect_left(self._sorted_codes, prefix)
        for c in self._sorted_codes[start:]:
            if not c.startswith(prefix):
                break
            region = self._by_code[c]
            if region.level == level:
                yield region

    def search(self, text: str, *, level: int | None = None, limit: int = 20) -> list[Region]:
        """Regions whose name contains `text`, case-insensitive; exact names first."""
        if self._lower_names is None:
            self._lower_names = [(r.name.lower(), r.code) for r in self._by_code.values()]
        needle = text.strip().lower()
        if not needle:
            return []
        hits = [
            self._by_code[code]
            for name, code in self._lower_names
            if needle in name and (level is None or self._by_code[code].level == level)
        ]
        hits.sort(key=lambda r: (r.name.lower() != needle, r.level, r.code))
        return hits[:limit]
