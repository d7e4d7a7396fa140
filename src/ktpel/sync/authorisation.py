"""Print authorisation: a compact token signed by central that an office prints from, offline.

Format: `KTA1.<base64url canonical JSON of the card>.<key id>.<base64url Ed25519 sig>`; the signature
covers the ASCII bytes `KTA1.<payload>.<key id>`.

The card's QR carries a shorter token in the same shape, `KTQ1.…`, signed by the same key over the fields a
verifier shows (short keys, see QR_KEYS): about 280 characters instead of ~660, so the 17 mm QR is a
version-12 symbol whose modules a 300 dpi card printer and a phone camera both resolve. Central embeds it
in the authorisation as `qr`, so an office prints it offline; anyone with central's public key verifies a
card without a network (`verify_card_qr` accepts both forms).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ktpel.domain.errors import KtpelError
from ktpel.keys import crypto

PREFIX = "KTA1"
QR_PREFIX = "KTQ1"
# what a card's QR proves: who the card belongs to and which card it is (for the revocation list)
QR_KEYS = {
    "card_id": "c", "enrollment_id": "e", "nik": "n", "name": "m", "birth_place": "p",
    "birth_date": "b", "sex": "s", "regency_code": "r", "issued_at": "i",
}
CARD_FIELDS = (
    "card_id", "enrollment_id", "nik", "name", "birth_place", "birth_date", "sex", "blood_type",
    "street", "rt", "rw", "village_code", "religion", "marital_status", "occupation", "citizenship",
    "regency_code", "issued_at",
)


class InvalidAuthorisation(KtpelError):
    """A print authorisation that is malformed, altered, or not signed by a trusted central key."""

    code = "authorisation_invalid"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Izin cetak tidak sah ({reason}).", f"The print authorisation is not valid ({reason}).")
        self.reason = reason


def _private(signing_key) -> Ed25519PrivateKey:  # noqa: ANN001
    # accepts a raw Ed25519 key or a sync KeyPair, so the pipeline can pass `central_signing_key(settings)`
    return signing_key if isinstance(signing_key, Ed25519PrivateKey) else signing_key.signing


def _sign(prefix: str, data: dict, private: Ed25519PrivateKey) -> str:
    kid = crypto.key_id(private.public_key())
    head = f"{prefix}.{crypto.b64e(crypto.canonical_json(data))}.{kid}"
    return f"{head}.{crypto.sign(private, head.encode('ascii'))}"


def card_qr_token(*, signing_key, card: dict) -> str:  # noqa: ANN001
    """The compact token printed in the card's QR."""
    return _sign(QR_PREFIX, {short: card[name] for name, short in QR_KEYS.items()}, _private(signing_key))


def issue(*, signing_key, card: dict) -> str:  # noqa: ANN001
    """Sign `card` (every field of CARD_FIELDS, JSON values) into a token, with the card's QR token inside."""
    missing = [f for f in CARD_FIELDS if f not in card]
    if missing:
        raise InvalidAuthorisation("missing fields: " + ", ".join(missing))
    private = _private(signing_key)
    signed = {**card, "qr": card_qr_token(signing_key=private, card=card)}
    return _sign(PREFIX, signed, private)


def _keys(public_keys) -> dict[str, Ed25519PublicKey]:  # noqa: ANN001
    if isinstance(public_keys, Mapping):
        return dict(public_keys)
    if isinstance(public_keys, Ed25519PublicKey):
        public_keys = [public_keys]
    return {crypto.key_id(k): k for k in public_keys}


def _open(token: str, *, prefix: str, public_keys) -> dict:  # noqa: ANN001
    parts = token.strip().split(".") if isinstance(token, str) else []
    if len(parts) != 4 or parts[0] != prefix:
        raise InvalidAuthorisation("format")
    _, payload, kid, sig = parts
    key = _keys(public_keys).get(kid)
    if key is None:
        raise InvalidAuthorisation("unknown key")
    try:
        crypto.verify(key, sig, f"{prefix}.{payload}.{kid}".encode("ascii"))
    except crypto.CryptoError:
        raise InvalidAuthorisation("signature") from None
    try:
        data = json.loads(crypto.b64d(payload))
    except ValueError:
        raise InvalidAuthorisation("payload") from None
    if not isinstance(data, dict):
        raise InvalidAuthorisation("payload")
    return data


def verify(token: str, *, public_keys: Mapping[str, Ed25519PublicKey] | Iterable[Ed25519PublicKey]) -> dict:
    """The signed card dict; raise InvalidAuthorisation unless a trusted key signed exactly this token."""
    card = _open(token, prefix=PREFIX, public_keys=public_keys)
    if any(f not in card for f in CARD_FIELDS):
        raise InvalidAuthorisation("payload")
    return card


def verify_card_qr(token: str, *, public_keys) -> dict:  # noqa: ANN001
    """What a card's QR proves (long field names), from a KTQ1 QR token or a full KTA1 authorisation."""
    text = token.strip() if isinstance(token, str) else ""
    if text.startswith(PREFIX + "."):
        return verify(text, public_keys=public_keys)
    data = _open(text, prefix=QR_PREFIX, public_keys=public_keys)
    if set(data) != set(QR_KEYS.values()):
        raise InvalidAuthorisation("payload")
    return {name: data[short] for name, short in QR_KEYS.items()}
