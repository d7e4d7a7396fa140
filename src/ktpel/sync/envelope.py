"""The wire formats (version 1): packet envelope, receipt, events batch, signed request headers.

See docs/sync.md for the field-by-field description.
"""

from __future__ import annotations

import datetime as dt
import json

from ktpel.domain import clock
from ktpel.domain.errors import KtpelError
from ktpel.keys import crypto
from ktpel.keys.keyring import KeyPair, Keyring, PublicKeys

VERSION = 1


class Refused(KtpelError):
    """A packet, receipt or request that fails a check; `reason` is the short machine code."""

    code = "sync_refused"

    def __init__(self, reason: str, detail: str, *, status: int = 400) -> None:
        super().__init__(f"Ditolak ({reason}): {detail}", f"Refused ({reason}): {detail}", code=reason)
        self.reason = reason
        self.detail = detail
        self.http_status = status


def _header(doc: dict, fields: tuple[str, ...]) -> bytes:
    return crypto.canonical_json({f: doc.get(f) for f in fields})


PACKET_AAD = ("v", "type", "office", "packet_id", "sender_kid", "recipient_kid")


def seal_packet(*, content: bytes, office_code: str, sender: KeyPair, recipient: PublicKeys) -> dict:
    """Wrap queued content for central: sealed to its key, signed by the office key."""
    doc = {"v": VERSION, "type": "packet", "office": office_code, "packet_id": crypto.sha256_hex(content),
           "sender_kid": sender.kid, "recipient_kid": recipient.kid}
    doc["sealed"] = crypto.seal(recipient.encryption, content, aad=_header(doc, PACKET_AAD))
    return crypto.sign_document(sender.signing, doc)


def check_packet_shape(doc: object) -> dict:
    if not isinstance(doc, dict) or doc.get("type") != "packet":
        raise Refused("malformed", "not a packet envelope")
    if doc.get("v") != VERSION:
        raise Refused("unsupported_version", f"envelope version {doc.get('v')!r}")
    for f in ("office", "packet_id", "sender_kid", "recipient_kid", "sig"):
        if not isinstance(doc.get(f), str):
            raise Refused("malformed", f"field {f} missing")
    if not isinstance(doc.get("sealed"), dict):
        raise Refused("malformed", "field sealed missing")
    return doc


def verify_packet(doc: dict, *, office_keys: list[PublicKeys]) -> None:
    """Check the office signature with the key the envelope names (old keys stay valid after rotation)."""
    key = next((k for k in office_keys if k.kid == doc["sender_kid"]), None)
    if key is None:
        raise Refused("unknown_key", f"office key {doc['sender_kid']} is not registered", status=403)
    try:
        crypto.verify_document(key.signing, doc)
    except crypto.CryptoError:
        raise Refused("bad_signature", "the office signature does not verify", status=403) from None


def open_packet(doc: dict, *, central: Keyring) -> dict:
    """Decrypt, check the content hash is the packet id, and parse the content."""
    pair = central.find(doc["recipient_kid"])
    if pair is None:
        raise Refused("unknown_key", f"central key {doc['recipient_kid']} is unknown")
    try:
        content = crypto.open_sealed(pair.encryption, doc["sealed"], aad=_header(doc, PACKET_AAD))
    except crypto.CryptoError:
        raise Refused("bad_seal", "the sealed content does not open (altered or not for us)") from None
    if crypto.sha256_hex(content) != doc["packet_id"]:
        raise Refused("id_mismatch", "the packet id is not the hash of its content")
    try:
        body = json.loads(content)
        created = dt.datetime.fromisoformat(body["created_at"])
    except (ValueError, KeyError, TypeError):
        raise Refused("invalid_content", "content is not a valid packet") from None
    if (not isinstance(body.get("kind"), str) or not isinstance(body.get("subject_id"), str)
            or not isinstance(body.get("payload"), dict) or created.tzinfo is None):
        raise Refused("invalid_content", "content lacks kind, subject_id, payload or created_at")
    body["created_at"] = created
    return body


# -- receipts -------------------------------------------------------------------------------------

def make_receipt(*, packet_id: str, office_code: str, central: KeyPair, received_at: dt.datetime) -> dict:
    return crypto.sign_document(central.signing, {
        "v": VERSION, "type": "receipt", "packet_id": packet_id, "office": office_code,
        "received_at": received_at.isoformat(), "central_kid": central.kid})


def _check_central_signature(doc: dict, *, central_keys: list[PublicKeys], code: str, what: str) -> None:
    """Refuse a document unless a known central key (named by `central_kid`) signed it."""
    key = next((k for k in central_keys if k.kid == doc.get("central_kid")), None)
    if key is None:
        raise Refused(code, f"{what} is signed by an unknown central key")
    try:
        crypto.verify_document(key.signing, doc)
    except crypto.CryptoError:
        raise Refused(code, f"{what} signature does not verify") from None


def verify_receipt(receipt: object, *, packet_id: str, office_code: str, central_keys: list[PublicKeys]) -> dict:
    """A receipt counts only if central signed it for exactly this packet and this office."""
    if not isinstance(receipt, dict) or receipt.get("type") != "receipt":
        raise Refused("bad_receipt", "not a receipt")
    if receipt.get("packet_id") != packet_id or receipt.get("office") != office_code:
        raise Refused("bad_receipt", "the receipt is for another packet or office")
    _check_central_signature(receipt, central_keys=central_keys, code="bad_receipt", what="the receipt")
    return receipt


