"""Drain and count a chaos campaign whose trial loop stopped on an exception (its databases are kept).

    .venv/bin/python bench/chaos_finish.py BASE OFFICE_URL CENTRAL_URL
    (BASE is the campaign's temp folder, the "base" of its first --out line; URLs as the campaign made them:
    sqlite:///BASE/office.db … or the ktpel_chaos_* PostgreSQL databases)

Fresh central and sender processes drain what is queued, then the campaign's own tally counts every
recording of the office database.
"""
import json, os, sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
import chaos_sync as c
from sqlalchemy import select
from ktpel.config import Settings, find_shared_data
from ktpel.store.db import open_database
from ktpel.store.schema.core import EnrollmentRow
from ktpel.store.schema.sync import OutboxRow

base, office_url, central_url = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
shared = find_shared_data() or Path("/work/shared/data")
def env_of(name, url, extra):
    return {**os.environ, "KTPEL_DATA_DIR": str(base / name), "KTPEL_DATABASE_URL": url, "KTPEL_SHARED_DATA": str(shared),
            "PYTHONUNBUFFERED": "1", **{f"KTPEL_{k.upper()}": str(v) for k, v in extra.items()}}
office_db = open_database(Settings(data_dir=base / "office", database_url=office_url, shared_data=shared, **c.FAST), name="office")
central_db = open_database(Settings(data_dir=base / "central", database_url=central_url, shared_data=shared), name="central")
with office_db.unit_of_work() as s:
    ids = list(s.scalars(select(EnrollmentRow.id)))
logs = {"central": base / "central-finish.log", "office": base / "sender-finish.log"}
cast = c.Cast(central_env=env_of("central", central_url, {}), office_env=env_of("office", office_url, c.FAST),
              port=c.free_port(), logs=logs)
try:
    drained = c.wait_until(lambda: c.count(office_db, EnrollmentRow, EnrollmentRow.id.in_(ids), EnrollmentRow.state == "RECEIVED") == len(ids)
                           and c.count(office_db, OutboxRow, OutboxRow.state != "SENT") == 0, timeout=400)
finally:
    cast.stop()
print(json.dumps({"base": str(base), "drained": drained, **c.tally(office_db, central_db, ids)}))
