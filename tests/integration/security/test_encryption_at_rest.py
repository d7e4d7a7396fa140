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
from ktpel.seeding.service import seed_district
from ktpel.store.fields import FieldCipher, FieldKeyring, cipher
from ktpel.store.schema.core import ResidentRow
from ktpel.sync.wiring import HandlerContext
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
    # issue 20 item 9: the KK number and occupation were plaintext columns
    return [person.name.encode(), person.birth_place.encode(), person.street.encode(),
            person.mother_name.encode(), person.kk_number.encode(), person.occupation.encode()]


def _raw_database(db) -> bytes:  # noqa: ANN001
    """Every byte the database holds: SQLite's file and WAL, or every column of every PostgreSQL row."""
    if db.is_sqlite:
        db.dispose()  # checkpoint the WAL into the file, then read every byte SQLite wrote
        path = db.url.removeprefix("sqlite:///")
        return b"".join(open(p, "rb").read() for p in (path, path + "-wal") if os.path.exists(p))
    with db.engine.connect() as conn:  # PostgreSQL: every column of every row as the server holds it
        tables = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars().all()
        return b"".join(repr(conn.execute(text(f'SELECT * FROM "{t}"')).all()).encode() +
                        b"".join(bytes(v) for row in conn.execute(text(f'SELECT * FROM "{t}"')).all()
                                 for v in row if isinstance(v, (bytes, memoryview)))
                        for t in tables)


def test_raw_database_holds_no_plaintext_name_image_or_template(db, seeded):
    person, image, template = seeded
    raw = _raw_database(db)
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


PROOF = "Surat rujukan RSUD Kalianda: cuci darah dua kali seminggu"
PICKUP_NOTE = "Jari kanan diamputasi setelah kecelakaan kerja"
CALL_NOTE = "Kata anaknya, ibu sedang dirawat di rumah sakit jiwa"


def _nik_of(db, card_id: str) -> str:  # noqa: ANN001
    from ktpel.store.schema.core import CardRow

    with db.unit_of_work() as s:
        return s.get(ResidentRow, s.get(CardRow, card_id).resident_id).nik


def _signed_fields(token: str) -> bytes:
    """The base64 payload of a Suket/IKD token: NIK, name, birth date and address, readable by anyone."""
    return token.split(".")[1].encode()


def test_tokens_priority_classes_and_staff_notes_are_encrypted_at_rest(db, settings, shared_data):
    """Issue 20: the Suket and IKD tokens, the print queue's classes and proof note, and staff's notes at pickup
    and on the call list, written through the services, are nowhere in the raw database and read back whole."""
    from ktpel.biometrics import get_engine
    from ktpel.office.notify.notices import call_list, record_call
    from ktpel.office.printing import pickup
    from ktpel.office.printing import service as printing
    from ktpel.office.printing.drivers import PrintingConfig
    from ktpel.office.suket.service import issue_suket
    from ktpel.store.schema.ikd import IkdActivationRow
    from ktpel.store.schema.notify import CallAttemptRow, CallListRow
    from ktpel.store.schema.printing import PickupCheckRow, PrintQueueRow
    from ktpel.store.schema.suket import SuketRow
    from tests.integration.field.test_ikd import activate
    from tests.integration.printing.conftest import Office
    from tests.integration.printing.test_pickup_offline_cups import _print

    faces = shared_data / "faces" / "att_orl"
    face = (faces / "s7" / "1.pgm").read_bytes()
    captures = {"face": (face, get_engine().extract_face(face).to_bytes())}
    office = Office(db, settings)
    waiting, activating, collecting = (office.card(captures=captures) for _ in range(3))
    with db.unit_of_work() as s:
        serial = issue_suket(s, settings=settings, nik=_nik_of(db, waiting), reason="blanko_habis", actor="op").serial
        printing.mark_present(s, card_id=waiting, regency_code="18.01", actor="op", classes=["health", "disability"],
                              proof_notes={"bukti": PROOF}, policy=printing.current_policy())
    ikd_id, _, _, ikd = activate(db, settings, _nik_of(db, activating), faces)
    _print(db, settings, PrintingConfig(spool_dir=settings.data_dir / "spool"), collecting)
    assert pickup.verify_and_issue(db, card_id=collecting, regency_code="18.01", actor="op", modality="face",
                                   image=(faces / "s7" / "4.pgm").read_bytes(), face_reason=PICKUP_NOTE).matched
    with db.unit_of_work() as s:
        call = CallListRow(resident_id=s.get(IkdActivationRow, ikd_id).resident_id, trigger="print_ready",
                           dedupe_key="call-1", variables="{}")
        s.add(call)
        s.flush()
        record_call(s, call_id=call.id, outcome="NO_ANSWER", note=CALL_NOTE, actor="op")
    with db.unit_of_work() as s:
        suket_token = s.get(SuketRow, serial).token

    raw = _raw_database(db)
    for plain in (_signed_fields(suket_token), _signed_fields(ikd.token), PROOF.encode(), PICKUP_NOTE.encode(),
                  CALL_NOTE.encode(), b'"disability"', b'"health"'):
        assert plain not in raw, f"plaintext {plain[:40]!r} found in the raw database"
    with db.engine.connect() as conn:  # the queue row itself: ciphertext, not a JSON list of health classes
        stored = bytes(conn.execute(text("SELECT classes FROM print_queue WHERE card_id = :c"), {"c": waiting}).scalar())
    assert cipher().decrypt(stored) == b'["disability","health"]' and b"health" not in stored
    with db.unit_of_work() as s:  # the services read them back as written
        assert s.get(SuketRow, serial).token.startswith("KTS1.") and s.get(IkdActivationRow, ikd_id).token == ikd.token
        queued = s.get(PrintQueueRow, waiting)
        assert (queued.classes, queued.proof_notes) == (["disability", "health"], {"bukti": PROOF})
        view = printing.print_queue(s, regency_code="18.01", policy=printing.current_policy())
        assert {"health", "disability"} <= set(next(e.classes for e in view.entries if e.nik == _nik_of(db, waiting)))
        assert [c.note for c in s.scalars(select(PickupCheckRow))] == [PICKUP_NOTE]
        assert [n for e in call_list(s, settings=settings, include_closed=True) for _, n, _, _ in e.attempts] == [CALL_NOTE]
        assert s.scalar(select(CallAttemptRow.note)) == CALL_NOTE


