"""Issue 20 item 9: personal columns once in clear (KK number, religion, marital status, occupation, blood
type, family role) are encrypted at rest, existing rows included (migration privacy_0001), and search by
KK still works through the keyed blind index."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import JSON, Text, inspect, select, text
from sqlalchemy import column as sa_column
from sqlalchemy import table as sa_table

from ktpel.domain.clock import now as clock_now
from ktpel.domain.clock import today_wib
from ktpel.office.residents.service import family_of, search_residents
from ktpel.store.db import alembic_config, upgrade
from ktpel.store.fields import cipher
from ktpel.store.schema.base import Base
from ktpel.store.schema.core import CardRow, EnrollmentRow, ResidentRow
from ktpel.store.schema.notify import CallListRow

KK = "1801052911260007"
AUTH = "KTA1.eyJuYW1lIjoiU0lUSSBBTUlOQUgifQ.kid.sig"  # a token whose payload names the holder
PLAIN = {"kk_number": KK, "religion": "KATHOLIK", "marital_status": "CERAI HIDUP", "occupation": "NELAYAN/PERIKANAN",
         "blood_type": "AB", "family_role": "FAMILI LAIN"}


def _insert_plain_resident(conn, nik: str) -> None:  # noqa: ANN001
    conn.execute(text(
        "INSERT INTO residents (nik, kk_number, name, birth_place, birth_date, sex, blood_type, street, rt, rw, "
        "village_code, district_code, regency_code, religion, marital_status, occupation, citizenship, family_role, "
        "father_name, mother_name, revoked, created_at, updated_at) VALUES (:nik, :kk_number, :enc, :enc, :bd, 'L', "
        ":blood_type, :enc, '001', '002', '18.01.05.2001', '18.01.05', '18.01', :religion, :marital_status, "
        ":occupation, 'WNI', :family_role, :enc, :enc, :f, :now, :now)"),
        {**PLAIN, "nik": nik, "enc": _enc("NAMA"), "bd": dt.date(1990, 5, 17), "f": False,
         "now": clock_now()})


def _enc(value: str) -> bytes:
    from ktpel.store.fields import cipher

    return cipher().encrypt(value.encode())


def _raw(db, nik: str) -> dict:  # noqa: ANN001
    with db.engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM residents WHERE nik = :nik"), {"nik": nik}).mappings().one()
    return dict(row)


def _downgrade(db, revision: str) -> None:  # noqa: ANN001
    """The schema as it was at `revision` (the rows stay)."""
    from alembic import command

    cfg = alembic_config(db)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def test_migration_encrypts_existing_rows_and_kk_search_survives(db):
    _downgrade(db, "privacy@base")  # the schema as it was before the fix, with a row written then
    with db.engine.begin() as conn:
        _insert_plain_resident(conn, "1801051705900001")
        assert conn.execute(text("SELECT religion FROM residents")).scalar() == "KATHOLIK"
        rid = conn.execute(text("SELECT id FROM residents")).scalar()
        now = clock_now()
        conn.execute(text("INSERT INTO enrollments (id, resident_id, office_code, state, receipt_number, operator, "
                          "quality, exceptions, created_at, updated_at) VALUES ('E-1', :rid, '18.01', 'PRINT_READY', "
                          "'RCP-1', 'op', '{}', '{}', :now, :now)"), {"rid": rid, "now": now})
        conn.execute(text("INSERT INTO cards (id, enrollment_id, resident_id, state, authorisation, created_at, "
                          "updated_at) VALUES ('C-1', 'E-1', :rid, 'AUTHORISED', :auth, :now, :now)"),
                     {"rid": rid, "now": now, "auth": AUTH})
    upgrade(db)  # a database of both sides (the suite's): every branch, neither side's split
    raw = _raw(db, "1801051705900001")
    for column, plain in PLAIN.items():
        stored = bytes(raw[column])
        assert plain.encode() not in stored and stored[:1] != plain[:1].encode(), column
    assert raw["kk_index"] and KK not in raw["kk_index"]
    with db.engine.connect() as conn:
        assert AUTH.encode() not in bytes(conn.execute(text("SELECT authorisation FROM cards")).scalar())
    with db.unit_of_work() as s:
        row = s.scalar(select(ResidentRow).where(ResidentRow.nik == "1801051705900001"))
        assert {c: getattr(row, c) for c in PLAIN} == PLAIN
        assert [r.nik for r in search_residents(s, text=KK, regency_code="18.01").items] == ["1801051705900001"]
        assert [r.nik for r in family_of(s, kk_number=KK, regency_code="18.01")] == ["1801051705900001"]
        assert s.scalar(select(CardRow.authorisation)) == AUTH


EXCEPTIONS = {"finger_3": {"kind": "missing", "reason": "AMPUTASI KECELAKAAN KERJA"}}


def test_exception_reasons_are_encrypted_existing_rows_included(db):
    """privacy_0002: finger exception reasons (health data) were a clear JSON column."""
    _downgrade(db, "privacy_0001")
    with db.unit_of_work() as s:  # residents are the same before and after this revision
        resident = ResidentRow(nik="1801051705900003", name="SITI", birth_place="KALIANDA",
                               birth_date=dt.date(1990, 5, 17), sex="L", street="JL. MAWAR", rt="001", rw="001",
                               village_code="18.01.05.2001", district_code="18.01.05", regency_code="18.01",
                               citizenship="WNI", **PLAIN)
        s.add(resident)
        s.flush()
        rid = resident.id
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO enrollments (id, resident_id, office_code, state, receipt_number, operator, "
                          "quality, exceptions, created_at, updated_at) VALUES ('E-2', :rid, '18.01', 'CAPTURED', "
                          "'RCP-2', 'op', '{}', :exc, :now, :now)"),
                     {"rid": rid, "now": clock_now(), "exc": json.dumps(EXCEPTIONS)})
        assert b"AMPUTASI" in str(conn.execute(text("SELECT exceptions FROM enrollments")).scalar()).encode()
    upgrade(db)
    with db.engine.connect() as conn:
        assert b"AMPUTASI" not in bytes(conn.execute(text("SELECT exceptions FROM enrollments")).scalar())
    with db.unit_of_work() as s:
        assert s.get(EnrollmentRow, "E-2").exceptions == EXCEPTIONS
        s.get(EnrollmentRow, "E-2").exceptions = {**EXCEPTIONS, "signature": {"kind": "unable", "reason": "LUMPUH"}}
    with db.engine.connect() as conn:
        assert b"LUMPUH" not in bytes(conn.execute(text("SELECT exceptions FROM enrollments")).scalar())


def test_new_rows_are_written_encrypted_with_their_index(db):
    with db.unit_of_work() as s:
        s.add(ResidentRow(nik="1801055705900002", name="SITI", birth_place="KALIANDA", birth_date=dt.date(1990, 5, 17),
                          sex="P", street="JL. MAWAR", rt="001", rw="001", village_code="18.01.05.2001",
                          district_code="18.01.05", regency_code="18.01", citizenship="WNI", **PLAIN))
    raw = _raw(db, "1801055705900002")
    assert all(plain.encode() not in bytes(raw[c]) for c, plain in PLAIN.items())
    with db.unit_of_work() as s:
        assert [r.nik for r in search_residents(s, text=KK, regency_code="18.01").items] == ["1801055705900002"]


def _mode(path) -> int:  # noqa: ANN001
    import stat

    return stat.S_IMODE(path.stat().st_mode)


def test_data_files_are_0600_and_directories_0700(tmp_path, shared_data):
    import os
    import subprocess
    import sys

    from ktpel.config import Settings
    from ktpel.store.db import open_database

    old = os.umask(0o022)  # a permissive umask, as on a default server
    try:
        settings = Settings(data_dir=tmp_path / "fresh" / "data", shared_data=shared_data)
        db = open_database(settings, name="office")
        with db.unit_of_work() as s:
            s.add(ResidentRow(nik="1801055705900003", name="A", birth_place="B", birth_date=dt.date(1990, 5, 17),
                              sex="P", street="C", rt="001", rw="001", village_code="18.01.05.2001",
                              district_code="18.01.05", regency_code="18.01", citizenship="WNI", **PLAIN))
        data = settings.data_dir
        assert _mode(data) == 0o700 and _mode(data / "office.db") == 0o600
        assert all(_mode(p) == 0o600 for p in data.glob("office.db-*"))
        assert _mode(data / "keys") == 0o700 and _mode(data / "keys" / "field.keys") == 0o600
        db.dispose()
    finally:
        os.umask(old)
    # the CLI makes every file private whatever the umask it was started with
    env = {**os.environ, "KTPEL_DATA_DIR": str(tmp_path / "cli"), "KTPEL_SHARED_DATA": str(shared_data)}
    env.pop("KTPEL_DATABASE_URL", None)
    out = subprocess.run([sys.executable, "-c", "import os; os.umask(0o022); from ktpel.cli import main; main()",
                          "keys", "init", "--side", "office"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert _mode(tmp_path / "cli" / "keys") == 0o700
    assert _mode(tmp_path / "cli" / "keys" / "sync_office.json") == 0o600


def test_audit_subjects_carry_no_nik(db):
    from ktpel.security.audit import AuditQuery, record_audit, search_audit
    from ktpel.store.schema.security import AuditEntryRow

    nik = "1801051705900001"
    with db.unit_of_work() as s:
        record_audit(s, actor="op", action="resident.correct", subject=nik)
        record_audit(s, actor="op", action="access.not_found", subject=f"GET /penduduk/{nik}")
    with db.unit_of_work() as s:
        subjects = list(s.scalars(select(AuditEntryRow.subject)))
        assert not any(nik in x for x in subjects) and all("nik:" in x for x in subjects)
        found, total = search_audit(s, query=AuditQuery(subject=nik))  # an auditor still finds them by NIK
        assert total == 2


SUKET_TOKEN = "KTS1.eyJuIjoiU0lUSSBBTUlOQUgiLCJhIjoiSkwuIE1BV0FSIDMifQ.k1.sig"  # payload: name and address
IKD_TOKEN = "KTD1.eyJuIjoiU0lUSSBBTUlOQUgiLCJiIjoiMTk5MC0wNS0xNyJ9.k1.sig"
PROOF = "Surat rujukan RSUD: cuci darah rutin"
PICKUP_NOTE = "jari kanan diamputasi"
CALL_NOTE = "ibu dirawat di rumah sakit jiwa"
# what privacy_0003 encrypts, as privacy_0002 left it: (table, column) -> the clear type
CLEAR_TYPES = {("suket", "token"): Text(), ("ikd_activations", "token"): Text(), ("print_queue", "classes"): JSON(),
               ("print_queue", "proof_notes"): JSON(), ("pickup_checks", "note"): Text(),
               ("notify_call_attempts", "note"): Text()}


def _as_before(table: str, clear: dict = CLEAR_TYPES):  # noqa: ANN202
    """The table as the revision before left it: the columns in `clear` with their clear type, the others as now."""
    from ktpel.store.schema import metadata

    return sa_table(table, *[sa_column(c.name, clear.get((table, c.name), c.type))
                             for c in metadata.tables[table].columns])


def _office_rows(db, settings) -> dict[tuple[str, str], dict]:  # noqa: ANN001
    """At privacy_0002: one row of each table privacy_0003 changes, its personal column in clear."""
    from tests.integration.printing.conftest import Office

    card_id = Office(db, settings).card()
    with db.unit_of_work() as s:
        card = s.get(CardRow, card_id)
        rid, eid, nik = card.resident_id, card.enrollment_id, s.get(ResidentRow, card.resident_id).nik
        call = CallListRow(resident_id=rid, trigger="print_ready", dedupe_key="call-1", variables="{}")
        s.add(call)
        s.flush()
        call_id = call.id
    now, today = clock_now(), today_wib()
    rows = {
        ("suket", "serial"): dict(serial="SKT-1801-2026-000009", resident_id=rid, active_resident_id=rid, nik=nik,
                                  enrollment_id=eid, state="ACTIVE", status_code="PRR", reason="blanko_habis",
                                  valid_from=today, valid_until=today, renewals=0, token=SUKET_TOKEN, issued_by="op",
                                  issued_at=now),
        ("ikd_activations", "id"): dict(id="IKD-1", resident_id=rid, enrollment_id=eid, office_code="18.01",
                                        state="ACTIVE", phone="+6281234567890", email="siti@example.org",
                                        consent=True, selfie_attempts=1, code_attempts=0, token=IKD_TOKEN,
                                        saves_blank=True, officer="op", created_at=now),
        ("print_queue", "card_id"): dict(card_id=card_id, resident_id=rid, present=True, via="counter",
                                         classes=["health", "disability"], proof_notes={"bukti": PROOF},
                                         marked_by="op", arrived_at=now),
        ("pickup_checks", "id"): dict(id=1, card_id=card_id, modality="face", matched=False, note=PICKUP_NOTE,
                                      operator="op", at=now),
        ("notify_call_attempts", "id"): dict(id=1, call_id=call_id, outcome="NO_ANSWER", note=CALL_NOTE, by="op",
                                             at=now),
    }
    # a pending activation has no token yet: NULL stays NULL both ways
    pending = dict(rows[("ikd_activations", "id")], id="IKD-2", state="PENDING_SELFIE", token=None)
    with db.engine.begin() as conn:
        for (table, _), row in rows.items():
            conn.execute(_as_before(table).insert().values(**row))
        conn.execute(_as_before("ikd_activations").insert().values(**pending))
    return rows


def _personal(table: str, row: dict) -> dict:
    return {col: row[col] for (t, col) in CLEAR_TYPES if t == table}


def test_office_tokens_classes_and_notes_are_encrypted_existing_rows_included(db, settings):
    """privacy_0003: the Suket/IKD tokens (their payload holds NIK, name and address), the print queue's priority
    classes (health, disability) and proof note, and staff's free-text notes were clear columns."""
    _downgrade(db, "privacy_0002")
    rows = _office_rows(db, settings)
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT token FROM suket")).scalar() == SUKET_TOKEN
    upgrade(db)
    with db.engine.connect() as conn:  # the raw rows: ciphertext of exactly what was there
        for (table, pk), row in rows.items():
            stored = conn.execute(text(f"SELECT * FROM {table} WHERE {pk} = :k"), {"k": row[pk]}).mappings().one()
            for col, plain in _personal(table, row).items():
                clear = plain if isinstance(plain, str) else json.dumps(plain, sort_keys=True, separators=(",", ":"))
                assert clear.encode() not in bytes(stored[col]), (table, col)
                assert cipher().decrypt(bytes(stored[col])).decode() == clear, (table, col)
        assert conn.execute(text("SELECT token FROM ikd_activations WHERE id = 'IKD-2'")).scalar() is None
    if not db.is_sqlite:  # PostgreSQL keeps NOT NULL where the clear column had it (SQLite cannot add it back)
        nullable = {(t, c): next(x["nullable"] for x in inspect(db.engine).get_columns(t) if x["name"] == c)
                    for t, c in CLEAR_TYPES}
        assert [k for k, v in nullable.items() if v] == [("ikd_activations", "token")]
    with db.unit_of_work() as s:  # and the models read them back
        for (table, pk), row in rows.items():
            model = next(m.class_ for m in Base.registry.mappers if m.local_table.name == table)
            assert {c: getattr(s.get(model, row[pk]), c) for c in _personal(table, row)} == _personal(table, row)
    _downgrade(db, "privacy_0002")  # the clear columns again, values restored
    with db.engine.connect() as conn:
        for (table, pk), row in rows.items():
            before = _as_before(table)
            restored = conn.execute(select(before).where(before.c[pk] == row[pk])).mappings().one()
            assert {c: restored[c] for c in _personal(table, row)} == _personal(table, row), table
        assert conn.execute(text("SELECT token FROM ikd_activations WHERE id = 'IKD-2'")).scalar() is None
    upgrade(db)


