"""Resident search over HTTP: pages in Bahasa Indonesia, JSON API with problem details."""

import datetime as dt

import pytest

from ktpel.domain.clock import today_wib
from ktpel.security.access import Role
from ktpel.seeding.service import seed_district
from ktpel.web.app import create_app
from tests.auth_fixtures import authed_client


@pytest.fixture
def client(settings, db, regions, names):
    seed_district(db, regions=regions, names=names, regency_code="18.01", residents=400, seed=5,
                  today=today_wib())
    app = create_app(settings=settings, side="office", db=db)
    # a real operator of this office, signed in through the /masuk form
    return authed_client(app, db, Role.OPERATOR)


def test_search_by_name_word_finds_residents(client, db):
    from ktpel.store.schema.core import ResidentRow
    from sqlalchemy import select

    with db.unit_of_work() as s:
        someone = s.scalars(select(ResidentRow).limit(1)).one()
    first_word = someone.name.split()[0]
    resp = client.get("/api/v1/residents", params={"q": first_word.lower()})
    assert resp.status_code == 200
    body = resp.json()
    assert body["total"] >= 1
    assert someone.nik in {i["nik"] for i in body["items"]}
    assert all(first_word in i["name"].split() for i in body["items"])
    page = client.get("/penduduk", params={"q": someone.nik})
    assert page.status_code == 200 and someone.name in page.text and "belum rekam" in page.text


def test_search_by_family_card_lists_the_family(client, db):
    from ktpel.store.schema.core import ResidentRow
    from sqlalchemy import select

    with db.unit_of_work() as s:
        kk = s.scalars(select(ResidentRow.kk_number).limit(1)).one()
        members = s.scalars(select(ResidentRow.nik).where(ResidentRow.kk_number == kk)).all()
    body = client.get("/api/v1/residents", params={"q": kk}).json()
    assert {i["nik"] for i in body["items"]} == set(members)


def test_pagination_covers_every_match_once(client):
    seen = []
    first = client.get("/api/v1/residents", params={"q": "1801", "page_size": 100}).json()
    assert first.get("code") == "search_too_broad"  # fewer than 6 digits
    total = client.get("/api/v1/residents", params={"q": "180106", "page_size": 7}).json()["total"]
    for page in range(1, -(-total // 7) + 1):
        seen += [i["nik"] for i in client.get("/api/v1/residents",
                                             params={"q": "180106", "page": page, "page_size": 7}).json()["items"]]
    assert len(seen) == len(set(seen)) == total


def test_detail_page_shows_card_fields_and_unknown_nik_is_404(client, db):
    from ktpel.store.schema.core import ResidentRow
    from sqlalchemy import select

    with db.unit_of_work() as s:
        r = s.scalars(select(ResidentRow).limit(1)).one()
    page = client.get(f"/penduduk/{r.nik}")
    assert page.status_code == 200
    for label in ("Tempat/Tgl Lahir", "Kel/Desa", "Kecamatan", "Agama", "Status Perkawinan"):
        assert label in page.text
    missing = client.get("/penduduk/1801064508990999")
    assert missing.status_code == 404 and "tidak ditemukan" in missing.text
    api = client.get("/api/v1/residents", params={"q": "x"})
    assert api.status_code == 400 and api.headers["content-type"].startswith("application/problem+json")


def test_hostile_search_text_is_escaped_and_harmless(client):
    evil = "<script>alert(1)</script>' OR 1=1 --"
    page = client.get("/penduduk", params={"q": evil})
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text
    assert client.get("/api/v1/residents", params={"q": evil}).json()["total"] == 0


def test_signed_out_visitor_is_sent_to_sign_in_and_api_gets_401(settings, db):
    app = create_app(settings=settings, side="office", db=db)
    from fastapi.testclient import TestClient

    anon = TestClient(app)
    page = anon.get("/penduduk", params={"q": "budi"}, follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/masuk?next=%2Fpenduduk%3Fq%3Dbudi"
    api = anon.get("/api/v1/residents", params={"q": "budi"})
    assert api.status_code == 401 and api.headers["content-type"].startswith("application/problem+json")
