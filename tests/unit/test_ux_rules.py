"""Issue 18 rules in the domain and the web layer: zones, eligibility, receipt typing, labels, menus."""

from __future__ import annotations

import datetime as dt

import pytest

from ktpel.domain.eligibility import ktp_eligibility
from ktpel.domain.receipt import receipt_candidates
from ktpel.domain.zones import to_local, zone_of_region
from ktpel.web.labels import label, reason_text


@pytest.mark.parametrize(("code", "zone"), [("18.01", "WIB"), ("31.71", "WIB"), ("61.01", "WIB"), ("51.71", "WITA"),
                                            ("64.72", "WITA"), ("73.71", "WITA"), ("81.71", "WIT"), ("94.71", "WIT"),
                                            (None, "WIB")])
def test_each_province_keeps_its_zone(code, zone):
    assert zone_of_region(code).name == zone


def test_naive_store_times_are_utc():
    at = to_local(dt.datetime(2026, 12, 3, 17, 30), zone=zone_of_region("18.01"))
    assert (at.day, at.hour, at.minute, at.tzname()) == (4, 0, 30, "WIB")


def test_eligibility_follows_the_law_and_the_early_recording_policy():
    today = dt.date(2026, 12, 3)
    assert ktp_eligibility(birth_date=dt.date(2009, 12, 3), marital_status="BELUM KAWIN", today=today).status == "eligible"
    early = ktp_eligibility(birth_date=dt.date(2010, 6, 1), marital_status="BELUM KAWIN", today=today)
    assert early.status == "early" and early.may_record and early.card_from == dt.date(2027, 6, 1)
    young = ktp_eligibility(birth_date=dt.date(2014, 1, 1), marital_status="BELUM KAWIN", today=today)
    assert young.status == "too_young" and not young.may_record and "KIA" in young.next_id and young.age == 12
    # married at 15 (dispensation): entitled now
    assert ktp_eligibility(birth_date=dt.date(2011, 1, 1), marital_status="KAWIN", today=today).status == "eligible"
    # a 29 February birthday reaches 17 on 1 March
    leap = ktp_eligibility(birth_date=dt.date(2012, 2, 29), marital_status="BELUM KAWIN", today=dt.date(2028, 3, 5))
    assert leap.status == "early" and leap.card_from == dt.date(2029, 3, 1)


@pytest.mark.parametrize("typed", ["AB12-CD34-EF56", "ab12cd34ef56", " ab12 cd34 ef56 ", "AB12.CD34.EF56",
                                   "ab12_cd34-ef56"])
def test_receipt_typed_any_way_finds_the_same_number(typed):
    assert "AB12-CD34-EF56" in receipt_candidates(typed)


def test_receipt_look_alikes_fold_and_old_numbers_keep_working():
    assert "1B10-CD34-EF56" in receipt_candidates("iblo cd34 ef56")
    assert "DEMO-PRR-0001" in receipt_candidates("demo prr 0001")
    assert receipt_candidates("   ") == ()


def test_internal_codes_become_words():
    assert label("finger_3") == "Jari tengah kanan" and label("finger_3", "en") == "Right middle"
    assert label("PRINT_READY") == "Siap cetak (PRR)" and label("confirming").startswith("Menunggu")
    assert label("birth_place") == "Tempat lahir" and label("biometric_hit") == "Kecocokan biometrik"
    assert "_" not in label("some_new_code")
    assert reason_text("weak_ridges: guratan kurang jelas / weak ridge clarity") == "guratan kurang jelas"
    assert reason_text("weak_ridges: guratan kurang jelas / weak ridge clarity", "en") == "weak ridge clarity"


def test_menu_lists_only_pages_the_role_opens(settings, db):
    from ktpel.security.access import Role, User
    from ktpel.web.app import create_app
    from ktpel.web.nav import can_open, landing_for, menu_for

    app = create_app(settings=settings, side="office", db=db)
    for role in (Role.OPERATOR, Role.SUPERVISOR, Role.HEAD, Role.AUDITOR):
        user = User(id=1, username="x", role=role, regency_code="18.01")
        items = menu_for(app, side="office", user=user)
        assert items and all(can_open(app, m.path, user) for m in items)
        assert can_open(app, landing_for(app, side="office", user=user), user)
    auditor = User(id=1, username="a", role=Role.AUDITOR, regency_code="18.01")
    assert [m.path for m in menu_for(app, side="office", user=auditor)] == ["/audit"]
    assert landing_for(app, side="office", user=auditor) == "/audit"
