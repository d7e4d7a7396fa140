"""Reference data read in place from the shared data folder: region codes and names."""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

from ktpel.config import get_settings
from ktpel.domain.wilayah import RegionRegistry


def load_regions(path: Path) -> RegionRegistry:
    """Read wilayah.csv (kode,nama,level) into a registry."""
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        return RegionRegistry((code, name, int(level)) for code, name, level in reader)


@lru_cache(maxsize=4)
def regions(shared_data: Path | None = None) -> RegionRegistry:
    """The national region registry, loaded once per process."""
    root = shared_data or get_settings().resolved_shared_data()
    return load_regions(root / "wilayah" / "wilayah.csv")


def _read_list(path: Path) -> list[str]:
    if path.suffix == ".csv":
        rows = [line.split(",")[0].strip() for line in path.read_text(encoding="utf-8").splitlines()]
        rows = [r for r in rows if r and r.lower() not in {"name", "nama", "first_name", "last_name"}]
    else:
        rows = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return sorted(set(rows))  # lists contain repeats; sorted keeps seeding deterministic


@lru_cache(maxsize=2)
def names(shared_data: Path | None = None) -> dict[str, list[str]]:
    """First and last names by sex, merged from both name lists."""
    root = (shared_data or get_settings().resolved_shared_data()) / "names"
    faker, mut = root / "faker_id_ID", root / "mutiawsr_indonesian-names"
    out: dict[str, list[str]] = {}
    for key, files in {
        "first_male": [faker / "first_names_male.txt", mut / "first-male.csv"],
        "first_female": [faker / "first_names_female.txt", mut / "first-female.csv"],
        "last_male": [faker / "last_names_male.txt", mut / "last-male.csv", mut / "last-neutral.csv"],
        "last_female": [faker / "last_names_female.txt", mut / "last-female.csv", mut / "last-neutral.csv"],
    }.items():
        merged: set[str] = set()
        for f in files:
            if f.is_file():
                merged.update(_read_list(f))
        out[key] = sorted(merged)
    return out
