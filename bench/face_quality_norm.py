"""Does quality-aware score normalisation help the fused face score? Measured, person-disjoint.

Run: .venv/bin/python bench/face_quality_norm.py   (prints one JSON object per method, then a table)

Images: ORL (400) and a composite copy of every ORL photo (the subject beside a smaller face of
another person, built as bench/bio_calibrate.py builds it, same seeds): 800 images, pairs of a photo
with its own composite left out. Per image the quality measures the engine already computes
(`face_report`: eye distance, sharpness, yaw, roll, detector score, the 0-100 quality score) plus the
landmark plausibility of subject selection.

Methods, each fitted on the pairs of persons 1-20 and scored on persons 21-40, and the reverse
(2 folds, so no pair is scored by a model that saw its persons); the fused score s is the engine's:
- `raw`: s unchanged (the shipped comparison);
- `qz_template`: impostor-centric z-norm on the quality the template carries: s' = (s − μ(q)) / σ(q),
  with μ, σ the impostor mean and spread in 5 bins of q = min(quality_a, quality_b);
- `qz_measures`: the same with μ(q), σ(q) linear in the pair's measures (min and |difference| of each
  standardised measure), σ fitted on the absolute impostor residuals;
- `qweight`: the SFace / dlib fusion weight as a function of pair quality (3 bins of q, the weight per
  bin that minimises the training fold's EER, on a grid 0-0.6).
Figures: EER, FNMR at FMR 1e-3 and 1e-4 on ORL pairs (both plain photos), on pairs with a composite,
and pooled; and d' (genuine/impostor separation), which moves even when no error count does.
"""

from __future__ import annotations

import itertools
import json
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ORL = ROOT / ".." / "shared" / "data" / "faces" / "att_orl"
MEASURES = ("eye_distance_px", "sharpness", "yaw_ratio", "roll_deg", "detection_score", "landmarks", "score")


def images() -> tuple[list[dict], list[str]]:
    """Per image: SFace and dlib embeddings, quality measures, person, source photo, composite or not."""
    from ktpel.biometrics import composite as comp
    from ktpel.biometrics import get_engine, imageio
    from ktpel.biometrics.engine import subject_of
    from ktpel.biometrics.errors import BiometricError
    from ktpel.biometrics.evaluate import face_files
    from ktpel.biometrics.face import landmark_quality
    from ktpel.biometrics.quality import face_report

    eng = get_engine()
    items = face_files(ORL)
    rng = np.random.default_rng(19795)  # bench/bio_calibrate.py's composites
    people = sorted({p for p, _ in items})
    out, failed = [], []
    for k, (person, path) in enumerate(items):
        other = rng.choice([p for p in people if p != person])
        bg = cv2.imread(str(ORL / other / f"{rng.integers(1, 11)}.pgm"), cv2.IMREAD_GRAYSCALE)
        photo = comp.png(comp.with_background_face(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE), bg,
                                                   relative_size=float(rng.uniform(0.5, 0.85)),
                                                   side=int(rng.choice([-1, 1])), seed=k))
        for composite, data in ((False, path.read_bytes()), (True, photo)):
            try:
                bgr = imageio.decode_bgr(data, min_side=48)
                choice = subject_of(eng.face_model, bgr)
            except BiometricError as err:  # counted, as the eval counts FTE
                failed.append(f"{path}: {err}")
                continue
            rep = face_report(bgr, choice.face)
            m = rep.measures
            out.append({"person": person, "source": k, "composite": composite,
                        "v1": eng.face_model.embed(bgr, choice.face),
                        "v2": eng.second_face_model.embed(bgr, choice.face),
                        "q": {"eye_distance_px": np.log(m["eye_distance_px"]), "sharpness": np.log1p(m["sharpness"]),
                              "yaw_ratio": abs(m["yaw_ratio"]), "roll_deg": abs(m["roll_deg"]),
                              "detection_score": m["detection_score"], "landmarks": landmark_quality(choice.face),
                              "score": rep.score}})
    return out, failed


def pairs(imgs: list[dict]) -> dict[str, np.ndarray]:
    """All pairs but a photo with its own composite: cosines, labels, quality features."""
    from ktpel.biometrics.face import fuse_face_scores

    v1 = np.stack([i["v1"] for i in imgs])
    v2 = np.stack([i["v2"] for i in imgs])
    q = np.array([[i["q"][k] for k in MEASURES] for i in imgs], dtype=np.float64)
    idx = np.array([(a, b) for a, b in itertools.combinations(range(len(imgs)), 2)
                    if imgs[a]["source"] != imgs[b]["source"]])
    a, b = idx[:, 0], idx[:, 1]
    c1 = np.einsum("ij,ij->i", v1[a], v1[b])
    c2 = np.einsum("ij,ij->i", v2[a], v2[b])
    person = np.array([int(i["person"][1:]) for i in imgs])
    comp = np.array([i["composite"] for i in imgs])
    return {"c1": c1, "c2": c2, "s": np.array([fuse_face_scores(x, y, aux_model_id="dlib-resnet-v1")
                                               for x, y in zip(c1, c2)]),
            "genuine": person[a] == person[b], "half_a": person[a] <= 20, "half_b": person[b] <= 20,
            "orl": ~comp[a] & ~comp[b], "qa": q[a], "qb": q[b]}


