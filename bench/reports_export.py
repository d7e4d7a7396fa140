"""Export of 100,000 recordings (`/dasbor/ekspor/rekaman.csv|xlsx`): time to last byte and peak memory.

Run after bench/reports_dashboard.py (reuses its database):
    .venv/bin/python bench/reports_export.py --database-url sqlite:///bench/out/reports/office-300000.db
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database-url", required=True)
    args = ap.parse_args()

    from fastapi.testclient import TestClient

    from ktpel.config import Settings
    from ktpel.security.access import Role, User
    from ktpel.store.db import open_database
    from ktpel.web.app import create_app

    settings = Settings(data_dir=Path(__file__).parent / "out" / "reports" / "data", database_url=args.database_url)
    db = open_database(settings, migrate=False)
    app = create_app(settings=settings, side="office", db=db)

    @app.middleware("http")
    async def head(request, call_next):  # noqa: ANN001, ANN202
        request.state.user = User(id=1, username="kadis", role=Role.HEAD, regency_code="18.01")
        return await call_next(request)

    client = TestClient(app, client=("127.0.0.1", 1))
    for fmt in ("csv", "xlsx"):
        t = time.perf_counter()
        first = None
        size = 0
        with client.stream("GET", f"/dasbor/ekspor/rekaman.{fmt}", params={"dari": "2011-01-01"}) as resp:
            assert resp.status_code == 200, resp.status_code
            for chunk in resp.iter_bytes():
                first = first or time.perf_counter() - t
                size += len(chunk)
        total = time.perf_counter() - t
        print(f"rekaman.{fmt}: {size / 1e6:.1f} MB, first byte {first:.2f} s, last byte {total:.1f} s")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
