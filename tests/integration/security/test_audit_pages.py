"""The auditor's pages: search, chain check, CSV export (and the export itself is audited)."""

from __future__ import annotations

import csv
import io

from sqlalchemy import text

from ktpel.security.access import Role
from ktpel.security.audit import record_audit
from ktpel.web.app import create_app
from tests.auth_fixtures import authed_client


def test_auditor_searches_verifies_and_exports(settings, db):
    app = create_app(settings=settings, side="office", db=db)
    with db.unit_of_work() as s:
        for i in range(60):
            record_audit(s, actor="op1" if i % 3 else "sup1", action="resident.update", subject=f"resident:{i}",
                         after={"i": i}, source_ip="10.1.1.1")
    auditor = authed_client(app, db, Role.AUDITOR)
    page = auditor.get("/audit", params={"actor": "sup1"})
    assert page.status_code == 200 and "Jejak audit" in page.text
    assert '<strong id="total">20</strong>' in page.text
    first = auditor.get("/audit")
    assert "Halaman 1 / 2" in first.text and auditor.get("/audit", params={"halaman": 2}).status_code == 200
    assert "Rantai utuh" in auditor.get("/audit", params={"periksa": 1}).text
    bad_date = auditor.get("/audit", params={"dari": "kemarin"})
    assert bad_date.status_code == 200 and "Tanggal tidak valid" in bad_date.text

    export = auditor.get("/audit/ekspor.csv", params={"action": "resident"})
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert export.headers["content-disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert len(rows) == 60 and [int(r["seq"]) for r in rows] == sorted(int(r["seq"]) for r in rows)
    api = auditor.get("/api/v1/audit", params={"action": "audit.export"}).json()
    assert api["total"] == 1 and api["items"][0]["actor"] == auditor.username

    with db.unit_of_work() as s:
        s.execute(text("UPDATE audit_log SET actor = 'x' WHERE seq = 10"))
    broken = auditor.get("/audit", params={"periksa": 1})
    assert "Rantai rusak" in broken.text and "#10" in broken.text
    verdict = auditor.get("/api/v1/audit/verify").json()
    assert verdict["ok"] is False and verdict["problems"][0]["seq"] == 10
