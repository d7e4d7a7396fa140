"""Credentials an office signs itself, offline: the Suket's QR (`KTS1`) and the IKD digital ID (`KTD1`).

Same shape and scheme as the card QR (`KTQ1`, see `ktpel.sync.authorisation`):
`<prefix>.<base64url canonical JSON>.<key id>.<base64url Ed25519 signature>`, the signature over the ASCII
bytes `<prefix>.<payload>.<key id>`. A card is signed by central; a Suket or an IKD is issued at the counter
while the network may be down, so it is signed with the office's own sync key, the key central already
holds for that office (registration). A verifier trusts central's keys and the office's keys it knows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ktpel.config import Settings
from ktpel.domain.errors import KtpelError
from ktpel.keys import crypto

SUKET_PREFIX = "KTS1"
IKD_PREFIX = "KTD1"
PREFIXES = (SUKET_PREFIX, IKD_PREFIX)

# short keys keep the QR small; long names are what callers see
SUKET_KEYS = {
    "serial": "s", "nik": "n", "name": "m", "birth_place": "p", "birth_date": "b", "sex": "x", "address": "a",
    "status_code": "c", "valid_from": "f", "valid_until": "v", "office_code": "o",
}
IKD_KEYS = {
    "credential_id": "d", "nik": "n", "name": "m", "birth_place": "p", "birth_date": "b", "sex": "x",
    "office_code": "o", "activated_at": "i",
}
_KEYS = {SUKET_PREFIX: SUKET_KEYS, IKD_PREFIX: IKD_KEYS}


class InvalidCredential(KtpelError):
    """A credential that is malformed, altered, or signed by a key nobody here trusts."""

    code = "credential_invalid"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Dokumen tidak sah ({reason}).", f"The credential is not valid ({reason}).")
        self.reason = reason


def office_signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The office's active signing key (created on first use, as sync would)."""
    from ktpel.keys.keyring import init_keys

    ring, _ = init_keys(settings, side="office")
    return ring.active.signing


def trusted_keys(settings: Settings) -> dict[str, Ed25519PublicKey]:
    """Central's keys and this office's own keys (old ones included: a rotation keeps issued Suket valid)."""
    from ktpel.keys.keyring import central_public_keys, keyring_path, load_keyring

    keys = dict(central_public_keys(settings))
    if keyring_path(settings, side="office").is_file():
        keys.update({p.kid: p.signing.public_key() for p in load_keyring(settings, side="office").pairs})
    return keys


def sign(*, prefix: str, data: dict, private: Ed25519PrivateKey) -> str:
    """A compact signed token of `data` (long field names in, short keys signed)."""
    short = {key: data[name] for name, key in _KEYS[prefix].items()}
    kid = crypto.key_id(private.public_key())
    head = f"{prefix}.{crypto.b64e(crypto.canonical_json(short))}.{kid}"
    return f"{head}.{crypto.sign(private, head.encode('ascii'))}"


def kind_of(token: str) -> str | None:
    """`KTS1` / `KTD1` when the text looks like an office credential, else None."""
    head = (token or "").strip().split(".", 1)[0]
    return head if head in PREFIXES else None


def verify(token: str, *, public_keys: Mapping[str, Ed25519PublicKey]) -> tuple[str, dict]:
    """(prefix, fields with long names); raise InvalidCredential unless a trusted key signed exactly this."""
    parts = token.strip().split(".") if isinstance(token, str) else []
    if len(parts) != 4 or parts[0] not in PREFIXES:
        raise InvalidCredential("format")
    prefix, payload, kid, sig = parts
    key = public_keys.get(kid)
    if key is None:
        raise InvalidCredential("unknown key")
    try:
        crypto.verify(key, sig, f"{prefix}.{payload}.{kid}".encode("ascii"))
        data = json.loads(crypto.b64d(payload))
    except crypto.CryptoError:
        raise InvalidCredential("signature") from None
    except ValueError:
        raise InvalidCredential("payload") from None
    names = _KEYS[prefix]
    if not isinstance(data, dict) or set(data) != set(names.values()):
        raise InvalidCredential("payload")
    return prefix, {name: data[short] for name, short in names.items()}
