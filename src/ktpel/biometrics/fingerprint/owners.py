"""Which owner ids an index holds: a flag per id, grown on demand, and their count.

Both finger indexes (index.py, triangles.py) keep postings of removed owners until the next merge;
a search and a merge read these flags (the search kernels take `flags` as is) to skip them.
"""

from __future__ import annotations

import numpy as np


class LiveOwners:
    """Flags by owner id (uint8, 1 = present) and how many are set. Not thread-safe: the index's lock
    guards it."""

    def __init__(self, *, present: int = 0) -> None:
        self.flags = np.zeros(max(1024, present), np.uint8)
        self.flags[:present] = 1
        self.count = present

    def add(self, owner: int) -> None:
        if owner >= self.flags.size:
            grow = max(owner + 1, 2 * self.flags.size)
            self.flags = np.concatenate([self.flags, np.zeros(grow - self.flags.size, np.uint8)])
        if not self.flags[owner]:
            self.count += 1
        self.flags[owner] = 1

    def remove(self, owner: int) -> None:
        """A no-op for an owner never added or already removed."""
        if owner < self.flags.size and self.flags[owner]:
            self.flags[owner] = 0
            self.count -= 1

    def of(self, owners: np.ndarray) -> np.ndarray:
        """Which of these owner ids are present (bool array)."""
        return self.flags[owners].astype(bool)

    @property
    def nbytes(self) -> int:
        return int(self.flags.nbytes)
