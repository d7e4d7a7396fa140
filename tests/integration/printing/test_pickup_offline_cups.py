"""Pickup by 1:1 fingerprint, offline printing reported later, CUPS `lp`, and the PNG preview."""

import io
import os
import stat

import pytest
from sqlalchemy import select

from ktpel.biometrics import get_engine
from ktpel.office.printing import pickup, service
from ktpel.office.printing.drivers import PrintingConfig, PrinterError
from ktpel.store.schema.core import CardRow
from ktpel.store.schema.printing import PickupCheckRow

REG = "18.01"


def _print(db, settings, config, card_id):
    with db.unit_of_work() as s:
        service.receive_blanks(s, first_serial="LS26-000001", last_serial="LS26-000005", actor="kepala")
        service.mark_present(s, card_id=card_id, regency_code=REG, actor="op", classes=[],
                             policy=service.current_policy())
    with db.unit_of_work() as s:
        job = service.start_print(s, card_id=card_id, regency_code=REG, settings=settings, actor="op",
                                  config=config)
    with db.unit_of_work() as s:
        service.confirm_printed(s, job_id=job.id, regency_code=REG, actor="op")
    return job


@pytest.fixture(scope="module")
def prints(shared_data):
    from ktpel.biometrics import get_engine

    folder = shared_data / "fingerprints" / "FVC2002_DB1_B"
    enrolled = (folder / "101_1.tif").read_bytes()
    template = get_engine().extract_finger(enrolled, finger_position=2).to_bytes()
    return {"enrolled": enrolled, "template": template, "same": (folder / "101_3.tif").read_bytes(),
            "other": (folder / "105_2.tif").read_bytes()}


def test_pickup_with_matching_print_issues_and_other_finger_refuses(db, settings, office, prints):
    card_id = office.card(captures={"finger_2": (prints["enrolled"], prints["template"])})
    _print(db, settings, PrintingConfig(spool_dir=settings.data_dir / "spool"), card_id)
    with pytest.raises(pickup.PickupRefused):
        pickup.verify_and_issue(db, card_id=card_id, regency_code=REG, image=prints["other"], actor="op2",
                                finger_position=2)
    with db.unit_of_work() as s:
        assert s.get(CardRow, card_id).state == "PRINTED"  # refused: not issued
        refused = s.scalars(select(PickupCheckRow)).one()
        assert not refused.matched and refused.operator == "op2"
    result = pickup.verify_and_issue(db, card_id=card_id, regency_code=REG, image=prints["same"], actor="op2",
                                     finger_position=2)
    assert result.matched and result.state == "ISSUED"
    with db.unit_of_work() as s:
        card = s.get(CardRow, card_id)
        assert (card.state, card.issued_by) == ("ISSUED", "op2")
        from ktpel.security.audit import AuditQuery, search_audit

        actions = [e.action for e in search_audit(s, query=AuditQuery())[0]]
        assert "pickup.refused" in actions and "card.issued" in actions
    with pytest.raises(pickup.PickupNotPossible):  # issued once only
        pickup.verify_and_issue(db, card_id=card_id, regency_code=REG, image=prints["same"], actor="op2")


def test_face_needs_a_reason_and_unprinted_cards_cannot_be_picked_up(db, settings, office, prints):
    card_id = office.card(captures={"finger_2": (prints["enrolled"], prints["template"])})
    with pytest.raises(pickup.PickupNotPossible):
        pickup.verify_and_issue(db, card_id=card_id, regency_code=REG, image=prints["same"], actor="op")
    with pytest.raises(pickup.PickupNotPossible) as err:
        pickup.verify_and_issue(db, card_id=card_id, regency_code=REG, image=b"x", actor="op", modality="face")
    assert "alasan" in err.value.message_id


