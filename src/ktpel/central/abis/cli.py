"""`ktpel central abis`: start the gallery shards as Ray actors (locally, or on a cluster by address)."""

from __future__ import annotations

import json
import time

import typer


def register(app: typer.Typer) -> None:
    @app.command("abis")
    def abis(
        shards: int = typer.Option(2, "--shards", "-k", min=1, help="Shard actors (each owns crc32(id) mod K)."),
        address: str = typer.Option("", "--address", help="Join this Ray cluster (e.g. auto or HOST:6379); "
                                                            "empty: start Ray on this machine."),
        num_cpus: int = typer.Option(0, "--num-cpus", help="CPUs for a local Ray (0: all)."),
        snapshot_dir: str = typer.Option("", "--snapshot-dir", help="Start shards from snapshots here when the "
                                                                     "database validates them."),
        stop_after: float = typer.Option(0.0, "--stop-after", help="Stop after this many seconds (0 = never)."),
    ) -> None:
        """Start the ABIS shards; workers then use KTPEL_ABIS=ray://auto (or ray://HOST:PORT)."""
        from ktpel.central.abis import init_ray
        from ktpel.cli_console import console
        from ktpel.config import get_settings
        from ktpel.store.db import open_database

        settings = get_settings()
        open_database(settings, name="central").dispose()  # schema up to date before shards read it
        init_ray(address=address or None, num_cpus=num_cpus or None)
        from ktpel.central.abis.ray_abis import RayAbis

        started = time.perf_counter()
        with console.status(f"Memuat {shards} shard galeri (loading {shards} gallery shards)…"):
            ring = RayAbis.start(shards=shards, settings=settings, snapshot_dir=snapshot_dir or None, detached=True)
        stats = ring.stats()
        console.print(f"[green]✓[/green] ABIS: {shards} shard(s), {sum(s['references'] for s in stats)} "
                      f"references, ready in {time.perf_counter() - started:.1f} s; workers: KTPEL_ABIS=ray://auto")
        print(json.dumps({"shards": stats}, ensure_ascii=False))
        try:
            deadline = time.monotonic() + stop_after if stop_after else None
            while deadline is None or time.monotonic() < deadline:
                time.sleep(1.0)
        except KeyboardInterrupt:
            pass
        finally:
            ring.shutdown()
            console.print("ABIS: shards stopped")

    @app.command("abis-snapshot")
    def abis_snapshot(directory: str = typer.Argument(..., help="Folder for one snapshot per shard."),
                      address: str = typer.Option("auto", "--address")) -> None:
        """Snapshot every running shard (a restart uses it if the database validates it)."""
        from ktpel.central.abis import init_ray

        init_ray(address=address)
        from ktpel.central.abis.ray_abis import RayAbis

        print(json.dumps(RayAbis.attach().save_snapshot(directory)))

    @app.command("abis-thumbs")
    def abis_thumbs(
        office: str = typer.Option("", "--office", help="Only this office (e.g. 18.01); empty: every office."),
        csv_path: str = typer.Option("", "--csv", help="Write the list here (one row a short thumb)."),
    ) -> None:
        """List records in the gallery whose thumb is too poor for the national search (residents to call back)."""
        import contextlib
        import csv
        from collections import Counter

        from pathlib import Path

        from rich.console import Console
        from rich.progress import Progress
        from rich.table import Table

        from ktpel.central.abis.recall import count_in_gallery, count_older_records, count_uncounted, short_thumbs
        from ktpel.cli_console import console
        from ktpel.config import get_settings
        from ktpel.domain.identifying_fingers import IDENTIFYING_MIN_MINUTIAE
        from ktpel.store.db import open_database

        err = Console(stderr=True)
        if office:
            from ktpel.reference import regions

            region = regions().get(office)
            if region is None or region.level != 2:
                err.print(f"[red]✗[/red] --office {office}: bukan kode kabupaten/kota (mis. 18.01) / "
                          "not a regency code (e.g. 18.01)")
                raise typer.Exit(2)
        if csv_path and not Path(csv_path).resolve().parent.is_dir():
            err.print(f"[red]✗[/red] --csv {csv_path}: folder tidak ada / folder does not exist")
            raise typer.Exit(2)
        records: dict[str, str] = {}  # record id -> office: counts only, the list itself goes to the CSV
        thumbs: Counter[str] = Counter()
        scope = office or None
        db = open_database(get_settings(), name="central")
        try:
            with db.unit_of_work() as s:
                total, older = count_in_gallery(s, office_code=scope), count_uncounted(s, office_code=scope)
            if older:  # recorded before the quality stage counted thumbs: counted once, here
                with Progress(console=console, transient=True) as bar:
                    task = bar.add_task("Menghitung ibu jari rekaman lama (counting older records' thumbs)",
                                        total=older)
                    older = count_older_records(db, office_code=scope, on_record=lambda: bar.advance(task))
            with contextlib.ExitStack() as stack, db.unit_of_work() as s:
                out = None
                if csv_path:
                    out = csv.writer(stack.enter_context(open(csv_path, "w", newline="", encoding="utf-8")))
                    out.writerow(["record_id", "nik", "office_code", "state", "finger_position", "minutiae"])
                for t in short_thumbs(s, office_code=scope):
                    records[t.record_id] = t.office_code
                    thumbs[t.office_code] += 1
                    if out is not None:
                        out.writerow([t.record_id, t.nik, t.office_code, t.state, t.finger_position, t.minutiae])
        finally:
            db.dispose()
        per_office = Counter(records.values())
        table = Table(title=f"Ibu jari di bawah {IDENTIFYING_MIN_MINUTIAE} titik minusi "
                            f"(thumbs below {IDENTIFYING_MIN_MINUTIAE} minutiae)")
        for col in ("Kantor / Office", "Rekaman / Records", "Ibu jari / Thumbs"):
            table.add_column(col, justify="left" if col.startswith("Kantor") else "right")
        for code in sorted(per_office):
            table.add_row(code, str(per_office[code]), str(thumbs[code]))
        console.print(table)
        share = f"{100 * len(records) / total:.1f} %" if total else "-"
        console.print(f"{len(records)} dari {total} rekaman di galeri perlu rekam ulang ibu jari "
                      f"({len(records)} of {total} records in the gallery need a thumb recaptured: {share})")
        if csv_path:
            console.print(f"CSV: {csv_path}")
        print(json.dumps({"records_in_gallery": total, "records_short": len(records),
                          "thumbs_short": sum(thumbs.values()), "older_records_counted": older}))
