"""Demo step: a mobile kit (a second process, its own SQLite) records two residents "in a village" offline,
then syncs into the office over HTTP; the office queues them for central with their origin.

Also runnable as the kit itself: `python -m ktpel.demo.kit '<residents json>'` records them."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

from sqlalchemy import select

KIT_ID = "kit-demo"
KIT_RECORDINGS = 2  # adults never recorded, recorded on the kit
KIT_TOKEN = "demo-kit-token"  # demo only: a real home office sets KTPEL_KIT_TOKEN
FIELDS = ("nik", "kk_number", "name", "birth_place", "birth_date", "sex", "blood_type", "street", "rt", "rw",
          "village_code", "district_code", "regency_code", "religion", "marital_status", "occupation", "citizenship",
          "family_role", "father_name", "mother_name")


def _residents(session, *, settings, count: int) -> list[dict]:  # noqa: ANN001
    from ktpel.store.schema.core import EnrollmentRow, ResidentRow

    from ktpel.domain.enrollment import EnrollmentState
    from ktpel.domain.events import utcnow

    adult = dt.date(utcnow().year - 18, 1, 1)
    # never recorded first, else those whose only recordings failed (EFAC: they must record again)
    rows = session.scalars(select(ResidentRow).where(
        ResidentRow.regency_code == settings.office_regency, ResidentRow.revoked.is_(False),
        ResidentRow.birth_date <= adult,
        ResidentRow.id.not_in(select(EnrollmentRow.resident_id).where(EnrollmentRow.state != EnrollmentState.FAILED.value)))
        .order_by(ResidentRow.id.in_(select(EnrollmentRow.resident_id)), ResidentRow.nik).limit(count)).all()
    return [{f: (getattr(r, f).isoformat() if f == "birth_date" else getattr(r, f)) for f in FIELDS} for r in rows]


def kit_demo(*, settings, office_db, console) -> list:  # noqa: ANN001
    """Once: record on the kit, serve the office for a moment, push the kit's day into it."""
    from ktpel.store.schema.kit import KitReceiptRow

    with office_db.unit_of_work() as s:
        if s.scalar(select(KitReceiptRow.kit_packet_id).where(KitReceiptRow.kit_id == KIT_ID)):
            return []
        people = _residents(s, settings=settings, count=KIT_RECORDINGS)
    if not people:
        console.print("[yellow]![/yellow] kit demo: no unrecorded adult left to record in the village")
        return []
    kit_dir = settings.data_dir / KIT_ID
    env = {**os.environ, "KTPEL_DATA_DIR": str(kit_dir), "KTPEL_DATABASE_URL": f"sqlite:///{kit_dir / 'office.db'}",
           "KTPEL_SHARED_DATA": str(settings.resolved_shared_data()), "KTPEL_KIT_ID": KIT_ID, "KTPEL_MOBILE_KIT": "1",
           "KTPEL_OFFICE_REGENCY": settings.office_regency}
    recorded = subprocess.run([sys.executable, "-m", "ktpel.demo.kit", json.dumps(people)], env=env,
                              capture_output=True, text=True, timeout=600)
    if recorded.returncode != 0:
        console.print(f"[yellow]![/yellow] kit demo: recording failed: {recorded.stderr[-400:]}")
        return []
    from ktpel.web.app import create_app

    home_settings = settings.model_copy(update={"kit_token": KIT_TOKEN})
    server = _serve(create_app(settings=home_settings, side="office", db=office_db))
    try:
        pushed = subprocess.run([sys.executable, "-m", "ktpel.cli", "office", "kit-sync", "--home", server.url,
                                 "--token", KIT_TOKEN], env=env, capture_output=True, text=True, timeout=300)
    finally:
        server.stop()
    console.print(f"[green]✓[/green] kit keliling {KIT_ID} (proses kedua, SQLite sendiri {kit_dir}): "
                  f"{recorded.stdout.strip().splitlines()[-1]} → sinkron ke kantor: {pushed.stdout.strip()[-120:]}; "
                  "paket ke pusat membawa asal (origin) kit")
    return []


class _Server:
    def __init__(self, app) -> None:  # noqa: ANN001
        import socket
        import threading

        import uvicorn

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _serve(app):  # noqa: ANN001, ANN202
    import time

    srv = _Server(app)
    srv.thread.start()
    deadline = time.monotonic() + 20
    while not srv.server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    return srv


def _record(people: list[dict]) -> dict:
    """The kit process: a copy of these residents, each recorded with real sample images."""
    from ktpel.config import get_settings
    from ktpel.demo.enrollment import record_retaking
    from ktpel.domain.errors import KtpelError
    from ktpel.office.enrollment import samples, service
    from ktpel.reference import regions
    from ktpel.security.access import Role, User
    from ktpel.store.db import open_database
    from ktpel.store.schema.core import ResidentRow

    settings = get_settings()
    db = open_database(settings, name="office")
    shared = settings.resolved_shared_data()
    reg = regions(shared)
    operator = User(id=0, username="petugas.kit", role=Role.OPERATOR, regency_code=settings.office_regency)
    done = []
    for i, person in enumerate(people):
        with db.unit_of_work() as s:
            if s.scalar(select(ResidentRow.id).where(ResidentRow.nik == person["nik"])) is None:
                s.add(ResidentRow(**{**person, "birth_date": dt.date.fromisoformat(person["birth_date"])}))
        files = samples.capture_files(shared, 20 + i)
        form = service.CaptureForm(nik=person["nik"], form_token=f"{settings.kit_id}-{person['nik']}",
                                   face=service.Upload(files["face"]), signature=service.Upload(files["signature"]),
                                   fingers={p: service.Upload(files[f"finger_{p}"]) for p in range(1, 11)})
        try:
            result = record_retaking(db, settings=settings, regions=reg, form=form, operator=operator,
                                     shared=shared, resident=20 + i)
            done.append({"nik": person["nik"], "state": result.state})
        except KtpelError as exc:
            done.append({"nik": person["nik"], "error": exc.message_en})
    db.dispose()
    return {"kit": settings.kit_id, "recorded": done}


if __name__ == "__main__":
    print(json.dumps(_record(json.loads(sys.argv[1]))))
