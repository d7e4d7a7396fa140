"""`ktpel central worker`: run the dedup pipeline; `ktpel central pipeline-status`: the counts as JSON;
`ktpel central dedup-train`: train the demographic model now (workers otherwise retrain when due)."""

from __future__ import annotations

import json

import typer


def register(app: typer.Typer) -> None:
    @app.command("worker")
    def worker(
        n: int = typer.Option(1, "-n", "--workers", min=1, help="Worker processes (1 on SQLite)."),
        once: bool = typer.Option(False, "--once", help="Process what is queued now, then exit (one worker)."),
        stop_after: float = typer.Option(0.0, "--stop-after", help="Stop after this many seconds (0 = never)."),
    ) -> None:
        """Run pipeline workers against the central database (several machines may share one PostgreSQL)."""
        from ktpel.central.pipeline.worker import Worker, run_workers
        from ktpel.cli_console import console
        from ktpel.config import get_settings
        from ktpel.store.db import open_database

        settings = get_settings()
        if once:
            db = open_database(settings, name="central")
            outcomes = Worker(db=db, settings=settings).drain()
            summary: dict[str, int] = {}
            for o in outcomes:
                key = o.outcome or o.status
                summary[key] = summary.get(key, 0) + 1
            print(json.dumps({"processed": len(outcomes), "outcomes": summary}))
            return
        console.print(f"[green]✓[/green] pipeline: starting {n} worker(s); Ctrl+C stops")
        ran = run_workers(settings=settings, n=n, stop_after=stop_after or None)
        console.print(f"pipeline: {ran} worker(s) stopped")

    @app.command("pipeline-status")
    def pipeline_status() -> None:
        """Per stage queued / in progress / failed and throughput, as JSON."""
        from ktpel.central.pipeline.service import dead_letters, pipeline_stats
        from ktpel.config import get_settings
        from ktpel.store.db import open_database

        db = open_database(get_settings(), name="central")
        with db.unit_of_work() as s:
            stats = pipeline_stats(s)
            dead = dead_letters(s)
            print(json.dumps({"stages": [st.__dict__ for st in stats["stages"]], "outcomes": stats["outcomes"],
                              "decisions_per_minute": stats["decisions_per_minute"],
                              "dedup_model": stats["model"],
                              "dead_letters": [{"id": j.id, "stage": j.stage, "error": (j.last_error or "")[:300]}
                                               for j in dead]}, ensure_ascii=False))

    @app.command("dedup-train")
    def dedup_train() -> None:
        """Train the demographic dedup model (Splink on DuckDB) on the national records and store it."""
        from ktpel.central.dedup.service import retrain
        from ktpel.cli_console import console
        from ktpel.config import get_settings
        from ktpel.store.db import open_database

        db = open_database(get_settings(), name="central")
        with console.status("Melatih model demografis (training the demographic model)…"):
            with db.unit_of_work() as s:
                row = retrain(s, db_key=db.url, trained_by="ktpel central dedup-train")
                out = {"id": row.id, "records": row.records, "trained_on": row.model.get("trained_on", {}),
                       "prior": row.model.get("prior")}
        print(json.dumps(out, ensure_ascii=False))
