"""Training of the demographic Fellegi–Sunter model with Splink on DuckDB.

Splink fits the parameters over the national records: u by random sampling, then m and λ by EM over
the pairs of two blocking rules (those of `fs.block_keys`). The fitted values become an `fs.Model`,
which the pipeline worker applies with the pure `fs.match` (fast, no I/O, explains field by field).

Every comparison level is SQL over columns computed here with the functions `fs.compare()` uses
(normalised names, phonetic keys, ASCII streets) and the same Levenshtein ratio, so the level Splink
gives a pair is `compare()`'s level for every field; the unit tests check it pair by pair.
splink, duckdb and pyarrow are imported inside the functions: importing ktpel must stay quick.
"""

from __future__ import annotations

import logging
import statistics
import tempfile
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

from ktpel.central.dedup import fellegi_sunter as fs
from ktpel.central.dedup.phonetic import name_keys, normalise_name

# Training blocks. The birth year is a column of its own: Splink's EM leaves out the comparisons whose
# columns a rule uses, so with `year(birth_date)` the second rule could not estimate the birth date's m.
BLOCK_BIRTH_DATE = "l.birth_date = r.birth_date"
BLOCK_YEAR_NAME = "l.birth_year = r.birth_year AND list_has_any(l.name_keys, r.name_keys)"
_U_PAIRS = 2e6  # random pairs for u: enough to see an exact birth date (≈ 1 in 20,000 pairs) often
_EM_ITERATIONS = (25, 8, 3, 1)  # EM's iteration cap, lowered while an m underflows (see _fit_m)
# below what the samples can resolve a probability is noise; an exact 0 would be an infinite weight
_M_FLOOR = 1e-4
_U_FLOOR = 1e-6
# name-like fields of fs.compare() -> prefix of their precomputed columns
_NAME_FIELDS = {"name": "name", "birth_place": "place", "father_name": "father", "mother_name": "mother"}


def train_with_splink(people: Sequence[fs.Person], *, seed: int = 7) -> fs.Model:
    """Fit m, u and λ with Splink on DuckDB; deterministic for a given set of people and seed."""
    import duckdb
    import splink

    with _input(people) as (df, con):
        base = _new_linker(df, _settings())
        base.training.estimate_u_using_random_sampling(max_pairs=_U_PAIRS, seed=seed)
        with_u = base.misc.save_model_to_json()
        fits = {rule: _fit_m(df, settings=with_u, rule=rule) for rule in (BLOCK_BIRTH_DATE, BLOCK_YEAR_NAME)}
        by_birth_date, blocked = _pair_counts(con)
    m, u, defaults = _fitted(with_u=with_u, fits=[f for f in fits.values() if f is not None])
    birth_date_fit = fits[BLOCK_BIRTH_DATE]
    prior = _prior(birth_date_lambda=birth_date_fit and birth_date_fit["lambda"],
                   m_birth_date_exact=m["birth_date"][2], by_birth_date=by_birth_date, blocked=blocked)
    trained_on = {"engine": f"splink {splink.__version__} on duckdb {duckdb.__version__}",
                  "records": len(people), "pairs": blocked, "pairs_same_birth_date": by_birth_date,
                  "em": {rule: fit and fit["iterations"] for rule, fit in fits.items()},
                  "u_pairs": int(_U_PAIRS), "seed": seed, "defaults": defaults}
    return fs.Model(m=m, u=u, prior=prior, trained_on=trained_on)


def comparison_vectors(people: Sequence[fs.Person]) -> dict[tuple[str, str], dict[str, int]]:
    """Splink's levels for every blocked pair, keyed (lower id, higher id); missing fields left out.

    Shows that Splink compares exactly as `fs.compare()` does (the tests rely on it).
    """
    with _input(people) as (df, _con):
        linker = _new_linker(df, {**_settings(), "retain_matching_columns": True})  # keeps gamma_*
        rows = linker.inference.predict(warning_mode="never").as_record_list()
    return {(r["unique_id_l"], r["unique_id_r"]): {f: r[f"gamma_{f}"] for f in fs.FIELDS if r[f"gamma_{f}"] >= 0}
            for r in rows}


def _fit_m(df: Any, *, settings: dict, rule: str) -> dict | None:
    """m (and the in-block λ) by EM over the pairs `rule` blocks; None when it has no pairs.

    Each EM session runs on a fresh linker holding the u estimates: a failing session leaves Splink's
    linker without the comparisons the rule uses. When matches and non-matches separate perfectly
    (small or clean data), an m shrinks towards 0 each iteration and Splink 5 refuses the underflow:
    EM then stops earlier, where that m is already negligible (it is floored later anyway).
    """
    from splink.internals.exceptions import EMTrainingException

    for iterations in _EM_ITERATIONS:
        linker = _new_linker(df, {**settings, "max_iterations": iterations})
        try:
            # no term-frequency levels here, so EM over agreement-pattern counts is exact and fast
            session = linker.training.estimate_parameters_using_expectation_maximisation(
                rule, estimate_without_term_frequencies=True)
        except EMTrainingException:
            return None
        except ValueError:  # "m_probability value 0.0 is below the minimum allowed value"
            continue
        return {"params": linker.misc.save_model_to_json(), "iterations": iterations,
                "lambda": session.core_model_settings.probability_two_random_records_match}
    return None


