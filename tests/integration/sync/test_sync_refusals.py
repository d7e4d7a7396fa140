"""Tampered, wrongly signed, replayed-stale and garbled packets are refused with a reason, logged, not stored."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from ktpel.store.schema.sync import CentralPacketRow, RejectionRow
from ktpel.keys import crypto
from ktpel.sync import envelope as env
from ktpel.keys.keyring import KeyPair, central_keys, load_keyring
from ktpel.office.sync.outbox import packet_content
from ktpel.domain.clock import now as clock_now


def _sealed(office_settings, *, content: bytes | None = None, sender: KeyPair | None = None) -> dict:
    content = content or packet_content(kind="card.issued", subject_id="card-9", payload={"serial": "B-1"})
    return env.seal_packet(content=content, office_code="18.01",
                           sender=sender or load_keyring(office_settings, side="office").active,
                           recipient=central_keys(office_settings)[-1])


def _refused(central_client, central_db, doc, *, reason: str, status: int) -> None:
    r = central_client.post("/api/v1/sync/packets", json=doc)
    assert r.status_code == status, r.text
    assert r.json()["code"] == reason
    with central_db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(CentralPacketRow)) == 0
        logged = s.scalar(select(RejectionRow).order_by(RejectionRow.id.desc()))
    assert logged is not None and logged.reason == reason and logged.office_code == "18.01"


def test_tampered_ciphertext_is_refused(linked, central_client, central_db, office_settings):
    doc = _sealed(office_settings)
    ct = bytearray(crypto.b64d(doc["sealed"]["ct"]))
    ct[5] ^= 0x01
    doc["sealed"]["ct"] = crypto.b64e(bytes(ct))
    _refused(central_client, central_db, doc, reason="bad_signature", status=403)


def test_tampered_and_resigned_by_attacker_key_is_refused(linked, central_client, central_db, office_settings):
    attacker = KeyPair.generate()
    doc = _sealed(office_settings, sender=attacker)
    _refused(central_client, central_db, doc, reason="unknown_key", status=403)


def test_signature_from_the_right_kid_but_wrong_key_is_refused(linked, central_client, central_db, office_settings):
    real = load_keyring(office_settings, side="office").active
    doc = _sealed(office_settings, sender=KeyPair.generate())
    doc["sender_kid"] = real.kid
    doc = crypto.sign_document(KeyPair.generate().signing, doc)
    _refused(central_client, central_db, doc, reason="bad_signature", status=403)


def test_packet_id_not_matching_content_is_refused(linked, central_client, central_db, office_settings):
    ring = load_keyring(office_settings, side="office")
    content = packet_content(kind="card.issued", subject_id="c", payload={})
    doc = {"v": 1, "type": "packet", "office": "18.01", "packet_id": "0" * 64, "sender_kid": ring.active.kid,
           "recipient_kid": central_keys(office_settings)[-1].kid}
    doc["sealed"] = crypto.seal(central_keys(office_settings)[-1].encryption, content,
                                aad=crypto.canonical_json({f: doc.get(f) for f in env.PACKET_AAD}))
    doc = crypto.sign_document(ring.active.signing, doc)
    _refused(central_client, central_db, doc, reason="id_mismatch", status=400)


def test_stale_replay_outside_window_is_refused(linked, central_client, central_db, office_settings):
    old = (clock_now() - dt.timedelta(days=400)).isoformat()
    content = crypto.canonical_json({"v": 1, "kind": "card.issued", "subject_id": "c", "payload": {},
                                     "created_at": old, "nonce": "n"})
    _refused(central_client, central_db, _sealed(office_settings, content=content), reason="stale", status=400)


def test_replay_with_office_field_changed_is_refused(linked, central_client, central_db, office_settings):
    from ktpel.central.sync.intake import register_office

    other = KeyPair.generate()
    with central_db.unit_of_work() as s:
        register_office(s, office_code="18.02", name="Lampung Tengah", keys=[other.public().to_dict()])
    doc = _sealed(office_settings)
    doc["office"] = "18.02"
    r = central_client.post("/api/v1/sync/packets", json=doc)
    assert r.status_code == 403 and r.json()["code"] == "unknown_key"
    with central_db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(CentralPacketRow)) == 0


@pytest.mark.parametrize("body", [{"type": "packet"}, {"hello": 1}, {"type": "packet", "v": 9}])
def test_malformed_envelopes_are_refused(linked, central_client, central_db, body):
    r = central_client.post("/api/v1/sync/packets", json=body)
    assert r.status_code == 400
    assert r.json()["code"] in ("malformed", "unsupported_version")


def test_receipt_for_another_packet_is_not_accepted(linked, central_client, office_settings):
    doc = _sealed(office_settings)
    receipt = central_client.post("/api/v1/sync/packets", json=doc).json()["receipt"]
    with pytest.raises(env.Refused):
        env.verify_receipt(receipt, packet_id="f" * 64, office_code="18.01",
                           central_keys=central_keys(office_settings))
    forged = copy.deepcopy(receipt)
    forged["received_at"] = "2000-01-01T00:00:00+00:00"
    with pytest.raises(env.Refused):
        env.verify_receipt(forged, packet_id=doc["packet_id"], office_code="18.01",
                           central_keys=central_keys(office_settings))


def test_events_request_without_valid_signature_is_refused(linked, central_client, office_settings):
    assert central_client.get("/api/v1/sync/events?after=0").status_code == 401
    headers = env.request_headers(method="GET", path="/api/v1/sync/events", office_code="18.01",
                                  key=KeyPair.generate())
    assert central_client.get("/api/v1/sync/events?after=0", headers=headers).status_code == 403
    good = env.request_headers(method="GET", path="/api/v1/sync/events", office_code="18.01",
                               key=load_keyring(office_settings, side="office").active)
    r = central_client.get("/api/v1/sync/events?after=0", headers=good)
    assert r.status_code == 200 and json.loads(json.dumps(r.json()))["type"] == "events"
