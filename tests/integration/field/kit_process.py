"""Run as a separate process: a mobile kit with its own SQLite (KTPEL_DATA_DIR / KTPEL_DATABASE_URL) records
one resident offline. Usage: python -m tests.integration.field.kit_process '<resident json>' → JSON result."""

from __future__ import annotations

import datetime as dt
import json
import sys


def main() -> None:
    from sqlalchemy import select

    from ktpel.config import get_settings
    from ktpel.office.enrollment import samples, service
    from ktpel.reference import regions
    from ktpel.security.access import Role, User
    from ktpel.store.db import open_database
    from ktpel.store.schema.core import ResidentRow

    fields = json.loads(sys.argv[1])
    fields["birth_date"] = dt.date.fromisoformat(fields["birth_date"])
    settings = get_settings()
    db = open_database(settings, name="office")
    with db.unit_of_work() as s:  # the kit carries a copy of the regency's residents
        if s.scalar(select(ResidentRow.id).where(ResidentRow.nik == fields["nik"])) is None:
            s.add(ResidentRow(**fields))
    shared = settings.resolved_shared_data()
    files = samples.capture_files(shared, 3)
    form = service.CaptureForm(nik=fields["nik"], form_token="kit-form-1", face=service.Upload(files["face"]),
                               signature=service.Upload(files["signature"]),
                               fingers={p: service.Upload(files[f"finger_{p}"]) for p in range(1, 11)})
    result = service.record_enrollment(db, settings=settings, regions=regions(shared), form=form,
                                       operator=User(id=0, username="petugas.kit", role=Role.OPERATOR,
                                                     regency_code=settings.office_regency))
    print(json.dumps({"enrollment_id": result.enrollment_id, "state": result.state}))


if __name__ == "__main__":
    main()
