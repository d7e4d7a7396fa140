"""Printing over HTTP: queue page, print and confirm, ledger reports, public policy page, role checks."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ktpel.office.printing.drivers import PrintingConfig
from ktpel.security.access import Role, User
from ktpel.store.schema.core import CardRow, ResidentRow
from ktpel.web.app import create_app


@pytest.fixture
def make_client(settings, db):
    def make(role: Role) -> TestClient:
        app = create_app(settings=settings, side="office", db=db)
        app.state.printing_config = PrintingConfig(spool_dir=settings.data_dir / "spool")

        @app.middleware("http")
        async def as_user(request, call_next):  # stands in for a signed-in session
            request.state.user = User(id=1, username=f"{role.value}1", role=role, regency_code="18.01")
            return await call_next(request)

        return TestClient(app)

    return make


def nik_of(db, card_id):
    with db.unit_of_work() as s:
        return s.scalar(select(ResidentRow.nik).join(CardRow, CardRow.resident_id == ResidentRow.id)
                        .where(CardRow.id == card_id))


def test_counter_flow_over_http(make_client, db, office):
    head, op = make_client(Role.HEAD), make_client(Role.OPERATOR)
    assert op.post("/blanko/terima", data={"awal": "LS26-000001", "akhir": "LS26-000020"}).status_code == 403
    resp = head.post("/blanko/terima", data={"awal": "LS26-000001", "akhir": "LS26-000020"},
                     follow_redirects=False)
    assert resp.status_code == 303
    plain, urgent = office.card(name="BUDI SANTOSO"), office.card(name="AMINAH")
    op.post("/cetak/hadir", data={"nik": nik_of(db, plain)})
    page = op.get("/cetak")
    assert page.status_code == 200 and "BUDI SANTOSO" in page.text and "20</strong> tersedia" in page.text
    op.post("/cetak/hadir", data={"nik": nik_of(db, urgent), "kelas": "health", "bukti": "rujukan RSUD"})
    queue = op.get("/api/v1/print-queue").json()
    assert [i["card_id"] for i in queue["items"]] == [urgent, plain]  # the health class moved ahead
    assert queue["items"][0]["classes"] == ["health"]
    # print the first in line, confirm it printed
    resp = op.post(f"/cetak/{urgent}/cetak", data={"serial": ""}, follow_redirects=False)
    assert resp.status_code == 303
    job = op.get("/cetak").text.split('data-job="')[1].split('"')[0]
    pdf = op.get(f"/cetak/job/{job}.pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    op.post(f"/cetak/job/{job}/berhasil")
    with db.unit_of_work() as s:
        assert s.get(CardRow, urgent).state == "PRINTED"
    # printing it twice is refused with a reason on the page
    again = op.post(f"/cetak/{urgent}/cetak", data={})
    assert again.status_code == 409 and "sudah cetak" in again.text
    # API: print and spoil the other card
    started = op.post("/api/v1/print-jobs", json={"card_id": plain})
    assert started.status_code == 201
    spoiled = op.post(f"/api/v1/print-jobs/{started.json()['job_id']}/outcome",
                      json={"outcome": "spoiled", "reason": "jam"})
    assert spoiled.json()["state"] == "SPOILED"
    stock = op.get("/api/v1/blanks/stock").json()
    assert stock["ledger"] == {"received": 20, "used": 1, "spoiled": 1, "returned": 0, "available": 18,
                               "balanced": True}
    # the recent prints show the report to central waiting in the outbox
    assert "menunggu kirim (outbox)" in op.get("/cetak").text
    # a blank sent back to central, one found damaged in stock; an operator may do neither
    assert op.post("/blanko/LS26-000020/kembali").status_code == 403
    assert head.post("/blanko/LS26-000020/kembali", follow_redirects=False).status_code == 303
    assert head.post("/blanko/LS26-000019/rusak", data={"alasan": "damaged"}, follow_redirects=False).status_code == 303
    again = head.post("/blanko/LS26-000020/kembali")
    assert again.status_code == 409 and "dikembalikan" in again.text
    stock = op.get("/api/v1/blanks/stock").json()
    assert stock["ledger"] == {"received": 20, "used": 1, "spoiled": 2, "returned": 1, "available": 16,
                               "balanced": True}
    csv = head.get("/blanko/rekonsiliasi.csv")
    assert csv.status_code == 200 and "seimbang / balanced,YA/YES" in csv.text
    assert "Dikembalikan ke pusat / Returned to central,1" in csv.text
    assert head.get("/blanko/rekonsiliasi.pdf").content.startswith(b"%PDF")
    assert op.get("/blanko").status_code == 200
    assert op.get(f"/cetak/kartu/{plain}/pratinjau.png").content.startswith(b"\x89PNG")


def test_problem_details_for_refusals(make_client, office):
    op = make_client(Role.OPERATOR)
    card = office.card()
    resp = op.post("/api/v1/print-jobs", json={"card_id": card})
    assert resp.status_code == 409 and resp.json()["code"] == "resident_not_present"
    resp = op.post("/api/v1/print-jobs", json={"card_id": "nope"})
    assert resp.status_code == 404


def test_only_the_head_changes_the_presence_rule(make_client, db, office):
    sup, head = make_client(Role.SUPERVISOR), make_client(Role.HEAD)
    assert sup.post("/cetak/aturan-hadir", data={"hadir_saja": "0"}).status_code == 403
    assert head.post("/cetak/aturan-hadir", data={"hadir_saja": "0"}, follow_redirects=False).status_code == 303
    office.card(name="TANPA HADIR")
    assert "TANPA HADIR" in head.get("/cetak").text


def test_policy_page_is_public(settings, db):
    client = TestClient(create_app(settings=settings, side="office", db=db))
    page = client.get("/kebijakan-cetak")
    assert page.status_code == 200
    assert "Kesehatan / BPJS" in page.text and "Kartu BPJS" in page.text and "15%" in page.text
    assert client.get("/cetak", follow_redirects=False).status_code in (303, 401)