# -- the DuckDB side ---------------------------------------------------------------------------------

@contextmanager
def _input(people: Sequence[fs.Person]) -> Iterator[tuple[Any, Any]]:
    """The people registered in an in-memory DuckDB (Splink input, connection); files only in a temp dir."""
    import duckdb
    from splink import DuckDBAPI

    # Splink logs at INFO and warns about sample sizes; ktpel's logs are not the place for either
    logging.getLogger("splink").setLevel(logging.ERROR)
    table = _table(sorted(people, key=lambda p: p.id))  # input order must not change the result
    with tempfile.TemporaryDirectory(prefix="ktpel-splink-") as tmp:
        con = duckdb.connect(":memory:")
        try:
            # one thread: parallel floating-point sums add up in a varying order, and training must
            # give the same model twice (and the host's other work keeps its cores)
            con.execute("SET threads = 1")
            con.execute("SET enable_progress_bar = false")
            con.execute("SET temp_directory = '" + tmp.replace("'", "''") + "'")  # spills stay in tmp
            con.register("ktpel_people", table)
            yield DuckDBAPI(connection=con).register(table, table_name="ktpel_splink_input"), con
        finally:
            con.close()


def _new_linker(df: Any, settings: dict) -> Any:
    from splink import Linker

    return Linker(df, settings, log_level=None)


def _pair_counts(con: Any) -> tuple[int, int]:
    """Pairs sharing the birth date, and pairs either training rule blocks (both imply the same year)."""
    row = con.execute(f"""
        SELECT count(*) FILTER (WHERE {BLOCK_BIRTH_DATE}),
               count(*) FILTER (WHERE {BLOCK_BIRTH_DATE} OR list_has_any(l.name_keys, r.name_keys))
        FROM ktpel_people l JOIN ktpel_people r
          ON l.birth_year = r.birth_year AND l.unique_id < r.unique_id""").fetchone()
    return int(row[0]), int(row[1])


def _table(people: Sequence[fs.Person]) -> Any:
    """One row per person with the values compare() derives, computed by the same Python functions."""
    import pyarrow as pa

    keys = pa.list_(pa.string())
    fields = [("unique_id", pa.string()), ("birth_date", pa.date32()), ("birth_year", pa.int32()),
              ("sex", pa.string()), ("village", pa.string()), ("district", pa.string()),
              ("street", pa.string())]
    for prefix in _NAME_FIELDS.values():
        fields += [(f"{prefix}_norm", pa.string()), (f"{prefix}_keys", keys)]
    return pa.Table.from_pylist([_row(p) for p in people], schema=pa.schema(fields))


def _row(p: fs.Person) -> dict:
    row = {"unique_id": p.id, "birth_date": p.birth_date, "birth_year": p.birth_date.year,
           "sex": p.sex or "",  # compare() counts sex always: "" equals ""
           "village": p.village_code or None, "district": (p.village_code or "")[:8] or None,
           "street": fs.street_key(p.street)}
    for f, prefix in _NAME_FIELDS.items():
        norm = normalise_name(getattr(p, f) or "")
        row[f"{prefix}_norm"] = norm or None  # NULL: Splink's null level, compare() leaves it out
        row[f"{prefix}_keys"] = sorted(name_keys(norm))
    return row


# -- comparisons: levels listed exact first, as Splink numbers them (k-1 … 0, null = -1) -------------

def _settings() -> dict:
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "unique_id",
        "probability_two_random_records_match": 1e-4,
        "comparisons": [_name_comparison(field="name"), _birth_date_comparison(),
                        _name_comparison(field="birth_place"), _sex_comparison(),
                        _name_comparison(field="father_name"), _name_comparison(field="mother_name"),
                        _address_comparison()],
        "blocking_rules_to_generate_predictions": [BLOCK_BIRTH_DATE, BLOCK_YEAR_NAME],
        "max_iterations": _EM_ITERATIONS[0],
        "em_convergence": 1e-4,
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
    }


def _level(sql: str, label: str, *, null: bool = False) -> dict:
    level = {"sql_condition": sql, "label_for_charts": label}
    if null:
        level["is_null_level"] = True
    return level


def _ratio_at_least(column: str, threshold: float) -> str:
    """fs.similarity(a, b) >= threshold in SQL, with the same double arithmetic (never 0/0)."""
    a, b = f"{column}_l", f"{column}_r"
    return (f"{a} <> '' AND {b} <> '' AND 1 - levenshtein({a}, {b}) / greatest(length({a}), length({b}))"
            f" >= CAST({threshold!r} AS DOUBLE)")


