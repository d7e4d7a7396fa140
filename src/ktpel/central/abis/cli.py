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
