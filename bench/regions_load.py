"""Region registry load time (issue 2: the 91,599 Kemendagri codes load in < 0.5 s).

    .venv/bin/python bench/regions_load.py [--repeat 5]
Baseline in the same run: reading the CSV rows without building the registry.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time

from ktpel.config import find_shared_data
from ktpel.reference import load_regions


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    path = find_shared_data() / "wilayah" / "wilayah.csv"
    loads, reads = [], []
    for _ in range(args.repeat):
        t = time.perf_counter()
        with path.open(newline="", encoding="utf-8") as f:
            rows = sum(1 for _ in csv.reader(f)) - 1
        reads.append(time.perf_counter() - t)
        t = time.perf_counter()
        registry = load_regions(path)
        loads.append(time.perf_counter() - t)
    assert len(registry) == rows
    load, read = statistics.median(loads), statistics.median(reads)
    print(f"region registry: {len(registry):,} codes loaded in {load * 1000:.0f} ms median of {args.repeat} "
          f"(target < 500 ms); reading the CSV alone {read * 1000:.0f} ms, ratio {load / read:.1f}x")


if __name__ == "__main__":
    main()
