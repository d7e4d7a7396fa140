"""Demographic dedup: Indonesian name sounds, comparison levels, weights trained by Splink on DuckDB."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from ktpel.central.dedup import fellegi_sunter as fs
from ktpel.central.dedup import service, splink_training
from ktpel.central.dedup.phonetic import name_key, normalise_name, word_key
from ktpel.seeding.generator import DistrictGenerator


def test_old_and_new_spellings_share_a_key():
    assert word_key("Soekarno") == word_key("Sukarno")
    assert word_key("Djoko") == word_key("Joko")
    assert word_key("Muhammad") == word_key("Muhamad") == word_key("Mohammad")
    assert word_key("Tjahjo") == word_key("Cahyo")
    assert word_key("Budi") != word_key("Siti")


def test_titles_and_punctuation_are_ignored():
    assert normalise_name("H. Ahmad Dahlan, S.Pd") == "ahmad dahlan"
    assert name_key("Drs. Djoko Widodo") == name_key("Joko Widodo")


def _p(i, **kw):
    base = dict(id=str(i), nik=f"18010517059{i:05d}", name="Budi Santoso", birth_date=dt.date(1990, 5, 17),
                birth_place="Kalianda", sex="L", father_name="Ahmad", mother_name="Siti",
                village_code="18.01.05.2001", street="Jl. Raya 1")
    base.update(kw)
    return fs.Person(**base)


def test_comparison_levels():
    a = _p(1)
    assert fs.compare(a, _p(2)) == {"name": 3, "birth_date": 2, "birth_place": 2, "sex": 1, "father_name": 2,
                                   "mother_name": 2, "address": 3}
    b = _p(2, name="Budi Santosa", birth_date=dt.date(1990, 6, 17), mother_name="", village_code="18.01.05.2002")
    v = fs.compare(a, b)
    assert v["name"] == 2 and v["birth_date"] == 1 and "mother_name" not in v and v["address"] == 1
    swapped = fs.compare(_p(1, birth_date=dt.date(1990, 3, 4)), _p(2, birth_date=dt.date(1990, 4, 3)))
    assert swapped["birth_date"] == 1


def test_levenshtein_ratio_is_the_one_duckdb_computes():
    import duckdb

    assert fs.levenshtein("kitten", "sitting") == 3 and fs.levenshtein("", "abc") == 3
    # 1 - 3/20 and 1 - 2/10 sit on the thresholds: Python and DuckDB must fall on the same side
    pairs = [("abcdefghijklmnopqrst", "abcdefghijklmnopqxyz"), ("abcdefghijklmnopqrst", "abcdefghijklmnopwxyz"),
             ("abcdefghij", "abcdefghxy"), ("abcdefghij", "abcdefgxyz"), ("budi santoso", "budi santosa"),
             ("jl. raya 1", "jl. raya 12"), ("", ""), ("a", "")]
    con = duckdb.connect()
    for threshold in (fs.NAME_SIMILAR, fs.STREET_SIMILAR):
        sql = "SELECT " + splink_training._ratio_at_least("x", threshold)
        for a, b in pairs:
            in_sql = con.execute(sql.replace("x_l", "$a").replace("x_r", "$b"), {"a": a, "b": b}).fetchone()[0]
            assert bool(in_sql) == (fs.similarity(a, b) >= threshold), (a, b, threshold)
    assert fs.similarity("abcdefghijklmnopqrst", "abcdefghijklmnopqxyz") >= fs.NAME_SIMILAR
    assert fs.street_key("Jl. Périntis") == "jl. perintis"


# -- people from the project's synthetic district, re-recorded with the variations dedup meets -------

TODAY = dt.date(2026, 11, 29)
_OLD = [("U", "OE"), ("J", "DJ"), ("C", "TJ"), ("Y", "J")]


def _old_spelling(name: str) -> str:
    for new, old in _OLD:
        if new in name:
            return name.replace(new, old, 1)
    return name + "H"


def _typo(name: str, rng: random.Random) -> str:
    i = rng.randrange(1, max(2, len(name) - 1))
    return name[:i] + ("E" if name[i] != "E" else "A") + name[i + 1:]


def _variant(p: fs.Person, kind: int, rng: random.Random, *, other: fs.Person) -> dict:
    """How a re-recording of p differs (kind picks the variation)."""
    bd = p.birth_date
    return [
        {"name": _typo(p.name, rng)},
        {"name": _old_spelling(p.name), "father_name": _old_spelling(p.father_name)},
        {"birth_date": bd.replace(day=bd.month, month=bd.day) if bd.day <= 12 else bd.replace(day=bd.day % 28 + 1)},
        {"mother_name": _old_spelling(p.mother_name), "street": p.street + " A"},
        {"village_code": other.village_code[:8] + ".2099", "street": "Jl. Périntis " + p.street[-1:]},
        {"village_code": other.village_code, "street": ""},
        {"birth_place": _old_spelling(p.birth_place), "name": "H. " + p.name + ", S.Pd"},
        {"birth_place": "", "village_code": "", "father_name": "", "mother_name": ""},
        {"street": "Dusun " + p.street, "birth_date": bd.replace(month=bd.month % 12 + 1) if bd.day <= 28 else bd},
        {"sex": "P" if p.sex == "L" else "L", "name": _typo(_typo(p.name, rng), rng)},
    ][kind]


def _people(regions, names, *, residents: int = 360, seed: int = 11) -> list[fs.Person]:
    """Residents of a synthetic district, a third re-recorded with variations, strangers sharing birth dates."""
    gen = DistrictGenerator(regions=regions, regency_code="18.01", names=names, seed=seed, today=TODAY)
    people = [fs.Person(id=f"p{i:04d}", nik=r.nik, name=r.name, birth_date=r.birth_date, birth_place=r.birth_place,
                        sex=r.sex.value, father_name=r.father_name, mother_name=r.mother_name,
                        village_code=r.address.village_code, street=r.address.street)
              for i, r in enumerate(m for f in gen.families(residents=residents) for m in f.members)]
    rng = random.Random(seed)
    # strangers born on the same day: blocked pairs that are not one person
    half = len(people) // 2
    for i in range(0, half, 3):  # far apart in the list: other families
        people[i] = fs.Person(**{**people[i].__dict__, "birth_date": people[i + half].birth_date})
    dups = []
    for k, p in enumerate(people[: len(people) // 3]):
        change = _variant(p, k % 10, rng, other=rng.choice(people))
        dups.append(fs.Person(**{**p.__dict__, "id": f"d{k:04d}", "nik": f"99{k:014d}", **change}))
    return people + dups


@pytest.fixture(scope="module")
def people(regions, names):
    return _people(regions, names)


@pytest.fixture(scope="module")
def model(people):
    return splink_training.train_with_splink(people)


def test_splink_assigns_exactly_the_levels_of_compare(people):
    vectors = splink_training.comparison_vectors(people)
    # the pairs Splink blocks are those sharing a key of fs.block_keys
    by_key: dict[str, list[str]] = {}
    for p in people:
        for key in fs.block_keys(p):
            by_key.setdefault(key, []).append(p.id)
    blocked = {(min(a, b), max(a, b)) for ids in by_key.values() for i, a in enumerate(ids) for b in ids[i + 1:]}
    assert set(vectors) == blocked and len(blocked) > 200
    by_id = {p.id: p for p in people}
    seen = set()
    for (a, b), levels in vectors.items():
        expected = fs.compare(by_id[a], by_id[b])
        assert levels == expected, (by_id[a], by_id[b])
        seen |= {(f, lv) for f, lv in expected.items()} | {(f, None) for f in fs.FIELDS if f not in expected}
    # every level of every field, and missing values, were exercised
    assert {(f, lv) for f, k in fs.FIELDS.items() for lv in range(k)} <= seen
    assert {("birth_place", None), ("father_name", None), ("mother_name", None), ("address", None)} <= seen


def test_trained_model_ranks_a_true_duplicate_far_above_a_stranger(model, people):
    assert model.trained_on["engine"].startswith("splink ") and " on duckdb " in model.trained_on["engine"]
    assert model.trained_on["records"] == len(people) and 0 < model.prior <= 0.5
    for f in ("name", "birth_date", "father_name", "mother_name"):
        top = fs.FIELDS[f] - 1
        assert model.weights({f: top})[f] > 0 > model.weights({f: 0})[f], f
    assert all(0 < v < 1 for table in (model.m, model.u) for levels in table.values() for v in levels)
    p = people[3]
    twin = fs.Person(**{**p.__dict__, "id": "probe", "nik": "1" * 16, "name": p.name[:-1] + "X"})
    other = next(q for q in people if q.id.startswith("p") and q.village_code[:8] != p.village_code[:8]
                 and fs.compare(p, q).get("name") == 0)
    stranger = fs.Person(**{**other.__dict__, "birth_date": p.birth_date})
    ranked = fs.match(twin, [stranger, p], model=model, min_weight=-1000)
    assert [m.other_id for m in ranked] == [p.id, stranger.id]
    assert ranked[0].weight - ranked[1].weight > 20 and ranked[0].probability > 0.99 > 0.01 > ranked[1].probability
    # and so for the re-recordings with a name typo, among everyone born the same day
    by_id = {q.id: q for q in people}
    typos = [q for q in people if q.id.startswith("d") and int(q.id[1:]) % 10 == 0]
    for q in typos:
        same_day = [c for c in people if c.birth_date == q.birth_date]
        assert fs.match(q, same_day, model=model, min_weight=-1000)[0].other_id == "p" + q.id[1:], by_id[q.id]


def test_training_is_deterministic(model, people):
    shuffled = list(people)
    random.Random(1).shuffle(shuffled)
    again = service.model_for(shuffled)  # what the service trains with: Splink, from 50 records on
    assert again.as_dict() == model.as_dict()


def test_em_that_underflows_stops_earlier_instead_of_failing(people, monkeypatch):
    real = splink_training._new_linker

    def linker(df, settings):  # Splink 5 raises when an m underflows to 0: pretend it does past 3 rounds
        made = real(df, settings)
        if settings["max_iterations"] > 3:
            def underflow(*args, **kwargs):
                raise ValueError("m_probability value 0.0 is below the minimum allowed value of 1e-300")
            monkeypatch.setattr(made.training, "estimate_parameters_using_expectation_maximisation", underflow)
        return made

    monkeypatch.setattr(splink_training, "_new_linker", linker)
    model = splink_training.train_with_splink(people[:200])
    assert set(model.trained_on["em"].values()) == {3} and model.m != fs.Model.default().m


def test_no_blocked_pairs_keep_the_default_m_and_prior():
    people = [_p(i, name=f"Orang {chr(65 + i % 26)}{i}", birth_date=dt.date(1900 + i, 1, 1)) for i in range(60)]
    model = splink_training.train_with_splink(people)
    default = fs.Model.default()
    assert model.trained_on["em"] == {splink_training.BLOCK_BIRTH_DATE: None, splink_training.BLOCK_YEAR_NAME: None}
    assert model.m == default.m and model.prior == default.prior and model.u != default.u


def test_nik_collision_is_always_reported_first():
    model = fs.Model.default()
    probe = _p(1)
    other = _p(2, nik=probe.nik, name="Siti Aminah", sex="P", birth_date=dt.date(1970, 1, 1))
    twin = _p(3)
    found = fs.match(probe, [twin, other], model=model)
    assert found[0].other_id == "2" and found[0].nik_collision and found[1].other_id == "3"


def test_too_few_records_keep_the_priors():
    model = service.model_for([_p(i) for i in range(10)])
    assert model.trained_on == {} and model.as_dict() == fs.Model.default().as_dict()