def test_offline_print_is_reported_when_the_link_returns(db, settings, office):
    """Central unreachable: the card still prints from its held authorisation; the report waits in the outbox
    and central records the serial once, however often the packet is resent."""
    from ktpel.central.allocation.printed import record_card_printed
    from ktpel.store.schema.printing import PrintedReportRow
    from ktpel.store.schema.sync import OutboxRow
    from ktpel.office.sync.outage import record_failure

    with db.unit_of_work() as s:
        record_failure(s, cause="connection refused", next_attempt_at=None)
    card_id = office.card()
    job = _print(db, settings, PrintingConfig(spool_dir=settings.data_dir / "spool"), card_id)
    with db.unit_of_work() as s:
        from ktpel.office.sync.outage import current_state

        assert not current_state(s).reachable
        packet = s.scalars(select(OutboxRow).where(OutboxRow.kind == "card.printed")).one()
        assert packet.state == "QUEUED"
        import json

        payload = json.loads(packet.content)["payload"]
        assert payload["offline"] is True and payload["blank_serial"] == job.blank_serial
    # central's intake handler, as the sync agent calls it when the link is back
    for _ in range(2):
        with db.unit_of_work() as s:
            record_card_printed(s, packet_id=packet.packet_id, office_code=REG, kind="card.printed",
                                subject_id=card_id, payload=payload)
    with db.unit_of_work() as s:
        report = s.scalars(select(PrintedReportRow)).one()
        assert (report.serial, report.office_code, report.offline) == (job.blank_serial, REG, True)


def test_cups_driver_sends_to_lp(db, settings, office, tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "lp"
    fake.parent.mkdir()
    log = tmp_path / "lp.log"
    fake.write_text(f"#!/bin/sh\necho \"$@\" > {log}\ncat > {tmp_path}/received.pdf\n"
                    "echo 'request id is KartuPrinter-42 (1 file(s))'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    card_id = office.card()
    job = _print(db, settings, PrintingConfig(driver="cups", printer="KartuPrinter"), card_id)
    assert (job.driver, job.destination) == ("cups", "KartuPrinter-42")
    assert "-d KartuPrinter" in log.read_text()
    assert (tmp_path / "received.pdf").read_bytes().startswith(b"%PDF")


def test_cups_refusal_keeps_the_blank(db, settings, office, tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "lp"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'lp: The printer or class does not exist.' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    card_id = office.card()
    with pytest.raises(PrinterError):
        _print(db, settings, PrintingConfig(driver="cups", printer="Nope"), card_id)
    from ktpel.office.printing import ledger

    with db.unit_of_work() as s:
        r = ledger.reconcile(s)
        assert (r.available, r.reserved, r.used) == (5, 0, 0)


def test_preview_is_a_card_sized_png_with_photo(db, settings, office, shared_data):
    from PIL import Image

    face = (shared_data / "faces" / "att_orl" / "s1" / "1.pgm").read_bytes()
    card_id = office.card(captures={"face": (face, None)})
    with db.unit_of_work() as s:
        png = service.preview_card(s, card_id=card_id, regency_code=REG, settings=settings)
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG"
    assert abs(img.width / img.height - 85.60 / 53.98) < 0.01
    # the photo box is not the blank's pale blue any more
    px = img.getpixel((int(img.width * 0.85), int(img.height * 0.40)))
    assert px != (214, 232, 246)


def test_pickup_by_face_issues_to_the_enrolled_person_and_refuses_another(db, settings, office, shared_data):
    """Where prints fail (worn or injured fingers), the face with a written reason: same person → issued."""
    orl = shared_data / "faces" / "att_orl"
    enrolled = (orl / "s7" / "1.pgm").read_bytes()
    template = get_engine().extract_face(enrolled).to_bytes()
    card_id = office.card(captures={"face": (enrolled, template)})
    _print(db, settings, PrintingConfig(spool_dir=settings.data_dir / "spool"), card_id)
    with pytest.raises(pickup.PickupRefused):
        pickup.verify_and_issue(db, card_id=card_id, regency_code=REG, image=(orl / "s8" / "2.pgm").read_bytes(),
                                actor="op", modality="face", face_reason="sidik jari aus (petani)")
    result = pickup.verify_and_issue(db, card_id=card_id, regency_code=REG, image=(orl / "s7" / "4.pgm").read_bytes(),
                                     actor="op", modality="face", face_reason="sidik jari aus (petani)")
    assert result.matched and result.modality == "face" and result.state == "ISSUED"
    with db.unit_of_work() as s:
        checks = s.scalars(select(PickupCheckRow).order_by(PickupCheckRow.id)).all()
        assert [(c.modality, c.matched, c.finger_position) for c in checks] == [("face", False, None),
                                                                                 ("face", True, None)]
        assert checks[1].note == "sidik jari aus (petani)"
        assert s.get(CardRow, card_id).state == "ISSUED"