SUKET_REVOKED = "Pemegang meninggal dunia; keluarga menyerahkan akta kematian"
IKD_REVOKED = "HP dicuri saat dirawat di RSUD Kalianda"


def test_revocation_reasons_are_encrypted_and_kept_out_of_the_event_log(db, settings, shared_data):
    """Issue 20: the reason a manager types when revoking a Suket or an IKD, and central's reason for revoking a
    card (it names the kept record's NIK), are nowhere in clear in the raw database, events included; the
    services read the Suket's and the card's back."""
    from ktpel.biometrics import get_engine
    from ktpel.domain.enrollment import CardState
    from ktpel.office.ikd.service import revoke_ikd
    from ktpel.office.notify import handlers as notify
    from ktpel.office.printing import central_events as printing
    from ktpel.office.suket.service import get_suket, issue_suket, revoke_suket
    from ktpel.store.schema.core import CardRow, DomainEventRow
    from ktpel.store.schema.notify import RevocationRow
    from tests.integration.field.test_ikd import activate
    from tests.integration.printing.conftest import Office

    faces = shared_data / "faces" / "att_orl"
    face = (faces / "s7" / "1.pgm").read_bytes()
    office = Office(db, settings)
    waiting, revoked = office.card(), office.card()
    activating = office.card(captures={"face": (face, get_engine().extract_face(face).to_bytes())})
    with db.unit_of_work() as s:
        serial = issue_suket(s, settings=settings, nik=_nik_of(db, waiting), reason="blanko_habis", actor="op").serial
    with db.unit_of_work() as s:
        revoke_suket(s, settings=settings, serial=serial, reason=f"  {SUKET_REVOKED} ", actor="spv")
    ikd_id, _, _, _ = activate(db, settings, _nik_of(db, activating), faces)
    with db.unit_of_work() as s:
        revoke_ikd(s, settings=settings, activation_id=ikd_id, reason=IKD_REVOKED, actor="spv")
    kept_nik = "1802051705900003"
    central_reason = f"data ganda C-9: dipertahankan {kept_nik}"
    with db.unit_of_work() as s:
        card = s.get(CardRow, revoked)
        event = {"enrollment_id": card.enrollment_id, "card_id": card.id, "nik": _nik_of(db, revoked),
                 "case_id": "C-9", "kept_enrollment_id": "E-kept", "reason": central_reason}
        printing.on_revocation(s, context=HandlerContext(settings=settings), seq=1, kind="revocation",
                               subject_id=card.enrollment_id, data=event)
        notify.on_revocation(s, context=HandlerContext(settings=settings), subject_id=card.enrollment_id, data=event)

    raw = _raw_database(db)
    for plain in (SUKET_REVOKED, IKD_REVOKED, central_reason, kept_nik):
        assert plain.encode() not in raw, f"plaintext {plain!r} found in the raw database"
    with db.unit_of_work() as s:  # read back where they are shown; the event log still counts the revocations
        assert get_suket(s, serial=serial, regency_code="18.01").close_reason == SUKET_REVOKED
        assert {r.card_id: r.reason for r in s.scalars(select(RevocationRow))} == {
            revoked: central_reason, s.get(CardRow, revoked).enrollment_id: central_reason}
        assert s.get(CardRow, revoked).state == CardState.REVOKED.value
        logged = {e.name: e.data for e in s.scalars(select(DomainEventRow).where(
            DomainEventRow.name.in_(["suket.revoke", "ikd.revoke", "card.revoke"])))}
    assert sorted(logged) == ["card.revoke", "ikd.revoke", "suket.revoke"]
    assert not any("reason" in data for data in logged.values())


def test_encrypted_megabytes_come_back_whole_and_postgresql_sends_them_as_binary(db):
    # every encrypted column is a bytea: in the text result format PostgreSQL sends it as hex, twice the
    # bytes and a decode on both ends (reading a 2 MB packet took 17 ms, 2 ms in binary)
    blob = os.urandom(2_000_000)
    _blobs.create(db.engine)
    with db.engine.begin() as conn:
        conn.execute(_blobs.insert().values(id=7, image=blob, template=b""))
    with db.engine.connect() as conn:
        assert conn.execute(select(_blobs.c.image).where(_blobs.c.id == 7)).scalar_one() == blob
        if not db.is_sqlite:
            from psycopg.pq import Format

            assert conn.connection.driver_connection.cursor().format == Format.BINARY
