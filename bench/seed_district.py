"""Seed benchmark: how long `ktpel seed` takes for N residents on SQLite (issue 2: 100,000 in < 60 s).

    .venv/bin/python bench/seed_district.py [--residents 100000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import tempfile
import time
from pathlib import Path

from ktpel.config import Settings
from ktpel.reference import names, regions
from ktpel.seeding.generator import DistrictGenerator
from ktpel.seeding.service import seed_district
from ktpel.store.db import open_database


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--regency", default="18.01")
    args = parser.parse_args()
    reg, nm = regions(), names()
    today = dt.date(2026, 11, 29)

    # baseline in the same run: generating the families without writing them
    start = time.perf_counter()
    gen = DistrictGenerator(regions=reg, regency_code=args.regency, names=nm, seed=1, today=today)
    generated = sum(len(f.members) for f in gen.families(residents=args.residents))
    gen_s = time.perf_counter() - start

    tmp = Path(tempfile.mkdtemp(prefix="ktpel-bench-"))
    try:
        db = open_database(Settings(data_dir=tmp), name="office")
        start = time.perf_counter()
        written = seed_district(db, regions=reg, names=nm, regency_code=args.regency,
                                residents=args.residents, seed=1, today=today)
        total_s = time.perf_counter() - start
        db.dispose()
        size = (tmp / "office.db").stat().st_size
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    assert written == generated == args.residents
    print(f"seed {args.residents:,} residents on SQLite: {total_s:.1f} s "
          f"({args.residents / total_s:,.0f} residents/s; target < 60 s for 100,000)")
    print(f"  of which generation alone: {gen_s:.1f} s; storage (encrypt + index + insert) "
          f"is {total_s / gen_s:.1f}× generation; database {size / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
