"""LFW pairs.txt protocol: parser, fold logic, and the eval CLI on a small generated folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ktpel.biometrics.evaluate import Pair, best_threshold, fold_accuracies, pair_image, parse_pairs


def test_parser_reads_folds_of_matched_then_mismatched_pairs():
    text = "2\t1\nann 1 2\nann 1 bob 1\nbob 1 3\nbob 2 cy 1\n"
    folds = parse_pairs(text)
    assert folds == [[Pair(("ann", 1), ("ann", 2), True), Pair(("ann", 1), ("bob", 1), False)],
                     [Pair(("bob", 1), ("bob", 3), True), Pair(("bob", 2), ("cy", 1), False)]]


@pytest.mark.parametrize("text,msg", [("2 1\nann 1 2\nann 1 bob 1\n", "header says"),
                                      ("1 1\nann 1 bob 1\nann 1 2\n", "matched"), ("", "empty")])
def test_parser_refuses_malformed_files(text, msg):
    with pytest.raises(ValueError, match=msg):
        parse_pairs(text)


def test_each_fold_is_tested_at_the_threshold_learnt_on_the_others():
    # folds 0-2 separate midway between 0.38 and 0.6; fold 3 alone would separate below 0.45, but it is
    # tested at the others' 0.49
    s = [np.array([0.6, 0.38]), np.array([0.7, 0.3]), np.array([0.65, 0.35]), np.array([0.45, 0.2])]
    g = [np.array([True, False])] * 4
    assert best_threshold(np.concatenate(s[:3]), np.concatenate(g[:3])) == pytest.approx(0.49)
    assert fold_accuracies(s, g) == [1.0, 1.0, 1.0, 0.5]


def test_failures_never_match():
    s = [np.array([-np.inf, 0.2]), np.array([0.9, 0.1])]
    g = [np.array([True, False]), np.array([True, False])]
    assert fold_accuracies(s, g)[0] == 0.5


def test_lfw_names_and_plain_folders_both_resolve(tmp_path):
    (tmp_path / "Ann_Lee").mkdir()
    for n in (1, 2):
        (tmp_path / "Ann_Lee" / f"Ann_Lee_{n:04d}.jpg").write_bytes(b"x")
    (tmp_path / "bob").mkdir()
    for n in ("b.png", "a.png"):
        (tmp_path / "bob" / n).write_bytes(b"x")
    assert pair_image(tmp_path, "Ann_Lee", 2).name == "Ann_Lee_0002.jpg"
    assert pair_image(tmp_path, "bob", 2).name == "b.png"
    with pytest.raises(FileNotFoundError):
        pair_image(tmp_path, "bob", 3)


def _lfw_folder(tmp: Path, orl: Path) -> Path:
    """6 ORL people as an LFW-style folder (one unreadable image), 2 folds of 3 + 3 pairs."""
    d = tmp / "lfw"
    for k in range(1, 7):
        (d / f"p{k}").mkdir(parents=True)
        for i in (1, 2):
            shutil.copy(orl / f"s{k}" / f"{i}.pgm", d / f"p{k}" / f"p{k}_{i:04d}.pgm")
    (d / "p6" / "p6_0002.pgm").write_bytes(b"not an image")
    lines = ["2 3", "p1 1 2", "p2 1 2", "p3 1 2", "p1 1 p2 1", "p3 2 p4 1", "p5 1 p6 1",
             "p4 1 2", "p5 1 2", "p6 1 2", "p1 2 p3 1", "p2 2 p5 2", "p4 2 p6 2"]
    (d / "pairs.txt").write_text("\n".join(lines) + "\n")
    return d


def test_cli_runs_the_pairs_protocol_and_reports_fte_apart(tmp_path, bio_data):
    from ktpel.cli import app

    d = _lfw_folder(tmp_path, bio_data / "faces" / "att_orl")
    res = CliRunner().invoke(app, ["bio", "eval", "face", str(d), "--pairs", str(d / "pairs.txt"), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["protocol"] == "pairs" and out["folds"] == 2 and out["images"] == 12
    assert out["failed_to_extract"] == 1 and out["fte"] == pytest.approx(1 / 12, abs=1e-5)
    assert out["genuine_pairs"] == 6 and out["genuine_pairs_without_fte"] == 5
    # the failed image's genuine pair counts against TAR only when FTE is counted
    assert out["tar_at_fmr_1e-3"] == pytest.approx(5 / 6, abs=1e-5)
    assert out["tar_at_fmr_1e-3_without_fte"] == 1.0
    assert out["accuracy_mean_without_fte"] == 1.0 and out["accuracy_mean"] < 1.0
    text = CliRunner().invoke(app, ["bio", "eval", "face", str(d), "--pairs", str(d / "pairs.txt")])
    assert "FTE (failure to extract): 1/12" in text.stdout and "without FTE" in text.stdout
