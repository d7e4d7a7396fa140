"""Pure crypto and envelope rules: seal/open, signatures, packet ids, receipts, authorisation tokens."""

from __future__ import annotations

import pytest

from ktpel.sync import authorisation
from ktpel.keys import crypto
from ktpel.sync import envelope as env
from ktpel.keys.keyring import KeyPair, Keyring, PublicKeys
from ktpel.office.sync.outbox import InvalidPacket, packet_content

CARD = {f: "x" for f in authorisation.CARD_FIELDS}


def test_sealed_box_opens_only_for_its_recipient_and_aad():
    alice, mallory = KeyPair.generate(), KeyPair.generate()
    box = crypto.seal(alice.encryption.public_key(), b"rahasia", aad=b"hdr")
    assert crypto.open_sealed(alice.encryption, box, aad=b"hdr") == b"rahasia"
    with pytest.raises(crypto.CryptoError):
        crypto.open_sealed(mallory.encryption, box, aad=b"hdr")
    with pytest.raises(crypto.CryptoError):
        crypto.open_sealed(alice.encryption, box, aad=b"other")


def test_signed_document_detects_any_change():
    k = KeyPair.generate()
    doc = crypto.sign_document(k.signing, {"a": 1, "b": [1, 2]})
    crypto.verify_document(k.signing.public_key(), doc)
    with pytest.raises(crypto.CryptoError):
        crypto.verify_document(k.signing.public_key(), {**doc, "a": 2})


def test_same_payload_twice_is_two_packets_but_id_is_content_hash():
    a = packet_content(kind="enrollment", subject_id="e1", payload={"x": 1})
    b = packet_content(kind="enrollment", subject_id="e1", payload={"x": 1})
    assert a != b
    assert crypto.sha256_hex(a) != crypto.sha256_hex(b)


@pytest.mark.parametrize("kind,subject,payload", [("", "s", {}), ("k", "", {}), ("k", "s", []),
                                                  ("k", "s", {"b": b"raw"})])
def test_invalid_packets_are_refused_at_enqueue(kind, subject, payload):
    with pytest.raises(InvalidPacket):
        packet_content(kind=kind, subject_id=subject, payload=payload)


def test_packet_opens_at_central_after_key_rotation():
    office = KeyPair.generate()
    old_central = KeyPair.generate()
    content = packet_content(kind="enrollment", subject_id="e1", payload={"nik": "1"})
    doc = env.seal_packet(content=content, office_code="18.01", sender=office, recipient=old_central.public())
    rotated = Keyring(pairs=(old_central, KeyPair.generate()))  # central rotated while the packet was in flight
    env.verify_packet(doc, office_keys=[office.public()])
    assert env.open_packet(doc, central=rotated)["subject_id"] == "e1"


def test_public_keys_round_trip_and_reject_wrong_kid():
    pub = KeyPair.generate().public()
    assert PublicKeys.from_dict(pub.to_dict()).kid == pub.kid
    with pytest.raises(ValueError):
        PublicKeys.from_dict({**pub.to_dict(), "kid": "0" * 16})


def test_authorisation_round_trip_and_tamper():
    central = KeyPair.generate()
    token = authorisation.issue(signing_key=central, card=CARD)
    signed = authorisation.verify(token, public_keys=[central.signing.public_key()])
    assert {k: v for k, v in signed.items() if k != "qr"} == CARD
    # the card's compact QR token is signed by the same key and names the same card
    assert authorisation.verify_card_qr(signed["qr"], public_keys=[central.signing.public_key()])["nik"] == CARD["nik"]
    with pytest.raises(authorisation.InvalidAuthorisation):
        authorisation.verify_card_qr(signed["qr"], public_keys=[KeyPair.generate().signing.public_key()])
    head, payload, kid, sig = token.split(".")
    forged_payload = crypto.b64e(crypto.canonical_json({**CARD, "name": "lain"}))
    with pytest.raises(authorisation.InvalidAuthorisation):
        authorisation.verify(".".join([head, forged_payload, kid, sig]), public_keys=[central.signing.public_key()])
    with pytest.raises(authorisation.InvalidAuthorisation):
        authorisation.verify(token, public_keys=[KeyPair.generate().signing.public_key()])
    with pytest.raises(authorisation.InvalidAuthorisation):
        authorisation.verify("garbage", public_keys={})
    with pytest.raises(authorisation.InvalidAuthorisation):
        authorisation.issue(signing_key=central, card={"card_id": "1"})


def test_authorisation_verifies_with_a_key_id_map():
    central = KeyPair.generate()
    token = authorisation.issue(signing_key=central.signing, card=CARD)
    assert authorisation.verify(token, public_keys={central.kid: central.signing.public_key()})["card_id"] == "x"
