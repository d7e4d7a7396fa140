"""Encryption at rest: the raw database holds no plaintext names, images or templates; key rotation
re-encrypts everything in batches while the old key still reads, and name search survives it."""

from __future__ import annotations

import datetime as dt
import io
import os

import pytest
from sqlalchemy import Column, Integer, LargeBinary, MetaData, Table, select, text, type_coerce
from typer.testing import CliRunner

from ktpel.domain.clock import today_wib
from ktpel.security import rotation
from ktpel.security.fields import FieldCipher, FieldKeyring, cipher
from ktpel.seeding.service import seed_district
from ktpel.store.schema.core import ResidentRow
from ktpel.store.types import EncryptedBytes

_blobs = Table("test_secret_blobs", MetaData(), Column("id", Integer, primary_key=True),
               Column("image", EncryptedBytes), Column("template", EncryptedBytes))


def _nik_image(nik: str) -> bytes:
    """A PNG that bears the NIK both as drawn text and in a text chunk (like a scanned card)."""
    from PIL import Image, ImageDraw
    from PIL.PngImagePlugin import PngInfo

    img = Image.new("L", (320, 60), 255)
    ImageDraw.Draw(img).text((8, 20), f"NIK {nik}", fill=0)
    info = PngInfo()
    info.add_text("NIK", nik)
    buf = io.BytesIO()
    img.save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def _windows(data: bytes, size: int = 24) -> list[bytes]:
    return [data[i:i + size] for i in range(0, max(1, len(data) - size), max(1, len(data) // 16))]


@pytest.fixture
def seeded(db, regions, names):
    seed_district(db, regions=regions, names=names, regency_code="18.01", residents=60, seed=9,
                  today=today_wib())
    with db.unit_of_work() as s:
        person = s.scalars(select(ResidentRow).order_by(ResidentRow.id).limit(1)).one()
    _blobs.create(db.engine)
    image = _nik_image(person.nik)
    template = b"KTPEL-TEMPLATE\x00" + os.urandom(480)
    with db.engine.begin() as conn:
        conn.execute(_blobs.insert().values(id=1, image=image, template=template))
    return person, image, template


def _plaintexts(person) -> list[bytes]:
    return [person.name.encode(), person.birth_place.encode(), person.street.encode(),
            person.mother_name.encode()]


def test_raw_database_holds_no_plaintext_name_image_or_template(db, seeded):
    person, image, template = seeded
    if db.is_sqlite:
        db.dispose()  # checkpoint the WAL into the file, then read every byte SQLite wrote
        path = db.url.removeprefix("sqlite:///")
        raw = b"".join(open(p, "rb").read() for p in (path, path + "-wal") if os.path.exists(p))
    else:  # PostgreSQL: every column of every row as the server holds it
        with db.engine.connect() as conn:
            tables = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars().all()
            raw = b"".join(repr(conn.execute(text(f'SELECT * FROM "{t}"')).all()).encode() +
                           b"".join(bytes(v) for row in conn.execute(text(f'SELECT * FROM "{t}"')).all()
                                    for v in row if isinstance(v, (bytes, memoryview)))
                           for t in tables)
    assert person.nik.encode() in raw  # NIK is the lookup key, kept in clear (the test sees the data)
    for plain in _plaintexts(person):
        assert plain not in raw, f"plaintext {plain!r} found in the raw database"
    for chunk in _windows(image) + _windows(template):
        assert chunk not in raw, "image/template bytes found in the raw database"
    assert b"KTPEL-TEMPLATE" not in raw
    # and the application still reads them back
    with db.engine.connect() as conn:
        row = conn.execute(select(_blobs)).one()
    assert row.image == image and row.template == template


def _key_ids(db) -> set[str]:
    c = cipher()
    with db.unit_of_work() as s:
        ids = {c.key_id_of(bytes(b)) for (b,) in s.execute(select(type_coerce(ResidentRow.name, LargeBinary)))}
        ids |= {c.key_id_of(bytes(b)) for (b,) in s.execute(select(type_coerce(_blobs.c.image, LargeBinary)))}
    return ids


def test_key_rotation_reencrypts_in_batches_old_key_reads_meanwhile_search_survives(db, settings, seeded):
    from ktpel.office.residents.service import search_residents

    person, image, _ = seeded
    keyfile = settings.data_dir / "keys" / "field.keys"
    old_id = cipher().keyring.active_id
    # a second process (a running server) holding the old keyring, following the key file
    server = FieldCipher(FieldKeyring.load_or_create(keyfile))
    server.RELOAD_EVERY_S = 0.0
    new_id = rotation.add_active_key(keyfile)
    assert new_id != old_id and _key_ids(db) == {old_id}
    # meanwhile rows under the old key are still readable, and new writes use the new key
    with db.unit_of_work() as s:
        assert s.get(ResidentRow, person.id).name == person.name
    assert server.key_id_of(server.encrypt(b"x")) == new_id  # the server picked up the rotation
    seen = []
    done = rotation.reencrypt_all(db, batch=7, progress=seen.append, extra_tables=[_blobs])
    assert done >= 60 * 5 + 2 and max(seen) <= 7 and _key_ids(db) == {new_id}
    # the rows that another process wrote meanwhile read fine with the server's refreshed keyring
    with db.engine.connect() as conn:
        blob = conn.execute(select(type_coerce(_blobs.c.image, LargeBinary))).scalar_one()
    assert server.decrypt(bytes(blob)) == image
    # retire the old key: data still reads, and the blind index (name search) still matches
    assert rotation.retire_unused_keys(keyfile, dbs=[db], extra_tables=[_blobs]) == [old_id]
    ring = FieldKeyring.loads(keyfile.read_text())
    assert [k for k, _ in ring.keys] == [new_id] and ring.index_key is not None
    with db.unit_of_work() as s:
        assert s.get(ResidentRow, person.id).street == person.street
        word = person.name.split()[0]
        found = search_residents(s, text=word, regency_code="18.01", birth_date=None, page=1, page_size=100)
    assert person.nik in {r.nik for r in found.items}
    with pytest.raises(Exception):
        FieldCipher(FieldKeyring(keys=((old_id, b"\x00" * 32),))).decrypt(bytes(blob))


def test_rotate_field_key_cli(db, settings, seeded, monkeypatch):
    from ktpel.cli import app
    from ktpel.config import get_settings

    monkeypatch.setenv("KTPEL_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("KTPEL_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["security", "rotate-field-key", "--batch", "50", "--retire"])
        assert result.exit_code == 0, result.output
        assert "dienkripsi ulang" in result.output and "dipensiunkan" in result.output
    finally:
        get_settings.cache_clear()
    active = FieldKeyring.loads((settings.data_dir / "keys" / "field.keys").read_text()).active_id
    with db.unit_of_work() as s:
        ids = {cipher().key_id_of(bytes(b)) for (b,) in s.execute(select(type_coerce(ResidentRow.name, LargeBinary)))}
    assert ids == {active}
