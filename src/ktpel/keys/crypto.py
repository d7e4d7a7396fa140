"""Signing (Ed25519) and sealing (X25519 + HKDF-SHA256 + AES-256-GCM) for packets, events and tokens.

Everything signed is canonical JSON (sorted keys, no spaces, UTF-8) so both sides hash and sign the same
bytes. Binary values travel as unpadded URL-safe base64.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ktpel.domain.errors import KtpelError

SEAL_INFO = b"ktpel-sync-seal-v1"


class CryptoError(KtpelError):
    """A signature that does not verify or a sealed box that does not open."""

    code = "crypto_failed"


def b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def canonical_json(obj: Any) -> bytes:
    """The one byte form of a JSON value that both sides sign and hash."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- keys -----------------------------------------------------------------------------------------

def new_signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def new_encryption_key() -> X25519PrivateKey:
    return X25519PrivateKey.generate()


def raw_private(key: Ed25519PrivateKey | X25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption())


def raw_public(key: Ed25519PublicKey | X25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public: Ed25519PublicKey) -> str:
    """A short, stable id of a signing key (what envelopes name so rotation keeps old packets valid)."""
    return sha256_hex(raw_public(public))[:16]


# -- signatures -----------------------------------------------------------------------------------

def sign(private: Ed25519PrivateKey, data: bytes) -> str:
    return b64e(private.sign(data))


def verify(public: Ed25519PublicKey, signature: str, data: bytes) -> None:
    """Raise CryptoError unless `signature` is `public`'s signature over `data`."""
    try:
        public.verify(b64d(signature), data)
    except (InvalidSignature, ValueError) as exc:
        raise CryptoError("Tanda tangan tidak sah.", "The signature does not verify.",
                          code="bad_signature") from exc


def sign_document(private: Ed25519PrivateKey, doc: dict) -> dict:
    """`doc` plus a `sig` field over the canonical JSON of everything else."""
    body = {k: v for k, v in doc.items() if k != "sig"}
    return {**body, "sig": sign(private, canonical_json(body))}


def verify_document(public: Ed25519PublicKey, doc: dict) -> None:
    sig = doc.get("sig")
    if not isinstance(sig, str):
        raise CryptoError("Tanda tangan tidak ada.", "The signature is missing.", code="bad_signature")
    verify(public, sig, canonical_json({k: v for k, v in doc.items() if k != "sig"}))


# -- sealing --------------------------------------------------------------------------------------

def _derive(shared: bytes, *, epk: bytes, recipient: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=epk + recipient, info=SEAL_INFO).derive(shared)


def seal(recipient: X25519PublicKey, plaintext: bytes, *, aad: bytes) -> dict[str, str]:
    """Encrypt for the holder of `recipient`'s private key: ephemeral X25519, HKDF-SHA256, AES-256-GCM."""
    ephemeral = X25519PrivateKey.generate()
    epk = raw_public(ephemeral.public_key())
    key = _derive(ephemeral.exchange(recipient), epk=epk, recipient=raw_public(recipient))
    nonce = os.urandom(12)
    return {"alg": "X25519-HKDF-SHA256-A256GCM", "epk": b64e(epk), "nonce": b64e(nonce),
            "ct": b64e(AESGCM(key).encrypt(nonce, plaintext, aad))}


def open_sealed(private: X25519PrivateKey, sealed: dict, *, aad: bytes) -> bytes:
    """Decrypt a sealed box; raise CryptoError when it was not sealed for us or was altered."""
    try:
        epk = b64d(sealed["epk"])
        key = _derive(private.exchange(X25519PublicKey.from_public_bytes(epk)), epk=epk,
                      recipient=raw_public(private.public_key()))
        return AESGCM(key).decrypt(b64d(sealed["nonce"]), b64d(sealed["ct"]), aad)
    except (InvalidTag, KeyError, ValueError, TypeError) as exc:
        raise CryptoError("Paket terenkripsi tidak dapat dibuka.", "The sealed box does not open.",
                          code="bad_seal") from exc
