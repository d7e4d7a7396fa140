"""Demo step: what the public board (/status/stok) shows today."""

from __future__ import annotations


def board_demo(*, settings, office_db, console) -> list:  # noqa: ANN001
    from ktpel.office.transparency.service import board

    with office_db.unit_of_work() as s:
        b = board(s, settings=settings)
    console.print(f"[green]✓[/green] papan publik /status/stok (tanpa login): {b.blanks_available} blanko, "
                  f"{b.queue_present} antre hadir, {b.print_ready_waiting} siap cetak · {b.wait_id}")
    return []
