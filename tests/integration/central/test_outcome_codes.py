"""Central outcomes carry what the office needs for the officers' codes: EFAR vs EFAC, RV vs ADJ, DUP 1:1 vs
1:N; the office records the code per enrollment, shows it on the resident page and in the export."""

from __future__ import annotations

from sqlalchemy import select

from ktpel.domain.outcomes import classify
from ktpel.sync.wiring import HandlerContext
from tests.integration.central.conftest import make_payload


def _code(event):
    return classify(kind=event["kind"], data=event["data"]).code


def test_failures_say_regional_or_central(central, people):
    bio = people.biometrics(person=1, impression=1)
    broken = dict(bio["templates"])
    broken["finger_2"] = broken["finger_2"][:-3] + b"xyz"
    central.receive(make_payload(bio, nik="1801051705900001", name="Budi", templates=broken))
    central.worker.drain()
    [ev] = central.events(office_code="18.01", kind="enrollment.failed")
    assert ev["data"]["at"] == "regional" and _code(ev) == "EFAR"
    assert classify(kind="enrollment.failed", data={"at": "central"}).code == "EFAC"


def test_nik_collision_without_a_biometric_match_is_request_validation(central, people):
    central.receive(make_payload(people.biometrics(person=1, impression=1), nik="1801051705900001", name="Budi"))
    # another person under the same NIK: a demographic doubt only
    central.receive(make_payload(people.biometrics(person=3, impression=1), nik="1801051705900001", name="Budi",
                                 office_code="18.02"), office_code="18.02")
    central.worker.drain()
    [ev] = central.events(office_code="18.02", kind="enrollment.adjudication")
    assert ev["data"]["reasons"] == ["nik_collision"] and _code(ev) == "RV"


def test_same_person_decided_same_is_one_to_many_under_another_nik(central, people, db, settings):
    from ktpel.central.adjudication import service
    from ktpel.store.schema.central import AdjudicationRow

    central.receive(make_payload(people.biometrics(person=1, impression=1), nik="1801051705900001", name="Budi"))
    central.receive(make_payload(people.biometrics(person=1, impression=2), nik="1802051705900003", name="Budi",
                                 office_code="18.02"), office_code="18.02")
    central.worker.drain()
    [adj] = central.events(office_code="18.02", kind="enrollment.adjudication")
    assert _code(adj) == "ADJ"
    with db.unit_of_work() as s:
        item = s.scalars(select(AdjudicationRow)).one()
    for who in ("adj1", "adj2"):
        with db.unit_of_work() as s:
            version = s.get(AdjudicationRow, item.id).version
            service.decide(s, settings=settings, adjudication_id=item.id, decision=service.SAME, reason="sama",
                           adjudicator=who, version=version)
    [dup] = central.events(office_code="18.02", kind="enrollment.duplicate")
    assert dup["data"]["match"] == "one_to_many" and _code(dup) == "DUP-1:N"
    assert classify(kind="enrollment.duplicate", data={"match": "one_to_one"}).code == "DUP-1:1"


def test_office_records_the_code_and_shows_it(db, settings):
    from ktpel.office.outcomes import latest_outcome, record_outcome
    from ktpel.reports.exports import record_rows
    from ktpel.reports.period import Period, local_today
    from ktpel.store.schema.core import EnrollmentRow
    from tests.integration.printing.conftest import Office

    Office(db, settings).card()
    with db.unit_of_work() as s:
        enrollment = s.scalars(select(EnrollmentRow)).one()
        record_outcome(s, context=HandlerContext(settings=settings),
                       seq=1, kind="enrollment.failed", subject_id=enrollment.id,
                       data={"reason": "Templat finger_2 rusak.", "at": "regional"})
    with db.unit_of_work() as s:
        outcome, detail = latest_outcome(s, resident_id=enrollment.resident_id)
    assert (outcome.code, outcome.name_en, detail["at"]) == ("EFAR", "Enroll Failure at Regional", "regional")
    day = local_today(enrollment.created_at)  # the office's day (WIB), as the export's period means it
    rows = list(record_rows(db, office_code="18.01", period=Period(start=day, end=day)))
    assert rows[0]["hasil_pusat"] == "EFAR — Enroll Failure at Regional"
    from ktpel.security.access import Role
    from ktpel.store.schema.core import ResidentRow
    from ktpel.web.app import create_app
    from tests.auth_fixtures import authed_client

    with db.unit_of_work() as s:
        nik = s.get(ResidentRow, enrollment.resident_id).nik
    page = authed_client(create_app(settings=settings, side="office", db=db), db, Role.OPERATOR).get(f"/penduduk/{nik}")
    assert 'data-code="EFAR"' in page.text and "Enroll Failure at Regional" in page.text


def test_an_older_recordings_outcome_is_not_the_residents_outcome_now(db, settings, clock):
    import datetime as dt

    from ktpel.office.outcomes import latest_outcome, record_outcome
    from ktpel.store.schema.core import EnrollmentRow
    from tests.integration.printing.conftest import Office

    Office(db, settings).card()
    with db.unit_of_work() as s:
        old = s.scalars(select(EnrollmentRow)).one()
        old.created_at = clock.now() - dt.timedelta(days=30)
        record_outcome(s, context=HandlerContext(settings=settings),
                       seq=1, kind="enrollment.duplicate", subject_id=old.id, data={"match": "one_to_many"})
    with db.unit_of_work() as s:
        assert latest_outcome(s, resident_id=old.resident_id)[0].code == "DUP-1:N"
        # recorded again (the old one was a duplicate); central has not decided the new one yet
        s.add(EnrollmentRow(id="E-new", resident_id=old.resident_id, office_code="18.01", state="QUEUED",
                            receipt_number="R-new"))
    with db.unit_of_work() as s:
        assert latest_outcome(s, resident_id=old.resident_id) is None
        record_outcome(s, context=HandlerContext(settings=settings),
                       seq=2, kind="enrollment.print_ready", subject_id="E-new", data={})
    with db.unit_of_work() as s:
        assert latest_outcome(s, resident_id=old.resident_id)[0].code == "PRR"
