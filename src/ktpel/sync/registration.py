"""How an office and central trust each other's keys: the signed key list and the refusal both sides raise."""

from __future__ import annotations

from ktpel.domain.errors import KtpelError
from ktpel.keys import crypto
from ktpel.keys import keyring as keymod


class RegistrationFailed(KtpelError):
    code = "registration_failed"
    http_status = 403


def signed_key_list(ring: keymod.Keyring) -> dict:
    """Central's public keys, signed by every key in the ring, so an office that trusts any old key
    can accept the new ones (rotation without a new registration)."""
    body = {"v": 1, "keys": [k.to_dict() for k in ring.publics()]}
    data = crypto.canonical_json(body)
    return {**body, "sigs": {p.kid: crypto.sign(p.signing, data) for p in ring.pairs}}


def accept_key_list(doc: dict, *, trusted: list[keymod.PublicKeys]) -> list[keymod.PublicKeys]:
    """The keys of a signed list, provided one key we already trust signed it."""
    data = crypto.canonical_json({"v": doc.get("v"), "keys": doc.get("keys")})
    for k in trusted:
        sig = (doc.get("sigs") or {}).get(k.kid)
        if sig:
            crypto.verify(k.signing, sig, data)
            return [keymod.PublicKeys.from_dict(d) for d in doc["keys"]]
    raise RegistrationFailed("Daftar kunci pusat tidak ditandatangani kunci yang dipercaya.",
                             "Central's key list is not signed by a trusted key.")
