"""Key pairs of each side (Ed25519 signing + X25519 encryption), rotation, and the peer keys each trusts.

Files under `settings.data_dir/keys/` (mode 0600):
- `sync_office.json` / `sync_central.json`: this side's keyring, oldest first, the last one active.
  Old keys stay so packets sealed or signed before a rotation still open and verify.
- `central_public.json` (office): the central public keys this office trusts, and central's URL.
Central keeps each office's public keys in the `sync_offices` table.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from ktpel.domain import clock
from ktpel.config import Settings
from ktpel.domain.errors import KtpelError
from ktpel.keys import crypto


class KeysMissing(KtpelError):
    """This side has no keys yet, or does not know its peer's."""

    code = "sync_keys_missing"
    http_status = 503


@dataclass(frozen=True)
class PublicKeys:
    """What a side publishes: the signing key (and its id) and the encryption key bound to it."""

    kid: str
    signing: Ed25519PublicKey
    encryption: X25519PublicKey

    def to_dict(self) -> dict:
        return {"kid": self.kid, "sign": crypto.b64e(crypto.raw_public(self.signing)),
                "enc": crypto.b64e(crypto.raw_public(self.encryption))}

    @classmethod
    def from_dict(cls, data: dict) -> "PublicKeys":
        signing = Ed25519PublicKey.from_public_bytes(crypto.b64d(data["sign"]))
        kid = crypto.key_id(signing)
        if data.get("kid", kid) != kid:
            raise ValueError("key id does not match the signing key")
        return cls(kid=kid, signing=signing,
                   encryption=X25519PublicKey.from_public_bytes(crypto.b64d(data["enc"])))


@dataclass(frozen=True)
class KeyPair:
    kid: str
    signing: Ed25519PrivateKey
    encryption: X25519PrivateKey
    created_at: str

    @classmethod
    def generate(cls) -> "KeyPair":
        signing = crypto.new_signing_key()
        return cls(kid=crypto.key_id(signing.public_key()), signing=signing,
                   encryption=crypto.new_encryption_key(),
                   created_at=clock.now().isoformat(timespec="seconds"))

    def public(self) -> PublicKeys:
        return PublicKeys(kid=self.kid, signing=self.signing.public_key(),
                          encryption=self.encryption.public_key())

    def to_dict(self) -> dict:
        return {"kid": self.kid, "created_at": self.created_at,
                "sign_private": crypto.b64e(crypto.raw_private(self.signing)),
                "enc_private": crypto.b64e(crypto.raw_private(self.encryption))}

    @classmethod
    def from_dict(cls, data: dict) -> "KeyPair":
        signing = Ed25519PrivateKey.from_private_bytes(crypto.b64d(data["sign_private"]))
        return cls(kid=crypto.key_id(signing.public_key()), signing=signing,
                   encryption=X25519PrivateKey.from_private_bytes(crypto.b64d(data["enc_private"])),
                   created_at=data.get("created_at", ""))


@dataclass(frozen=True)
class Keyring:
    """A side's key pairs, oldest first; the last is the one used to sign and to receive new seals."""

    pairs: tuple[KeyPair, ...]

    @property
    def active(self) -> KeyPair:
        return self.pairs[-1]

    def find(self, kid: str) -> KeyPair | None:
        return next((p for p in self.pairs if p.kid == kid), None)

    def publics(self) -> list[PublicKeys]:
        return [p.public() for p in self.pairs]


def keys_dir(settings: Settings) -> Path:
    return settings.data_dir / "keys"


def keyring_path(settings: Settings, *, side: str) -> Path:
    if side not in ("office", "central"):
        raise ValueError(f"side must be office or central, not {side!r}")
    return keys_dir(settings) / f"sync_{side}.json"


def _write_private(path: Path, text: str) -> None:
    """Write a secret file readable by its owner only, atomically (a crash leaves the old file)."""
    from ktpel.files import private_dir

    private_dir(path.parent)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _save(settings: Settings, ring: Keyring, *, side: str) -> None:
    _write_private(keyring_path(settings, side=side),
                   json.dumps({"v": 1, "side": side, "keys": [p.to_dict() for p in ring.pairs]}, indent=1))


def load_keyring(settings: Settings, *, side: str) -> Keyring:
    path = keyring_path(settings, side=side)
    if not path.is_file():
        raise KeysMissing(f"Kunci {side} belum dibuat: jalankan `ktpel keys init --side {side}`.",
                          f"No {side} keys yet: run `ktpel keys init --side {side}`.")
    data = json.loads(path.read_text())
    return Keyring(pairs=tuple(KeyPair.from_dict(d) for d in data["keys"]))


def init_keys(settings: Settings, *, side: str) -> tuple[Keyring, bool]:
    """Create this side's keys unless they exist; returns the keyring and whether it was created."""
    try:
        return load_keyring(settings, side=side), False
    except KeysMissing:
        ring = Keyring(pairs=(KeyPair.generate(),))
        _save(settings, ring, side=side)
        return ring, True


def rotate_keys(settings: Settings, *, side: str, keep: int = 3) -> Keyring:
    """Add a fresh active key pair; the newest `keep` old ones stay valid for packets in flight."""
    ring = load_keyring(settings, side=side)
    pairs = (*ring.pairs, KeyPair.generate())
    ring = Keyring(pairs=pairs[-(keep + 1):])
    _save(settings, ring, side=side)
    return ring


# -- the peer keys an office trusts -----------------------------------------------------------------

def central_trust_path(settings: Settings) -> Path:
    return keys_dir(settings) / "central_public.json"


def load_central_trust(settings: Settings) -> list[PublicKeys]:
    path = central_trust_path(settings)
    if not path.is_file():
        return []
    return [PublicKeys.from_dict(d) for d in json.loads(path.read_text())["keys"]]


def save_central_trust(settings: Settings, keys: list[PublicKeys], *, central_url: str | None = None) -> None:
    """Remember central's public keys (merged with those already trusted, newest last)."""
    have = {k.kid: k for k in load_central_trust(settings)}
    for k in keys:
        have.pop(k.kid, None)
        have[k.kid] = k
    _write_private(central_trust_path(settings), json.dumps(
        {"v": 1, "central_url": central_url or settings.central_url,
         "keys": [k.to_dict() for k in have.values()]}, indent=1))


def central_keys(settings: Settings) -> list[PublicKeys]:
    """Central's public keys as this side knows them: its own keyring on central, the trust file on an office."""
    found = {k.kid: k for k in load_central_trust(settings)}
    if keyring_path(settings, side="central").is_file():
        for k in load_keyring(settings, side="central").publics():
            found.pop(k.kid, None)
            found[k.kid] = k
    return list(found.values())


def central_public_keys(settings: Settings) -> dict[str, Ed25519PublicKey]:
    """Central's signing keys by key id: what verifies print authorisations, card QR codes and receipts."""
    return {k.kid: k.signing for k in central_keys(settings)}


def central_signing_key(settings: Settings) -> KeyPair:
    """Central's active key pair (on the central side): what the pipeline signs authorisations with."""
    return load_keyring(settings, side="central").active
