"""The `ktpel` command as a user runs it: real processes, real exit codes."""

import json
import subprocess
import sys
from pathlib import Path

KTPEL = [str(Path(sys.executable).parent / "ktpel")]


def run(*args, env=None):
    return subprocess.run(KTPEL + list(args), capture_output=True, text=True, timeout=120, env=env)


def test_nik_check_json_for_a_valid_nik(shared_data):
    out = run("nik", "check", "1801064508990001", "--json")
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert body == {
        "valid": True, "nik": "1801064508990001", "province": "Lampung",
        "regency": "Kabupaten Lampung Selatan", "district": "Kalianda", "district_code": "18.01.06",
        "birth_date": "1999-08-05", "sex": "P", "serial": "0001",
    }


def test_nik_check_json_for_an_invalid_nik_exits_2(shared_data):
    out = run("nik", "check", "1801067202990000", "--json")
    assert out.returncode == 2
    body = json.loads(out.stdout)
    assert body["valid"] is False
    assert {e["code"] for e in body["errors"]} == {"nik_invalid_date", "nik_serial_zero"}
    assert all(e["message_id"] and e["message_en"] for e in body["errors"])


def test_seed_command_is_deterministic_and_refuses_bad_regency(tmp_path, shared_data):
    import os

    def seed_into(d):
        env = {**os.environ, "KTPEL_DATA_DIR": str(d), "KTPEL_SHARED_DATA": str(shared_data)}
        env.pop("KTPEL_DATABASE_URL", None)
        return run("seed", "--regency", "18.01", "--residents", "300", "--seed", "9", env=env)

    a, b = seed_into(tmp_path / "a"), seed_into(tmp_path / "b")
    assert a.returncode == b.returncode == 0, a.stderr
    import sqlite3

    rows = [sqlite3.connect(tmp_path / d / "office.db").execute("select nik from residents order by nik").fetchall()
            for d in ("a", "b")]
    assert len(rows[0]) == 300 and rows[0] == rows[1]
    bad = run("seed", "--regency", "18.01.06", "--residents", "10",
              env={**os.environ, "KTPEL_DATA_DIR": str(tmp_path / "c")})
    assert bad.returncode == 2 and "not a regency code" in bad.stderr