def features(p: dict, sel: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    za, zb = (p["qa"][sel] - mean) / sd, (p["qb"][sel] - mean) / sd
    return np.column_stack([np.ones(sel.sum()), np.minimum(za, zb), np.abs(za - zb)])


def fit_predict(p: dict, train: np.ndarray, test: np.ndarray, method: str) -> np.ndarray:
    """The method's normalised scores of the test pairs, fitted on the training pairs."""
    from ktpel.biometrics.evaluate import error_rates
    from ktpel.biometrics.face import AUX_IMPOSTOR, PRIMARY_IMPOSTOR

    s, g = p["s"], p["genuine"]
    imp = train & ~g
    if method == "raw":
        return s[test]
    qmin = np.minimum(p["qa"][:, -1], p["qb"][:, -1])  # the template's quality score
    if method == "qz_template":
        edges = np.unique(np.quantile(qmin[imp], np.linspace(0, 1, 6)[1:-1]))
        bins_tr, bins_te = np.digitize(qmin[imp], edges), np.digitize(qmin[test], edges)
        mu = np.array([s[imp][bins_tr == k].mean() for k in range(len(edges) + 1)])
        sd = np.array([s[imp][bins_tr == k].std() for k in range(len(edges) + 1)])
        return (s[test] - mu[bins_te]) / sd[bins_te]
    if method == "qz_measures":
        q_all = np.vstack([p["qa"][train], p["qb"][train]])
        mean, sdq = q_all.mean(axis=0), q_all.std(axis=0) + 1e-9
        x_tr, x_te = features(p, imp, mean, sdq), features(p, test, mean, sdq)
        beta_mu = np.linalg.lstsq(x_tr, s[imp], rcond=None)[0]
        resid = np.abs(s[imp] - x_tr @ beta_mu)
        beta_sd = np.linalg.lstsq(x_tr, resid, rcond=None)[0]
        return (s[test] - x_te @ beta_mu) / np.maximum(x_te @ beta_sd, 1e-3)
    if method == "qweight":
        (mu1, sd1), (mu2, sd2) = PRIMARY_IMPOSTOR, AUX_IMPOSTOR["dlib-resnet-v1"]
        aux = mu1 + sd1 * (p["c2"] - mu2) / sd2
        edges = np.unique(np.quantile(qmin[train], [1 / 3, 2 / 3]))
        b_tr, b_te = np.digitize(qmin, edges), np.digitize(qmin[test], edges)
        out = np.empty(test.sum())
        for k in range(len(edges) + 1):
            sel = train & (b_tr == k)
            best = min(np.linspace(0, 0.6, 13),
                       key=lambda w: error_rates(((1 - w) * p["c1"] + w * aux)[sel & g],
                                                 ((1 - w) * p["c1"] + w * aux)[sel & ~g])["eer"])
            out[b_te == k] = ((1 - best) * p["c1"] + best * aux)[test][b_te == k]
        return out
    raise ValueError(method)


def figures(scores: np.ndarray, genuine: np.ndarray) -> dict:
    from ktpel.biometrics.evaluate import error_rates

    g, i = scores[genuine], scores[~genuine]
    r = error_rates(g, i)
    ths = np.sort(i)[::-1]
    fnmr_1e4 = float((g < ths[max(int(len(i) * 1e-4) - 1, 0)]).mean()) if len(i) >= 10_000 else float("nan")
    return {"eer": round(r["eer"], 6), "fnmr_at_fmr_1e-3": round(r["fnmr_at_fmr_1e-3"], 6),
            "fnmr_at_fmr_1e-4": round(fnmr_1e4, 6),
            "d_prime": round(float((g.mean() - i.mean()) / np.sqrt((g.var() + i.var()) / 2)), 3),
            "genuine": int(len(g)), "impostor": int(len(i))}


def main() -> None:
    cv2.setNumThreads(1)
    imgs, failed = images()
    p = pairs(imgs)
    within = p["half_a"] == p["half_b"]  # both persons in the same half: scored by the other half's fit
    fold1, fold2 = within & p["half_a"], within & ~p["half_a"]
    rows = []
    for method in ("raw", "qz_template", "qz_measures", "qweight"):
        z = np.full(len(p["s"]), np.nan)
        z[fold2] = fit_predict(p, fold1, fold2, method)
        z[fold1] = fit_predict(p, fold2, fold1, method)
        res = {"method": method, "images": len(imgs), "failed": len(failed)}
        for name, sel in (("orl", within & p["orl"]), ("with_composite", within & ~p["orl"]), ("pooled", within)):
            res[name] = figures(z[sel], p["genuine"][sel])
        print(json.dumps(res))
        rows.append(res)
    print(f"\n{'method':<14}" + "".join(f"{s + ' ' + k:>22}" for s in ("orl", "composite", "pooled")
                                      for k in ("EER", "d'")) + f"{'pooled FNMR@1e-4':>18}")
    for r in rows:
        cells = "".join(f"{100 * r[s]['eer']:>21.4f}%{r[s]['d_prime']:>22.3f}"
                        for s in ("orl", "with_composite", "pooled"))
        print(f"{r['method']:<14}{cells}{100 * r['pooled']['fnmr_at_fmr_1e-4']:>17.3f}%")


if __name__ == "__main__":
    main()
