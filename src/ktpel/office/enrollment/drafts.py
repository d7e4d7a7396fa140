"""Drafts of a capture form: what the operator already captured survives a rejected submit.

A rejected /rekam submit (missing signature, a bad phone, ...) keeps the uploaded face, fingers and
signature here, encrypted with the field key, under a random draft id that the page carries. The next
submit takes from the draft whatever it does not upload again. Drafts belong to one resident and one
operator and expire after a few hours; a recorded enrollment removes its draft.
"""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path

from ktpel.office.enrollment.capture import CaptureForm, Upload

MAX_AGE_S = 4 * 3600
_ID_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def _now() -> float:
    from ktpel.domain.events import utcnow

    return utcnow().timestamp()


def _root(data_dir: Path) -> Path:
    return data_dir / "drafts"


def _valid(draft_id: str) -> bool:
    return 16 <= len(draft_id) <= 64 and set(draft_id) <= _ID_CHARS


def _aad(draft_id: str, kind: str) -> bytes:
    return f"draft:{draft_id}:{kind}".encode()


def save(data_dir: Path, *, draft_id: str | None, nik: str, operator: str, form: CaptureForm) -> str:
    """Keep the uploads of `form` (adding to an existing draft of the same resident); returns the draft id."""
    from ktpel.store.fields import cipher

    draft_id = draft_id if draft_id and _valid(draft_id) and _owner_ok(data_dir, draft_id, nik, operator) \
        else secrets.token_urlsafe(18)
    folder = _root(data_dir) / draft_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "owner.json").write_text(json.dumps({"nik": nik, "operator": operator, "at": _now()}))
    items = {"face": form.face, "signature": form.signature,
             **{f"finger_{pos}": up for pos, up in form.fingers.items()}}
    for kind, up in items.items():
        if up is None:
            continue
        meta = json.dumps({"filename": up.filename, "content_type": up.content_type}).encode()
        (folder / f"{kind}.bin").write_bytes(cipher().encrypt(up.data, aad=_aad(draft_id, kind)))
        (folder / f"{kind}.json").write_bytes(meta)
    _sweep(data_dir)
    return draft_id


def _owner_ok(data_dir: Path, draft_id: str, nik: str, operator: str) -> bool:
    path = _root(data_dir) / draft_id / "owner.json"
    if not path.is_file():
        return False
    owner = json.loads(path.read_text())
    return owner.get("nik") == nik and owner.get("operator") == operator and \
        _now() - float(owner.get("at", 0)) < MAX_AGE_S


def kept(data_dir: Path, *, draft_id: str | None, nik: str, operator: str) -> list[str]:
    """The capture kinds a draft holds (face, finger_N, signature); empty when it is not this user's."""
    if not draft_id or not _valid(draft_id) or not _owner_ok(data_dir, draft_id, nik, operator):
        return []
    return sorted(p.stem for p in (_root(data_dir) / draft_id).glob("*.bin"))


def fill(data_dir: Path, *, draft_id: str | None, nik: str, operator: str, form: CaptureForm) -> None:
    """Put the draft's items into `form` where the new submit brought none."""
    from ktpel.store.fields import cipher

    for kind in kept(data_dir, draft_id=draft_id, nik=nik, operator=operator):
        folder = _root(data_dir) / str(draft_id)
        meta = json.loads((folder / f"{kind}.json").read_text())
        data = cipher().decrypt((folder / f"{kind}.bin").read_bytes(), aad=_aad(str(draft_id), kind))
        up = Upload(data=data, filename=meta.get("filename", ""), content_type=meta.get("content_type", ""))
        if kind == "face" and form.face is None:
            form.face = up
        elif kind == "signature" and form.signature is None:
            form.signature = up
        elif kind.startswith("finger_"):
            form.fingers.setdefault(int(kind.removeprefix("finger_")), up)


def discard(data_dir: Path, *, draft_id: str | None) -> None:
    if draft_id and _valid(draft_id):
        shutil.rmtree(_root(data_dir) / draft_id, ignore_errors=True)


def _sweep(data_dir: Path) -> None:
    """Drop drafts past their age: a draft holds biometrics and must not linger."""
    root = _root(data_dir)
    for folder in root.iterdir() if root.is_dir() else []:
        owner = folder / "owner.json"
        try:
            old = _now() - float(json.loads(owner.read_text()).get("at", 0)) > MAX_AGE_S
        except (OSError, ValueError):
            old = True
        if old:
            shutil.rmtree(folder, ignore_errors=True)
