"""Field encryption at rest (AES-256-GCM) and blind indexes for searching encrypted names.

Keys come from a key file under the data directory or from KTPEL_FIELD_KEYS (comma-separated
`id:base64key`, newest first), or from a KMS through KTPEL_FIELD_KEY_PROVIDER ("module:function" returning
that same text, e.g. after unwrapping data keys with the KMS). Each ciphertext carries its key id, so
rotation (ktpel.security.rotation) re-encrypts rows in the background while old rows stay readable; a
running server notices a rewritten key file and picks up the new active key without a restart.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib
import os
import re
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_PREFIX = b"k1"  # format marker of a ciphertext: k1 | key id (1 byte len + id) | nonce | ct+tag


@dataclass(frozen=True)
class FieldKeyring:
    """The active key (first) and older keys still accepted for decryption."""

    keys: tuple[tuple[str, bytes], ...]
    # the key file this ring came from, so a running process can pick up a rotation
    source: Path | None = field(default=None, compare=False)
    # the blind-index key, pinned (entry "_index") once the key it was derived from is retired;
    # a one-way derivative, so keeping it does not keep the retired key's decrypting power
    index_key: bytes | None = None

    def derived_index_key(self) -> bytes:
        if self.index_key is not None:
            return self.index_key
        return hashlib.sha256(b"ktpel-blind-index" + self.keys[-1][1]).digest()

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
        return FieldKeyring(keys=(fresh, *self.keys), source=self.source, index_key=self.index_key)

    def without(self, key_ids: set[str]) -> "FieldKeyring":
        """The ring minus retired keys; the blind-index key is pinned first so name search survives."""
        if self.active_id in key_ids:
            raise ValueError("the active key cannot be retired")
        return FieldKeyring(keys=tuple(k for k in self.keys if k[0] not in key_ids), source=self.source,
                            index_key=self.derived_index_key())

    def dumps(self) -> str:
        items = [f"{kid}:{base64.b64encode(key).decode()}" for kid, key in self.keys]
        if self.index_key is not None:
            items.append(f"_index:{base64.b64encode(self.index_key).decode()}")
        return ",".join(items)

    @classmethod
    def loads(cls, text: str) -> "FieldKeyring":
        pairs = []
        index_key = None
        for item in text.strip().split(","):
            kid, b64 = item.split(":", 1)
            if kid.strip() == "_index":
                index_key = base64.b64decode(b64)
            else:
                pairs.append((kid.strip(), base64.b64decode(b64)))
        if not pairs:
            raise ValueError("empty keyring")
        return cls(keys=tuple(pairs), index_key=index_key)

    @classmethod
    def from_provider(cls, spec: str) -> "FieldKeyring":
        """The KMS hook: `module:function` returning the keyring text (id:base64key, newest first)."""
        module, _, attr = spec.partition(":")
        return cls.loads(getattr(importlib.import_module(module), attr)())

    @classmethod
    def load_or_create(cls, path: Path) -> "FieldKeyring":
        provider = os.environ.get("KTPEL_FIELD_KEY_PROVIDER")
        if provider:
            return cls.from_provider(provider)
        env = os.environ.get("KTPEL_FIELD_KEYS")
        if env:
            return cls.loads(env)
        if path.is_file():
            ring = cls.loads(path.read_text())
            return cls(keys=ring.keys, source=path, index_key=ring.index_key)
        ring = cls.generate()
        write_keyring(path, ring)
        return cls(keys=ring.keys, source=path)


def write_keyring(path: Path, ring: FieldKeyring) -> None:
    """Write a key file atomically (readers never see half a file), readable by the owner only."""
    from ktpel.files import private_dir

    private_dir(path.parent)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(ring.dumps())
    os.replace(tmp, path)


class FieldCipher:
    """Encrypts one value at a time; associated data binds a ciphertext to its column."""

    RELOAD_EVERY_S = 2.0

    def __init__(self, keyring: FieldKeyring) -> None:
        self._lock = threading.Lock()
        self._install(keyring)
        # the blind-index key is derived from the oldest key (or pinned) so indexes survive rotation
        self._index_key = keyring.derived_index_key()
        self._checked = time.monotonic()
        self._mtime = self._source_mtime()

    def _install(self, keyring: FieldKeyring) -> None:
        self.keyring = keyring
        self._aead = {kid: AESGCM(key) for kid, key in keyring.keys}

    def _source_mtime(self) -> int | None:
        src = self.keyring.source
        try:
            return src.stat().st_mtime_ns if src is not None else None
        except OSError:
            return None

    def refresh(self, *, force: bool = False) -> bool:
        """Re-read the key file if it changed (a rotation elsewhere); True when the keyring changed."""
        if self.keyring.source is None:
            return False
        now = time.monotonic()
        if not force and now - self._checked < self.RELOAD_EVERY_S:
            return False
        with self._lock:
            self._checked = now
            mtime = self._source_mtime()
            if mtime is None or mtime == self._mtime:
                return False
            self._mtime = mtime
            fresh = FieldKeyring.loads(self.keyring.source.read_text())
            if fresh.keys == self.keyring.keys:
                return False
            if fresh.derived_index_key() != self._index_key:
                # a keyring that would change the blind index would silently break name search
                return False
            self._install(FieldKeyring(keys=fresh.keys, source=self.keyring.source, index_key=fresh.index_key))
            return True

    def encrypt(self, plaintext: bytes, *, aad: bytes = b"") -> bytes:
        self.refresh()
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
        if aead is None and self.refresh(force=True):
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
