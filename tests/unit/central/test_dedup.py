"""Demographic dedup, pure: Indonesian name sounds, comparison levels, EM-trained weights."""

from __future__ import annotations

import datetime as dt
import random

from ktpel.central.dedup import fellegi_sunter as fs
from ktpel.central.dedup.phonetic import name_key, normalise_name, word_key


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


def _population(n, seed=3):
    rng = random.Random(seed)
    first = ["Budi", "Siti", "Agus", "Dewi", "Eko", "Sri", "Andi", "Rina", "Joko", "Wati", "Hadi", "Nur"]
    last = ["Santoso", "Wahyuni", "Saputra", "Lestari", "Hidayat", "Rahayu", "Pratama", "Kurniawan"]
    people = []
    for i in range(n):
        people.append(fs.Person(
            id=f"p{i}", nik=f"{i:016d}", name=f"{rng.choice(first)} {rng.choice(last)}",
            birth_date=dt.date(1950 + rng.randrange(50), 1 + rng.randrange(12), 1 + rng.randrange(28)),
            birth_place=rng.choice(["Kalianda", "Metro", "Bandar Lampung", "Pringsewu"]), sex=rng.choice("LP"),
            father_name=rng.choice(first), mother_name=rng.choice(first),
            village_code=f"18.01.0{rng.randrange(1, 9)}.200{rng.randrange(1, 9)}", street=f"Jl. {rng.randrange(90)}"))
    # a quarter recorded twice with small changes (typo, other village)
    for i in range(0, n // 4):
        p = people[i]
        people.append(fs.Person(id=f"d{i}", nik=f"9{i:015d}", name=p.name.replace("a", "o", 1),
                                birth_date=p.birth_date, birth_place=p.birth_place, sex=p.sex,
                                father_name=p.father_name, mother_name=p.mother_name,
                                village_code=p.village_code if i % 2 else "18.02.01.2001", street=p.street))
    return people


def test_em_learns_weights_that_rank_true_duplicates_first():
    people = _population(400)
    model = fs.train(people, fs.blocked_pairs(people))
    assert model.trained_on["em"] is True and 0 < model.prior < 0.5
    # agreement on birth date weighs much more than agreement on sex
    assert model.weights({"birth_date": 2})["birth_date"] > 3 * model.weights({"sex": 1})["sex"]
    by_id = {p.id: p for p in people}
    hits = 0
    for i in range(100):
        probe = by_id[f"d{i}"]
        ranked = fs.match(probe, [p for p in people if p.id != probe.id and p.birth_date == probe.birth_date],
                          model=model, min_weight=-100)
        hits += bool(ranked) and ranked[0].other_id == f"p{i}"
    assert hits >= 95


def test_nik_collision_is_always_reported_first():
    model = fs.Model.default()
    probe = _p(1)
    other = _p(2, nik=probe.nik, name="Siti Aminah", sex="P", birth_date=dt.date(1970, 1, 1))
    twin = _p(3)
    found = fs.match(probe, [twin, other], model=model)
    assert found[0].other_id == "2" and found[0].nik_collision and found[1].other_id == "3"


def test_too_few_records_keep_the_priors():
    assert fs.train([_p(i) for i in range(10)], []).trained_on == {}