def _name_comparison(*, field: str) -> dict:
    norm, keys = f"{_NAME_FIELDS[field]}_norm", f"{_NAME_FIELDS[field]}_keys"
    levels = [_level(f"{norm}_l IS NULL OR {norm}_r IS NULL", "missing", null=True),
              _level(f"{norm}_l = {norm}_r", "exact")]
    if fs.FIELDS[field] == 4:
        levels.append(_level(_ratio_at_least(norm, fs.NAME_SIMILAR), "similar"))
    levels += [_level(f"list_has_any({keys}_l, {keys}_r)", "shares a name sound"), _level("ELSE", "differ")]
    return {"output_column_name": field, "comparison_levels": levels}


def _birth_date_comparison() -> dict:
    l, r = "birth_date_l", "birth_date_r"
    same_parts = (f"CAST(year({l}) = year({r}) AS INTEGER) + CAST(month({l}) = month({r}) AS INTEGER)"
                  f" + CAST(day({l}) = day({r}) AS INTEGER)")
    swapped = f"year({l}) = year({r}) AND day({l}) = month({r}) AND month({l}) = day({r})"
    return {"output_column_name": "birth_date", "comparison_levels": [
        _level(f"{l} = {r}", "exact"),
        _level(f"({same_parts}) = 2 OR ({swapped})", "one part differs or day/month swapped"),
        _level("ELSE", "differ")]}


def _sex_comparison() -> dict:
    return {"output_column_name": "sex", "comparison_levels": [
        _level("sex_l = sex_r", "same"), _level("ELSE", "differ")]}


def _address_comparison() -> dict:
    return {"output_column_name": "address", "comparison_levels": [
        _level("village_l IS NULL OR village_r IS NULL", "missing", null=True),
        _level("village_l = village_r AND " + _ratio_at_least("street", fs.STREET_SIMILAR),
               "same village, similar street"),
        _level("village_l = village_r", "same village"),
        _level("district_l = district_r", "same district"),
        _level("ELSE", "differ")]}


# -- from Splink's parameters to fs.Model ------------------------------------------------------------

def _fitted(*, with_u: dict, fits: list[dict]) -> tuple[dict, dict, list[str]]:
    """m and u per field, indexed by fs level; levels Splink did not estimate take the defaults.

    u comes from random sampling; m of a level is the median over the EM sessions that estimated it,
    as Splink combines sessions (a rule's own fields are not estimated by its session).
    """
    default = fs.Model.default()
    m: dict[str, list[float]] = {}
    u: dict[str, list[float]] = {}
    defaults: list[str] = []
    u_levels = _levels(with_u)
    fit_levels = [_levels(fit["params"]) for fit in fits]
    for f in fs.FIELDS:
        raw_u = [_number(level.get("u_probability")) for level in u_levels[f]]
        raw_m = []
        for lv in range(fs.FIELDS[f]):
            found = [_number(levels[f][lv].get("m_probability")) for levels in fit_levels]
            found = [v for v in found if v is not None]
            raw_m.append(statistics.median(found) if found else None)
        for kind, raw in (("m", raw_m), ("u", raw_u)):
            defaults += [f"{f}.{kind}{lv}" for lv, v in enumerate(raw) if v is None]
        m[f] = _complete(raw_m, default.m[f], floor=_M_FLOOR)
        u[f] = _complete(raw_u, default.u[f], floor=_U_FLOOR)
    return m, u, defaults


def _levels(params: dict) -> dict[str, list[dict]]:
    """Splink's non-null levels of each comparison, indexed by fs level (Splink lists exact first)."""
    out = {}
    for comparison in params["comparisons"]:
        f = comparison["output_column_name"]
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        if len(levels) != fs.FIELDS[f]:
            raise ValueError(f"{f}: Splink has {len(levels)} levels, fs.compare() {fs.FIELDS[f]}")
        out[f] = levels[::-1]
    return out


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def _complete(raw: list[float | None], default: list[float], *, floor: float) -> list[float]:
    """Fill unestimated levels from the default, keep every level above floor, sum to 1."""
    values = [max(d if v is None else v, floor) for v, d in zip(raw, default)]
    total = sum(values)
    return [v / total for v in values]


def _prior(*, birth_date_lambda: float | None, m_birth_date_exact: float, by_birth_date: int,
           blocked: int) -> float:
    """λ of fs.Model: the share of blocked pairs that are one person.

    EM blocked on the birth date estimates the share of matches among same-birth-date pairs; dividing
    by m(exact birth date) adds the matches a birth-date typo hides, and the blocked pairs of both rules
    are the candidates the worker scores.
    """
    if birth_date_lambda is None or blocked == 0:
        return fs.Model.default().prior
    expected_matches = birth_date_lambda * by_birth_date / m_birth_date_exact
    return min(max(expected_matches / blocked, 1e-6), 0.5)
