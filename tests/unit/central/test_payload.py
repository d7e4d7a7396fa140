"""Reading an enrollment payload: every malformed shape is a poison packet with a reason."""

from __future__ import annotations

import base64
import copy
import io
import json

import pytest
from PIL import Image

from ktpel.central.pipeline.payload import PoisonPacket, parse

GOOD = {
    "format": "ktpel.enrollment", "version": 1, "enrollment_id": "E-1", "office_code": "18.01",
    "captured_at": "2026-11-29T03:00:00+00:00",
    "resident": {"nik": "1801051705900001", "name": "Budi", "birth_place": "Kalianda", "birth_date": "1990-05-17",
                 "sex": "L"},
    "templates": {"face": "S1RQQg=="}, "images": {}, "exceptions": {},
}


def _with(path, value):
    p = copy.deepcopy(GOOD)
    target = p
    for k in path[:-1]:
        target = target[k]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return p


def test_good_payload_parses():
    p = parse(GOOD, packet_office="18.01", subject_id="E-1")
    assert p.templates == {"face": b"KTPB"} and p.birth_date.year == 1990


@pytest.mark.parametrize("path,value,why", [
    (("format",), "other", "format"),
    (("version",), 9, "format"),
    (("enrollment_id",), "E-2", "subject"),
    (("office_code",), "18.02", "sender"),
    (("captured_at",), "yesterday", "captured_at"),
    (("captured_at",), "2026-11-29T03:00:00", "time zone"),
    (("resident", "nik"), "18010517059000", "16 digits"),
    (("resident", "sex"), "X", "sex"),
    (("resident", "name"), KeyError, "resident.name"),
    (("resident", "birth_date"), "17-05-1990", "birth_date"),
    (("templates", "face"), "***", "base64"),
    (("templates", "face"), "S1RQQg=", "base64"),  # padding short of a whole quantum
    (("templates", "face"), "S1RQ===", "base64"),
    (("templates", "face"), "S1=RQQg=", "base64"),  # padding inside
    (("templates", "face"), "S1RQ\nQg==", "base64"),
    (("images", "face"), "S1RQQg==é", "base64"),
    (("templates", "finger_11"), "S1RQQg==", "unknown templates key"),
    (("exceptions",), ["x"], "exceptions"),
])
def test_malformed_payloads_are_poison(path, value, why):
    with pytest.raises(PoisonPacket) as err:
        parse(_with(path, value), packet_office="18.01", subject_id="E-1")
    assert why in err.value.message_en and err.value.message_id.startswith("Paket rusak")


def test_not_an_object_is_poison():
    with pytest.raises(PoisonPacket):
        parse([1, 2], packet_office="18.01", subject_id="E-1")


def _image(fmt: str, *, size=(40, 50), **save) -> str:
    buf = io.BytesIO()
    Image.new("L", size, 128).save(buf, fmt, **save)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def test_images_stay_base64_and_only_their_headers_are_read():
    images = {"face": _image("PNG"), "finger_1": _image("TIFF"), "signature": _image("PPM")}
    p = parse(_with(("images",), images), packet_office="18.01", subject_id="E-1")
    assert p.images == images


def test_an_image_whose_header_lies_past_the_first_kilobytes_is_read_whole():
    # a JPEG whose comment (or EXIF) comes before the frame header: the size is 24 KB in
    late = _image("JPEG", comment=b"x" * 24_000)
    assert parse(_with(("images",), {"face": late}), packet_office="18.01", subject_id="E-1").images == {"face": late}
    huge = _image("JPEG", size=(9_000, 9_000), comment=b"x" * 24_000)  # 81 Mpx: the policy refuses it all the same
    with pytest.raises(PoisonPacket) as err:
        parse(_with(("images",), {"face": huge}), packet_office="18.01", subject_id="E-1")
    assert err.value.message_en == "Malformed packet: image face refused (image_too_large)."


@pytest.mark.parametrize("data,code", [
    (b"KTPB not an image" * 2000, "not_an_image"),
    (base64.b64decode(_image("TIFF"))[:6], "not_an_image"),  # cut before its first directory
], ids=["text", "cut_tiff"])
def test_an_image_that_is_no_image_is_poison_with_its_reason(data, code):
    text = base64.b64encode(data).decode("ascii")
    with pytest.raises(PoisonPacket) as err:
        parse(_with(("images",), {"finger_2": text}), packet_office="18.01", subject_id="E-1")
    assert err.value.message_en == f"Malformed packet: image finger_2 refused ({code})."


def test_the_records_images_are_the_packets_images_as_json():
    from ktpel.central.pipeline.stages import _images_json

    images = {"face": _image("PNG"), 'odd "kind"\n': "S1RQQg==", "finger_1": ""}
    types = {"face": "image/png", "finger_1": "image/tiff; \"x\""}
    text = _images_json(images=images, types=types)
    assert json.loads(text) == {"data": images, "types": types} and text.isascii()
