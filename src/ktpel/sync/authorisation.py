"""Print authorisation: a compact token signed by central that an office prints from, offline.

Format (also on the card's QR): `KTA1.<base64url canonical JSON of the card>.<key id>.<base64url Ed25519 sig>`;
the signature covers the ASCII bytes `KTA1.<payload>.<key id>`, so anyone with central's public key
verifies a card without a network.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ktpel.domain.errors import KtpelError
from ktpel.sync import crypto

PREFIX = "KTA1"
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


def issue(*, signing_key, card: dict) -> str:  # noqa: ANN001
    """Sign `card` (every field of CARD_FIELDS, JSON values) into a token."""
    missing = [f for f in CARD_FIELDS if f not in card]
    if missing:
        raise InvalidAuthorisation("missing fields: " + ", ".join(missing))
    private = _private(signing_key)
    kid = crypto.key_id(private.public_key())
    head = f"{PREFIX}.{crypto.b64e(crypto.canonical_json(card))}.{kid}"
    return f"{head}.{crypto.sign(private, head.encode('ascii'))}"


def _keys(public_keys) -> dict[str, Ed25519PublicKey]:  # noqa: ANN001
    if isinstance(public_keys, Mapping):
        return dict(public_keys)
    if isinstance(public_keys, Ed25519PublicKey):
        public_keys = [public_keys]
    return {crypto.key_id(k): k for k in public_keys}


def verify(token: str, *, public_keys: Mapping[str, Ed25519PublicKey] | Iterable[Ed25519PublicKey]) -> dict:
    """The signed card dict; raise InvalidAuthorisation unless a trusted key signed exactly this token."""
    parts = token.strip().split(".") if isinstance(token, str) else []
    if len(parts) != 4 or parts[0] != PREFIX:
        raise InvalidAuthorisation("format")
    _, payload, kid, sig = parts
    key = _keys(public_keys).get(kid)
    if key is None:
        raise InvalidAuthorisation("unknown key")
    try:
        crypto.verify(key, sig, f"{PREFIX}.{payload}.{kid}".encode("ascii"))
    except crypto.CryptoError:
        raise InvalidAuthorisation("signature") from None
    try:
        card = json.loads(crypto.b64d(payload))
    except ValueError:
        raise InvalidAuthorisation("payload") from None
    if not isinstance(card, dict) or any(f not in card for f in CARD_FIELDS):
        raise InvalidAuthorisation("payload")
    return card
