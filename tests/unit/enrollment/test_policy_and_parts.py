"""Recording policy, phone numbers, receipt PDF, packet shape and the folder scanner, without a database."""

from __future__ import annotations

import datetime as dt
import threading
import time
import types

import pytest

from ktpel.office.enrollment.packet import PACKET_FORMAT, PACKET_VERSION, build_payload, decode_binary
from ktpel.office.enrollment.policy import (
    CaptureException, ExceptionKind, RecordingError, approval_reasons, label_id, parse_exception,
)
from ktpel.office.enrollment.receipt import qr_text, render_receipt
from ktpel.office.enrollment.scanner import FolderScanner, ScannerAdapter, ScannerTimeout
from ktpel.office.enrollment.service import new_receipt_number, parse_phone


def _missing(n: int) -> dict[str, CaptureException]:
    return {f"finger_{i}": CaptureException(ExceptionKind.MISSING, "amputasi") for i in range(1, n + 1)}


def test_two_missing_fingers_need_no_supervisor_but_three_do():
    assert approval_reasons(exceptions=_missing(2), overridden=[]) == []
    assert approval_reasons(exceptions=_missing(3), overridden=[]) == ["3 jari tidak direkam (> 2)"]


def test_accepted_low_quality_needs_a_supervisor_and_names_the_item():
    reasons = approval_reasons(exceptions={}, overridden=["finger_6"])
    assert reasons == ["kualitas rendah diterima: sidik jari 6 (ibu jari kiri)"]


def test_a_declared_exception_needs_a_known_kind_and_a_reason():
    assert parse_exception("finger_2", None) is None
    assert parse_exception("finger_2", {"kind": "injured", "reason": "diperban"}).kind is ExceptionKind.INJURED
    with pytest.raises(RecordingError) as err:
        parse_exception("finger_2", {"kind": "missing", "reason": " "})
    assert "alasan" in err.value.message_id
    with pytest.raises(RecordingError) as err:
        parse_exception("finger_2", {"kind": "lost", "reason": "hilang"})
    assert err.value.code == "exception_invalid"


def test_labels_follow_iso_finger_positions():
    assert label_id("finger_1") == "sidik jari 1 (ibu jari kanan)"
    assert label_id("finger_10") == "sidik jari 10 (kelingking kiri)"


@pytest.mark.parametrize("raw, e164", [
    ("0812-3456-7890", "+6281234567890"), ("+62 812 3456 7890", "+6281234567890"),
    ("(0721) 123456", "+62721123456"), ("+44 20 7946 0958", "+442079460958"),
])
def test_phone_numbers_become_e164_with_indonesia_as_default(raw, e164):
    assert parse_phone(raw) == e164


@pytest.mark.parametrize("raw", ["12", "0812", "telepon", "+62 000 0000"])
def test_invalid_phone_numbers_are_refused_in_bahasa(raw):
    with pytest.raises(RecordingError) as err:
        parse_phone(raw)
    assert "tidak valid" in err.value.message_id and err.value.code == "phone_invalid"


def test_receipt_numbers_are_unambiguous_and_distinct():
    numbers = {new_receipt_number() for _ in range(500)}
    assert len(numbers) == 500
    assert all(len(n) == 14 and n[4] == n[9] == "-" and not set(n) & set("ILOU") for n in numbers)


def test_receipt_pdf_holds_the_numbers_and_what_happens_next(clock):
    pdf = render_receipt(enrollment_id="e" * 32, receipt_number="AB12-CD34-EF56", nik="1801064508990001",
                         name="SITI AMINAH", recorded_at=clock.wib(10),
                         office_name="Disdukcapil Kabupaten Lampung Selatan", state_label="ANTRE")
    assert pdf.startswith(b"%PDF") and pdf.rstrip().endswith(b"%%EOF")
    for text in (b"AB12-CD34-EF56", b"1801064508990001", b"SITI AMINAH",
                 clock.today().strftime("%d-%m-%Y 10:00 WIB").encode(),
                 b"Langkah selanjutnya", b"/Subtype /Image"):
        assert text in pdf, text
    assert qr_text(receipt_number="R", nik="N", enrollment_id="E") == "KTPEL-RCPT:R:N:E"


def test_packet_carries_templates_images_and_demographics_versioned(clock):
    resident = types.SimpleNamespace(
        nik="1801064508990001", kk_number="1801060101200001", name="SITI", birth_place="KALIANDA",
        birth_date=dt.date(1999, 8, 5), sex="P", blood_type="O", street="JL. MAWAR", rt="001", rw="002",
        village_code="18.01.06.2001", religion="ISLAM", marital_status="KAWIN", occupation="PETANI",
        citizenship="WNI", family_role="ISTRI", father_name="", mother_name="", regency_code="18.01",
        district_code="18.01.06")
    enrollment = types.SimpleNamespace(id="e1", office_code="18.01", receipt_number="R", operator="op",
                                       approved_by=None, quality={"face": {"score": 90}}, exceptions={})
    captures = [types.SimpleNamespace(kind="face", template=b"T1", image=b"I1", content_type="image/png"),
                types.SimpleNamespace(kind="signature", template=None, image=b"S", content_type="image/png")]
    payload = build_payload(enrollment=enrollment, resident=resident, captures=captures,
                            captured_at=clock.now())
    assert payload["format"] == PACKET_FORMAT and payload["version"] == PACKET_VERSION == 1
    assert payload["resident"]["birth_date"] == "1999-08-05"
    assert decode_binary(payload, section="templates") == {"face": b"T1"}
    assert decode_binary(payload, section="images") == {"face": b"I1", "signature": b"S"}


def test_folder_scanner_waits_for_a_complete_file_and_takes_it_once(tmp_path):
    scanner = FolderScanner(tmp_path, poll_s=0.02)
    assert isinstance(scanner, ScannerAdapter)

    def drop() -> None:
        time.sleep(0.1)
        (tmp_path / "finger_3.png").write_bytes(b"scan-3")

    threading.Thread(target=drop).start()
    assert scanner.capture(finger_position=3, timeout_s=5) == b"scan-3"
    assert not (tmp_path / "finger_3.png").exists() and len(list((tmp_path / "taken").iterdir())) == 1
    with pytest.raises(ScannerTimeout) as err:
        scanner.capture(finger_position=3, timeout_s=0.1)
    assert "Pemindai" in err.value.message_id
    with pytest.raises(ValueError):
        scanner.capture(finger_position=11, timeout_s=0.1)


def test_receipt_qr_never_covers_text(clock):
    """A long name and the next steps stay clear of the QR and inside the page (issue 18, problem 4)."""
    from tests.pdf_layout import boxes, overlaps

    pdf = render_receipt(enrollment_id="e" * 32, receipt_number="AB12-CD34-EF56", nik="1801064508990001",
                         name="SITI AMINAH BINTI ABDULLAH RAHMAN SUKMAWATI PUTRI NUSANTARA",
                         recorded_at=clock.wib(10),
                         office_name="Disdukcapil Kabupaten Lampung Selatan", state_label="Antre kirim ke pusat")
    texts, images = boxes(pdf)
    assert len(images) == 1 and any(t[0] == "Langkah selanjutnya" for t in texts)
    assert overlaps(pdf) == []
    from reportlab.lib.pagesizes import A5

    assert all(x1 <= A5[0] - 20 for _, _, _, x1, _ in texts), "a line runs off the page"
    assert all("e" * 32 not in t[0] for t in texts)
