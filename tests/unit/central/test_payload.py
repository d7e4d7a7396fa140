"""Reading an enrollment payload: every malformed shape is a poison packet with a reason."""

from __future__ import annotations

import copy

import pytest

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
