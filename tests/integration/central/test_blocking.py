"""Demographic blocking at national scale: the rarest name word, not the first; keys backfilled."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from ktpel.central.dedup import service
from ktpel.central.dedup.blocking import index_name
from ktpel.central.dedup.phonetic import full_name_key, name_key, rarest_word_key, word_key
from ktpel.store.schema.blocking import NameBlockRow
from ktpel.store.schema.central import NationalRecordRow


def _rec(rid: str, *, nik: str, name: str, born: dt.date) -> NationalRecordRow:
    return NationalRecordRow(id=rid, packet_id=rid, office_code="18.01", nik=nik, name=name, birth_place="KALIANDA",
                             birth_date=born, sex="L", street="", name_key=name_key(name), templates="{}",
                             state="PRINT_READY")


def test_rarest_word_is_chosen_by_national_frequency():
    counts = {word_key("muhammad"): 900, word_key("rizki"): 3, word_key("pratama"): 40}
    assert rarest_word_key("MUHAMMAD RIZKI PRATAMA", counts) == word_key("rizki")
    assert rarest_word_key("Muhamad Rizki", counts) == word_key("rizki")  # spellings share a key
    assert rarest_word_key("SITI", counts) == word_key("siti")
    assert full_name_key("Siti Aminah, S.Pd.") == f"{word_key('siti')}-{word_key('aminah')}"


def test_common_first_names_do_not_fill_the_cap(db):
    born = dt.date(1990, 6, 1)
    with db.unit_of_work() as s:
        # 80 MUHAMMADs born in 1990 (a cap of 50 here stands for 500 at national scale), none on the probe's birthday
        for k in range(80):
            r = _rec(f"m{k}", nik=f"1801050106{k:06d}", name=f"MUHAMMAD {('ABCDEFGHIJ'[k % 10])}ANTO {k}",
                     born=dt.date(1990, 1 + k % 12, 1 + k % 27))
            s.add(r)
            s.flush()
            index_name(s, record_id=r.id, name=r.name, birth_year=1990)
        target = _rec("target", nik="1801050106999999", name="MUHAMMAD RIZKI PRATAMA", born=dt.date(1990, 2, 14))
        s.add(target)
        s.flush()
        index_name(s, record_id=target.id, name=target.name, birth_year=1990)
        probe = _rec("probe", nik="1871050106000001", name="MOHAMAD RIZKI PRATAMA", born=dt.date(1990, 12, 28))
        s.add(probe)
        s.flush()
        index_name(s, record_id=probe.id, name=probe.name, birth_year=1990)
    with db.unit_of_work() as s:
        found = service.find_candidates(s, record=s.get(NationalRecordRow, "probe"), model=service.fs.Model.default(),
                                        block_limit=50)
        assert "target" in [m.other_id for m in found]
        # the probe blocked on a rare word (and its full name), so the block is a handful, not 80 MUHAMMADs
        from ktpel.central.dedup.blocking import probe_keys

        keys = probe_keys(s, name="MOHAMAD RIZKI PRATAMA")
        assert keys[0] in (f"w:{word_key('rizki')}", f"w:{word_key('pratama')}")  # never MUHAMMAD
        block = s.scalar(select(func.count(func.distinct(NameBlockRow.record_id)))
                         .where(NameBlockRow.block_key.in_(keys), NameBlockRow.birth_year == 1990))
        assert block == 2  # the target and the probe itself


def test_the_migration_backfills_keys_of_records_recorded_before_it(db):
    from alembic import command

    from ktpel.store.db import alembic_config, upgrade

    with db.unit_of_work() as s:
        s.add(_rec("old1", nik="1801050106000001", name="SITI NURHALIZA", born=dt.date(1985, 1, 1)))
        s.add(_rec("old2", nik="1801050106000002", name="AHMAD DAHLAN", born=dt.date(1970, 1, 1)))
    cfg = alembic_config(db)
    with db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "blocking@base")
    upgrade(db)
    with db.unit_of_work() as s:
        keys = set(s.execute(select(NameBlockRow.record_id, NameBlockRow.block_key)).all())
    assert ("old1", f"w:{word_key('nurhaliza')}") in keys and ("old1", f"f:{full_name_key('SITI NURHALIZA')}") in keys
    assert ("old2", f"w:{word_key('dahlan')}") in keys


def test_the_block_is_read_through_its_indexes_with_same_day_records_first(db):
    """Same birthday, or the same rare name word in the birth year: found; the name in another year, a
    revoked record or the probe itself: not. On SQLite the records are read by id from the two indexes'
    ids, never by walking every live record (the old single OR did, at each decision)."""
    from sqlalchemy import event

    born = dt.date(1988, 3, 9)
    people = {"probe": ("MOHAMAD RIZKI PRATAMA", born), "twin_day": ("AHMAD DAHLAN", born),
              "same_name": ("MUHAMAD RIZKI PRATAMA", dt.date(1988, 11, 2)),
              "other_year": ("MUHAMMAD RIZKI PRATAMA", dt.date(1989, 3, 9)),
              "revoked": ("RIZKI PRATAMA", born), "stranger": ("SITI AMINAH", dt.date(1988, 7, 7))}
    with db.unit_of_work() as s:
        for k, (rid, (name, day)) in enumerate(people.items()):
            r = _rec(rid, nik=f"18010501068{k:05d}", name=name, born=day)
            r.state = "REVOKED" if rid == "revoked" else "PRINT_READY"
            s.add(r)
            s.flush()
            index_name(s, record_id=rid, name=name, birth_year=day.year)
    sent: list[tuple[str, object]] = []
    keep = lambda conn, cursor, statement, parameters, *a: sent.append((statement, parameters))  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        with db.unit_of_work() as s:
            found = service.find_candidates(s, record=s.get(NationalRecordRow, "probe"),
                                            model=service.fs.Model.default(), limit=10)
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    assert [m.other_id for m in found][:1] == ["twin_day"]  # born the same day: first
    assert sorted(m.other_id for m in found) == ["same_name", "twin_day"]
    if db.engine.dialect.name == "sqlite":  # PostgreSQL plans by table statistics: a test table says nothing
        ((statement, parameters),) = [x for x in sent if "central_name_blocks" in x[0] and "LIMIT" in x[0]]
        with db.engine.connect() as c:
            plan = " | ".join(str(r[-1]) for r in c.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
        assert "ix_central_records_state" not in plan and "SCAN central_records" not in plan, plan
        assert "SEARCH central_records USING INDEX sqlite_autoindex_central_records_1 (id=?)" in plan, plan
