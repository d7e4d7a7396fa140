"""Pure helpers: keyring text, pinned blind index across retirement, hot reload, redirects, CSV safety."""

from __future__ import annotations

import os
import time

import pytest

from ktpel.security.audit import _csv_safe, changed_fields, entry_hash, state_digest
from ktpel.security.views import safe_next
from ktpel.store.fields import FieldCipher, FieldKeyring, write_keyring


def test_keyring_round_trip_keeps_order_and_pinned_index():
    ring = FieldKeyring.generate().rotated()
    again = FieldKeyring.loads(ring.dumps())
    assert again.keys == ring.keys and again.active_id == ring.active_id
    retired = ring.without({ring.keys[1][0]})
    assert [k for k, _ in retired.keys] == [ring.active_id]
    assert retired.derived_index_key() == ring.derived_index_key()
    assert FieldKeyring.loads(retired.dumps()).derived_index_key() == ring.derived_index_key()
    with pytest.raises(ValueError):
        ring.without({ring.active_id})


def test_blind_index_survives_rotation_and_retirement():
    ring = FieldKeyring.generate()
    before = FieldCipher(ring).blind_index("budi")
    rotated = ring.rotated()
    assert FieldCipher(rotated).blind_index("budi") == before
    assert FieldCipher(rotated.without({ring.active_id})).blind_index("budi") == before


def test_old_ciphertexts_read_after_rotation_and_tampering_is_refused():
    ring = FieldKeyring.generate()
    old = FieldCipher(ring).encrypt(b"SITI AMINAH")
    rotated = FieldCipher(ring.rotated())
    assert rotated.decrypt(old) == b"SITI AMINAH"
    assert rotated.key_id_of(rotated.encrypt(b"x")) != ring.active_id
    tampered = old[:-1] + bytes([old[-1] ^ 1])
    with pytest.raises(Exception):
        rotated.decrypt(tampered)
    with pytest.raises(KeyError):
        FieldCipher(FieldKeyring.generate()).decrypt(old)


def test_running_cipher_follows_a_rewritten_key_file(tmp_path):
    path = tmp_path / "field.keys"
    ring = FieldKeyring.load_or_create(path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    running = FieldCipher(ring)
    other_process = FieldKeyring(keys=ring.rotated().keys)
    time.sleep(0.01)
    write_keyring(path, other_process)
    fresh_value = FieldCipher(other_process).encrypt(b"baru")
    # an unknown key id forces a reload at once (no waiting for the periodic check)
    assert running.decrypt(fresh_value) == b"baru"
    assert running.keyring.active_id == other_process.active_id


def test_kms_provider_hook(monkeypatch, tmp_path):
    ring = FieldKeyring.generate()
    import types, sys

    mod = types.ModuleType("fake_kms")
    mod.unwrap = lambda: ring.dumps()
    monkeypatch.setitem(sys.modules, "fake_kms", mod)
    monkeypatch.setenv("KTPEL_FIELD_KEY_PROVIDER", "fake_kms:unwrap")
    got = FieldKeyring.load_or_create(tmp_path / "unused.keys")
    assert got.keys == ring.keys and not (tmp_path / "unused.keys").exists()


@pytest.mark.parametrize("target, expected", [
    ("/penduduk?q=1", "/penduduk?q=1"), ("//evil.example", "/"), ("https://evil.example", "/"),
    ("/\\evil.example", "/"), ("", "/"), (None, "/"), ("javascript:alert(1)", "/"),
])
def test_safe_next_only_allows_local_paths(target, expected):
    assert safe_next(target) == expected


def test_csv_cells_cannot_become_formulas():
    assert _csv_safe("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")"
    assert _csv_safe("+1") == "'+1" and _csv_safe("@SUM(A1)") == "'@SUM(A1)" and _csv_safe("-") == "-"
    assert _csv_safe("budi") == "budi" and _csv_safe(None) == ""


def test_digests_and_changed_fields():
    assert state_digest(None) is None
    assert state_digest({"a": 1, "b": 2}) == state_digest({"b": 2, "a": 1})
    assert changed_fields({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 0}) == ["b", "c"]
    import datetime as dt
    at = dt.datetime(2026, 11, 29, tzinfo=dt.timezone.utc)
    h1 = entry_hash(prev_hash="0" * 64, seq=1, at=at, actor="a", action="x", subject="s", before_digest=None,
                    after_digest=None, changed="", source_ip=None)
    h2 = entry_hash(prev_hash="1" * 64, seq=1, at=at, actor="a", action="x", subject="s", before_digest=None,
                    after_digest=None, changed="", source_ip=None)
    assert h1 != h2 and len(h1) == 64
