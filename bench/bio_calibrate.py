"""Measure genuine/impostor score distributions on ../shared/data and write the thresholds file.

Run: .venv/bin/python bench/bio_calibrate.py && .venv/bin/python bench/bio_calibrate.py --face-only
(writes src/ktpel/biometrics/thresholds.json; the committed file is exactly those two steps: the first
alone writes face entries from ORL only, the second rewrites them from ORL + composites).
Fingerprint normalisation pools both FVC sets. Face (the --face-only step): the impostor distribution pools ORL and a
composite copy of ORL (every photo pasted beside a smaller face of another person, as at a busy
counter), 800 images: 4x the impostor pairs of ORL alone (genuine pairs of a photo with its own
composite are left out). Fused bands are checked on chimeric identities (ORL person i + FVC2002
finger i + FVC2000 finger i, impressions paired by index). --face-only keeps the fingerprint
entries of the existing file (and its band check) and rewrites the face entries only.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data"
OUT = ROOT / "src" / "ktpel" / "biometrics" / "thresholds.json"
REVIEW_Z = 4.0  # per-comparison FMR 1e-4: worth an adjudicator's look
HIT_Z = 8.0  # per-comparison FMR 1e-8 (Fisher-fused, so for any number of modalities)


def face_scores(eng) -> tuple[np.ndarray, np.ndarray, int, int, dict]:  # noqa: ANN001
    """Genuine and impostor fused face scores over ORL + its composite copy (same-source pairs left out),
    and the ORL-only figures (pairs of two plain ORL photos: the all-pairs protocol of `bio eval`)."""
    import cv2

    from ktpel.biometrics import composite as comp
    from ktpel.biometrics.errors import BiometricError
    from ktpel.biometrics.evaluate import error_rates, face_files

    orl = DATA / "faces" / "att_orl"
    items = face_files(orl)
    rng = np.random.default_rng(19795)
    people = sorted({p for p, _ in items})
    temps, labels, source, fails = [], [], [], 0
    for k, (person, path) in enumerate(items):
        other = rng.choice([p for p in people if p != person])
        bg = cv2.imread(str(orl / other / f"{rng.integers(1, 11)}.pgm"), cv2.IMREAD_GRAYSCALE)
        photo = comp.png(comp.with_background_face(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE), bg,
                                                   relative_size=float(rng.uniform(0.5, 0.85)),
                                                   side=int(rng.choice([-1, 1])), seed=k))
        for data in (path.read_bytes(), photo):
            try:
                temps.append(eng.extract_face(data))
            except BiometricError:
                temps.append(None)
                fails += 1
            labels.append(person)
            source.append(k)
    gen, imp, orl_gen, orl_imp = [], [], [], []
    for a, b in itertools.combinations(range(len(temps)), 2):
        if source[a] == source[b]:
            continue
        s = eng.compare_faces(temps[a], temps[b]) if temps[a] is not None and temps[b] is not None \
            else float("-inf")
        (gen if labels[a] == labels[b] else imp).append(s)
        if a % 2 == 0 and b % 2 == 0:  # both plain ORL photos
            (orl_gen if labels[a] == labels[b] else orl_imp).append(s)
    orl_fails = sum(t is None for t in temps[::2])
    orl = {"images": len(items), "failed_to_extract": orl_fails, "genuine_pairs": len(orl_gen),
           "impostor_pairs": len(orl_imp),
           **{k: round(v, 6) for k, v in error_rates(np.array(orl_gen), np.array(orl_imp)).items()}}
    return np.array(gen), np.array(imp), len(temps), fails, orl


def main() -> None:
    from ktpel.biometrics.engine import Engine
    from ktpel.biometrics.evaluate import error_rates, eval_face, eval_fingerprint
    from ktpel.biometrics.fusion import _from_dict, survival_table

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--face-only", action="store_true", help="rewrite the face entries only")
    a = ap.parse_args()  # before any work: --help must not rewrite the thresholds file
    eng = Engine(calibration=None)
    if a.face_only:
        face_only(eng)
        return
    runs = {
        "FVC2002_DB1_B": eval_fingerprint(DATA / "fingerprints" / "FVC2002_DB1_B", engine=eng),
        "FVC2000_DB4_B": eval_fingerprint(DATA / "fingerprints" / "FVC2000_DB4_B", engine=eng),
        "att_orl": eval_face(DATA / "faces" / "att_orl", engine=eng),
    }
    fin_imp = np.concatenate([runs[k].impostor for k in ("FVC2002_DB1_B", "FVC2000_DB4_B")])
    fin_gen = np.concatenate([runs[k].genuine for k in ("FVC2002_DB1_B", "FVC2000_DB4_B")])
    face_imp, face_gen = runs["att_orl"].impostor, runs["att_orl"].genuine
    fin_imp, face_imp = fin_imp[np.isfinite(fin_imp)], face_imp[np.isfinite(face_imp)]
    verify = {}
    for name, g, i in (("finger", fin_gen, fin_imp), ("face", face_gen, face_imp)):
        thr = float(np.quantile(i, 1 - 1e-3, method="higher"))
        verify[name] = {"threshold": thr, "fmr": float((i >= thr).mean()), "fnmr": float((g < thr).mean()),
                        "genuine_pairs": int(len(g)), "impostor_pairs": int(len(i))}
    doc = {
        "about": "Written by bench/bio_calibrate.py from measured genuine/impostor scores on ../shared/data. "
                 "normalisation: impostor survival tables (raw score -> FMR). z = -log10 FMR. "
                 "verify: raw thresholds at FMR 1e-3 with the FMR/FNMR measured there. "
                 "bands: fused z thresholds (sum over modalities).",
        "normalisation": {"finger": survival_table(fin_imp), "face": survival_table(face_imp)},
        "verify": verify,
        "verify_z": 3.0,
        "bands": {"review_z": REVIEW_Z, "hit_z": HIT_Z},
        "score_stats": {m: {"genuine_mean": float(np.mean(g[np.isfinite(g)])),
                            "genuine_std": float(np.std(g[np.isfinite(g)])),
                            "impostor_mean": float(np.mean(i)), "impostor_std": float(np.std(i))}
                        for m, g, i in (("finger", fin_gen, fin_imp), ("face", face_gen, face_imp))},
        "measured": {k: {kk: vv for kk, vv in r.summary().items() if kk != "failed_files"}
                     for k, r in runs.items()},
    }
    cal = _from_dict(doc)
    # chimeric fused check: identity i = ORL s{i+1} + DB1 finger i + DB4 finger i, sample j < 8
    fp1, fp4, fc = runs["FVC2002_DB1_B"], runs["FVC2000_DB4_B"], runs["att_orl"]
    bands = chimeric(cal, fp1, fp4, fc)
    doc["bands"].update(bands)
    for m in ("finger", "face"):
        g, i = (fin_gen, fin_imp) if m == "finger" else (face_gen, face_imp)
        doc["verify"][m]["eer_pooled"] = error_rates(g, i)["eer"]
    OUT.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    json.dump({k: doc[k] for k in ("verify", "bands")}, sys.stdout, indent=1)
    print()


def face_only(eng) -> None:  # noqa: ANN001
    """Rewrite the face entries of the thresholds file from the fuller ORL + composites distribution."""
    from ktpel.biometrics.evaluate import error_rates
    from ktpel.biometrics.fusion import survival_table

    doc = json.loads(OUT.read_text(encoding="utf-8"))
    gen, imp, n, fails, orl = face_scores(eng)
    imp_f, gen_f = imp[np.isfinite(imp)], gen[np.isfinite(gen)]
    thr = float(np.quantile(imp_f, 1 - 1e-3, method="higher"))
    doc["normalisation"]["face"] = survival_table(imp_f)
    doc["verify"]["face"] = {"threshold": thr, "fmr": float((imp_f >= thr).mean()), "fnmr": float((gen < thr).mean()),
                             "genuine_pairs": int(len(gen)), "impostor_pairs": int(len(imp_f)),
                             "eer_pooled": error_rates(gen, imp)["eer"],
                             "set": f"att_orl + composites ({n} images, {fails} failed to extract)"}
    doc["score_stats"]["face"] = {"genuine_mean": float(np.mean(gen_f)), "genuine_std": float(np.std(gen_f)),
                                  "impostor_mean": float(np.mean(imp_f)), "impostor_std": float(np.std(imp_f))}
    doc["measured"]["att_orl"] = orl  # accuracy only: speed is bench/bio_eval.py's
    doc["about"] = doc["about"].split(" Face:")[0] + (" Face: impostor survival over ORL + ORL composites "
                                                      "(fused SFace + dlib score), see bench/bio_calibrate.py.")
    OUT.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    json.dump({"verify": doc["verify"]["face"], "score_stats": doc["score_stats"]["face"]}, sys.stdout, indent=1)
    print()


def chimeric(cal, fp1, fp4, fc) -> dict:  # noqa: ANN001
    """FMR/FNMR of the bands on chimeric face+2-finger identities built from the pair lists."""
    # Rebuild per-pair z from the stored pair order: pairs are itertools.combinations of files sorted
    # by name, so genuine index k of the face run pairs with genuine index k of the finger runs.
    n = min(len(fp1.genuine), len(fp4.genuine), len(fc.genuine))
    m = min(len(fp1.impostor), len(fp4.impostor), len(fc.impostor))
    z = lambda mod, s: cal.normalise(mod, s) if np.isfinite(s) else 0.0  # noqa: E731
    g = np.array([cal.fuse({"face": z("face", fc.genuine[k]), "f1": z("finger", fp1.genuine[k]),
                            "f2": z("finger", fp4.genuine[k])}) for k in range(n)])
    i = np.array([cal.fuse({"face": z("face", fc.impostor[k]), "f1": z("finger", fp1.impostor[k]),
                            "f2": z("finger", fp4.impostor[k])}) for k in range(m)])
    return {"chimeric_genuine": int(n), "chimeric_impostor": int(m),
            "review_fmr": float((i >= cal.review_z).mean()), "review_fnmr": float((g < cal.review_z).mean()),
            "hit_fmr": float((i >= cal.hit_z).mean()), "hit_fnmr": float((g < cal.hit_z).mean())}


if __name__ == "__main__":
    main()
