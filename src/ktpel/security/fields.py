"""Field encryption at rest (AES-256-GCM) and blind indexes for searching encrypted names.

Keys come from a key file under the data directory or from KTPEL_FIELD_KEYS (comma-separated
`id:base64key`, newest first). Each ciphertext carries its key id, so rotation re-encrypts rows in the
background while old rows stay readable. A KMS would plug in by providing `FieldKeyring.from_kms`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_PREFIX = b"k1"  # format marker of a ciphertext: k1 | key id (1 byte len + id) | nonce | ct+tag


@dataclass(frozen=True)
class FieldKeyring:
    """The active key (first) and older keys still accepted for decryption."""

    keys: tuple[tuple[str, bytes], ...]

    @property
    def active_id(self) -> str:
        return self.keys[0][0]

    def key(self, key_id: str) -> bytes:
        for kid, key in self.keys:
            if kid == key_id:
                return key
        raise KeyError(f"field key {key_id!r} is not in the keyring")

    @classmethod
    def generate(cls) -> "FieldKeyring":
        return cls(keys=(("k" + os.urandom(4).hex(), AESGCM.generate_key(bit_length=256)),))

    def rotated(self) -> "FieldKeyring":
        """A keyring with a fresh active key; old keys stay for reading until re-encryption ends."""
        fresh = FieldKeyring.generate().keys[0]
        return FieldKeyring(keys=(fresh, *self.keys))

    def dumps(self) -> str:
        return ",".join(f"{kid}:{base64.b64encode(key).decode()}" for kid, key in self.keys)

    @classmethod
    def loads(cls, text: str) -> "FieldKeyring":
        pairs = []
        for item in text.strip().split(","):
            kid, b64 = item.split(":", 1)
            pairs.append((kid.strip(), base64.b64decode(b64)))
        if not pairs:
            raise ValueError("empty keyring")
        return cls(keys=tuple(pairs))

    @classmethod
    def load_or_create(cls, path: Path) -> "FieldKeyring":
        env = os.environ.get("KTPEL_FIELD_KEYS")
        if env:
            return cls.loads(env)
        if path.is_file():
            return cls.loads(path.read_text())
        ring = cls.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(ring.dumps())
        path.chmod(0o600)
        return ring


class FieldCipher:
    """Encrypts one value at a time; associated data binds a ciphertext to its column."""

    def __init__(self, keyring: FieldKeyring) -> None:
        self.keyring = keyring
        self._aead = {kid: AESGCM(key) for kid, key in keyring.keys}
        # the blind-index key is derived from the oldest key so indexes survive rotation
        self._index_key = hashlib.sha256(b"ktpel-blind-index" + keyring.keys[-1][1]).digest()

    def encrypt(self, plaintext: bytes, *, aad: bytes = b"") -> bytes:
        kid = self.keyring.active_id.encode()
        nonce = os.urandom(12)
        return _PREFIX + bytes([len(kid)]) + kid + nonce + self._aead[kid.decode()].encrypt(nonce, plaintext, aad)

    def decrypt(self, blob: bytes, *, aad: bytes = b"") -> bytes:
        if not blob.startswith(_PREFIX):
            raise ValueError("not a ktpel field ciphertext")
        n = blob[2]
        kid = blob[3 : 3 + n].decode()
        nonce = blob[3 + n : 15 + n]
        aead = self._aead.get(kid)
        if aead is None:
            raise KeyError(f"field key {kid!r} is not in the keyring")
        return aead.decrypt(nonce, blob[15 + n :], aad)

    def key_id_of(self, blob: bytes) -> str:
        return blob[3 : 3 + blob[2]].decode()

    def blind_index(self, token: str) -> str:
        """A keyed hash of one normalised word, so equal words match without storing them."""
        return hmac.new(self._index_key, token.encode(), hashlib.sha256).hexdigest()[:32]


def name_tokens(text: str) -> list[str]:
    """Normalised words of a name, for the blind index (case and accents ignored)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return sorted({t for t in re.split(r"[^a-z0-9]+", folded) if len(t) >= 2})


_cipher: FieldCipher | None = None


def configure_cipher(cipher: FieldCipher) -> None:
    global _cipher
    _cipher = cipher


def cipher() -> FieldCipher:
    """The process-wide field cipher, set up when the database is opened."""
    if _cipher is None:
        raise RuntimeError("field encryption is not configured: open the database with store.db.open_database")
    return _cipher