REVOKE_REASON = "pemegang meninggal dunia, akta kematian dari kelurahan"
KEPT_NIK = "1802051705900003"
ADJ_REASON = "kembar identik: ibu kandung sama, sidik jari 3 berbeda"
# what privacy_0004 encrypts, as privacy_0003 left it
REASON_TYPES = {("suket", "close_reason"): Text(), ("notify_revocations", "reason"): Text(),
                ("central_adjudications", "first_reason"): Text(), ("central_adjudications", "final_reason"): Text()}


def _reason_rows(db, settings) -> dict[tuple[str, str], list[dict]]:  # noqa: ANN001
    """At privacy_0003: rows of each table privacy_0004 changes, their reasons in clear (and NULL/empty ones)."""
    from ktpel.store.schema.central import NationalRecordRow
    from tests.integration.printing.conftest import Office

    card_id = Office(db, settings).card()
    now, today = clock_now(), today_wib()
    with db.unit_of_work() as s:  # central_records is as privacy_0004 leaves it: the models write it
        card = s.get(CardRow, card_id)
        rid, eid, nik = card.resident_id, card.enrollment_id, s.get(ResidentRow, card.resident_id).nik
        for rec_id, rec_nik in (("R-1", nik), ("R-2", KEPT_NIK)):
            s.add(NationalRecordRow(id=rec_id, packet_id=f"p-{rec_id}", office_code="18.01", nik=rec_nik, name="SITI",
                                    birth_place="KALIANDA", birth_date=dt.date(1990, 5, 17), sex="P", street="JL. MAWAR",
                                    templates="{}", state="ADJUDICATION"))
    suket = dict(resident_id=rid, active_resident_id=None, nik=nik, enrollment_id=eid, status_code="PRR",
                 reason="blanko_habis", valid_from=today, valid_until=today, renewals=0, token=SUKET_TOKEN,
                 issued_by="op", issued_at=now)
    adjudication = dict(record_id="R-1", candidate_id="R-2", reason="biometric_review", band="review", fused_z=4.2,
                        scores={}, demographic={}, urgency=0.0, version=1, created_at=now)
    rows = {
        ("suket", "serial"): [
            dict(suket, serial="SKT-1801-2026-000011", state="REVOKED", closed_by="spv", closed_at=now,
                 close_reason=REVOKE_REASON),
            dict(suket, serial="SKT-1801-2026-000012", active_resident_id=rid, state="ACTIVE", close_reason=None)],
        ("notify_revocations", "card_id"): [
            dict(card_id=card_id, nik=nik, reason=f"data ganda C-1: dipertahankan {KEPT_NIK}", revoked_at=now),
            dict(card_id=eid, nik=nik, reason="", revoked_at=now)],
        ("central_adjudications", "id"): [
            dict(adjudication, id="ADJ-1", status="different", first_decision="different", first_by="adj1",
                 first_reason=ADJ_REASON, first_at=now, final_decision="different", final_by="adj1",
                 final_reason=ADJ_REASON, decided_at=now),
            dict(adjudication, id="ADJ-2", record_id="R-2", candidate_id="R-1", status="open",
                 first_reason=None, final_reason=None)],
    }
    with db.engine.begin() as conn:
        for (table, _), table_rows in rows.items():
            for row in table_rows:
                conn.execute(_as_before(table, REASON_TYPES).insert().values(**row))
        events = sa_table("domain_events", sa_column("name"), sa_column("subject_id"), sa_column("data", JSON()),
                          sa_column("at"))
        conn.execute(events.insert(), [
            dict(name="suket.revoke", subject_id="SKT-1801-2026-000011", at=now,
                 data={"from": "ACTIVE", "to": "REVOKED", "reason": REVOKE_REASON}),
            dict(name="enrollment.fail", subject_id=eid, at=now,
                 data={"from": "RECEIVED", "to": "FAILED", "reason": "Foto wajah tidak ada."})])
    return rows