# -- events batch (central → office) ---------------------------------------------------------------

EVENTS_AAD = ("v", "type", "office", "after", "central_kid", "recipient_kid")


def seal_events(*, events: list[dict], office_code: str, after: int, central: KeyPair,
                office: PublicKeys) -> dict:
    doc = {"v": VERSION, "type": "events", "office": office_code, "after": after,
           "central_kid": central.kid, "recipient_kid": office.kid}
    doc["sealed"] = crypto.seal(office.encryption, crypto.canonical_json({"events": events}),
                                aad=_header(doc, EVENTS_AAD))
    return crypto.sign_document(central.signing, doc)


def open_events(doc: object, *, office_code: str, after: int, central_keys: list[PublicKeys],
                office: Keyring) -> list[dict]:
    if not isinstance(doc, dict) or doc.get("type") != "events" or doc.get("v") != VERSION:
        raise Refused("bad_events", "not an events batch")
    if doc.get("office") != office_code or doc.get("after") != after:
        raise Refused("bad_events", "the batch is for another office or cursor")
    _check_central_signature(doc, central_keys=central_keys, code="bad_events", what="the batch")
    pair = office.find(str(doc.get("recipient_kid")))
    if pair is None:
        raise Refused("bad_events", "sealed for an office key we do not hold")
    try:
        body = json.loads(crypto.open_sealed(pair.encryption, doc["sealed"], aad=_header(doc, EVENTS_AAD)))
    except crypto.CryptoError:
        raise Refused("bad_events", "the batch does not open") from None
    return body["events"]


# -- a sealed reply to one office's signed read (central → office) -----------------------------------

def seal_for_office(*, doc_type: str, bound: dict[str, str], body: dict, central: KeyPair,
                    office: PublicKeys) -> dict:
    """A reply only the asking office opens, signed by central; `bound` (ids of what was asked) is
    authenticated with the content, so a reply for another case or record does not open as this one."""
    doc = {"v": VERSION, "type": doc_type, **bound, "central_kid": central.kid, "recipient_kid": office.kid}
    fields = tuple(sorted(doc))
    doc["sealed"] = crypto.seal(office.encryption, crypto.canonical_json(body), aad=_header(doc, fields))
    return crypto.sign_document(central.signing, doc)


def open_from_central(doc: object, *, doc_type: str, bound: dict[str, str], central_keys: list[PublicKeys],
                      office: Keyring) -> dict:
    """The body of a reply sealed by `seal_for_office`, after checking type, ids, signature and seal."""
    if not isinstance(doc, dict) or doc.get("type") != doc_type or doc.get("v") != VERSION:
        raise Refused("bad_reply", f"not a {doc_type} reply")
    if any(doc.get(k) != v for k, v in bound.items()):
        raise Refused("bad_reply", "the reply is for another office or subject")
    _check_central_signature(doc, central_keys=central_keys, code="bad_reply", what="the reply")
    pair = office.find(str(doc.get("recipient_kid")))
    if pair is None:
        raise Refused("bad_reply", "sealed for an office key we do not hold")
    fields = tuple(sorted(k for k in doc if k not in ("sealed", "sig")))
    try:
        return json.loads(crypto.open_sealed(pair.encryption, doc["sealed"], aad=_header(doc, fields)))
    except (crypto.CryptoError, KeyError, TypeError, ValueError):
        raise Refused("bad_reply", "the reply does not open") from None


# -- signed requests (office → central, for reads) --------------------------------------------------

def request_headers(*, method: str, path: str, office_code: str, key: KeyPair,
                    now: dt.datetime | None = None) -> dict[str, str]:
    ts = str(int((now or clock.now()).timestamp()))
    msg = f"{method.upper()}\n{path}\n{office_code}\n{ts}".encode()
    return {"X-Ktpel-Office": office_code, "X-Ktpel-Kid": key.kid, "X-Ktpel-Time": ts,
            "X-Ktpel-Sig": crypto.sign(key.signing, msg)}


def verify_request(headers, *, method: str, path: str, office_keys_of, max_skew_s: int = 300) -> str:  # noqa: ANN001
    """Return the office code of a correctly signed, fresh request; `office_keys_of(code)` gives its keys."""
    code, kid = headers.get("x-ktpel-office"), headers.get("x-ktpel-kid")
    ts, sig = headers.get("x-ktpel-time"), headers.get("x-ktpel-sig")
    if not (code and kid and ts and sig):
        raise Refused("unsigned", "request is not signed", status=401)
    try:
        skew = abs(clock.now().timestamp() - int(ts))
    except ValueError:
        raise Refused("unsigned", "bad timestamp", status=401) from None
    if skew > max_skew_s:
        raise Refused("stale_request", "request timestamp too far from central's clock", status=401)
    keys = office_keys_of(code)
    if keys is None:
        raise Refused("unknown_office", f"office {code} is not registered", status=403)
    key = next((k for k in keys if k.kid == kid), None)
    if key is None:
        raise Refused("unknown_key", "office key not registered", status=403)
    try:
        crypto.verify(key.signing, sig, f"{method.upper()}\n{path}\n{code}\n{ts}".encode())
    except crypto.CryptoError:
        raise Refused("bad_signature", "request signature does not verify", status=403) from None
    return code
