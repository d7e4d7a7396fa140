"""Demo step: a demo central made before the IKD register counts the IKD packets it already holds."""

from __future__ import annotations


def backfill_demo(*, settings, office_db, console) -> list:  # noqa: ANN001
    """Register IKD packets kept in `central_packets` before `central_ikd` existed (idempotent)."""
    from ktpel.central.ikd.service import backfill
    from ktpel.store.db import open_database

    central_db = open_database(settings, name="central")
    try:
        with central_db.unit_of_work() as s:
            added = backfill(s)
    finally:
        central_db.dispose()
    if added:
        console.print(f"[cyan]IKD pusat[/cyan]: {added} laporan IKD lama dihitung (/dasbor-pusat)")
    return []