def _reasons(table: str, row: dict) -> dict:
    return {col: row[col] for (t, col) in REASON_TYPES if t == table}


def test_revocation_and_adjudication_reasons_are_encrypted_existing_rows_included(db, settings):
    """privacy_0004: a Suket's revocation reason and an adjudicator's reasons are typed by staff, a card's
    revocation reason names another resident's NIK (or a death): all were clear Text columns, and the typed
    reason was also copied into the clear event log."""
    _downgrade(db, "privacy_0003")
    rows = _reason_rows(db, settings)
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT close_reason FROM suket WHERE state = 'REVOKED'")).scalar() == REVOKE_REASON
    upgrade(db)
    with db.engine.connect() as conn:  # the raw rows: ciphertext of exactly what was there, NULL stays NULL
        for (table, pk), table_rows in rows.items():
            for row in table_rows:
                stored = conn.execute(text(f"SELECT * FROM {table} WHERE {pk} = :k"), {"k": row[pk]}).mappings().one()
                for col, plain in _reasons(table, row).items():
                    if plain is None:
                        assert stored[col] is None, (table, col)
                        continue
                    assert plain.encode() not in bytes(stored[col]) or not plain, (table, col)
                    assert cipher().decrypt(bytes(stored[col])).decode() == plain, (table, col)
        logged = {name: json.loads(data) if isinstance(data, str) else data
                  for name, data in conn.execute(text("SELECT name, data FROM domain_events"))}
    assert logged["suket.revoke"] == {"from": "ACTIVE", "to": "REVOKED"}  # the typed reason left the clear log
    assert logged["enrollment.fail"]["reason"] == "Foto wajah tidak ada."  # central's fixed sentences stay (reports)
    if not db.is_sqlite:  # PostgreSQL keeps NOT NULL where the clear column had it
        nullable = {(t, c): next(x["nullable"] for x in inspect(db.engine).get_columns(t) if x["name"] == c)
                    for t, c in REASON_TYPES}
        assert [k for k, v in nullable.items() if not v] == [("notify_revocations", "reason")]
    with db.unit_of_work() as s:  # the models read them back
        for (table, pk), table_rows in rows.items():
            model = next(m.class_ for m in Base.registry.mappers if m.local_table.name == table)
            for row in table_rows:
                assert {c: getattr(s.get(model, row[pk]), c) for c in _reasons(table, row)} == _reasons(table, row)
    _downgrade(db, "privacy_0003")  # the clear columns again, values restored
    with db.engine.connect() as conn:
        for (table, pk), table_rows in rows.items():
            before = _as_before(table, REASON_TYPES)
            for row in table_rows:
                restored = conn.execute(select(before).where(before.c[pk] == row[pk])).mappings().one()
                assert {c: restored[c] for c in _reasons(table, row)} == _reasons(table, row), table
    upgrade(db)
