"""`ktpel bio` commands: eval, compare, quality. JSON goes to stdout, progress to stderr."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

# the engine (OpenCV, SciPy, FAISS, the face model) is imported by the commands that use it, not here:
# every `ktpel` invocation imports this module to list its commands
if TYPE_CHECKING:
    from ktpel.biometrics.errors import BiometricError


def get_engine():  # noqa: ANN201
    from ktpel.biometrics.engine import get_engine as engine

    return engine()


app = typer.Typer(help="Biometrics: evaluation, 1:1 comparison and quality checks.", no_args_is_help=True)
eval_app = typer.Typer(help="Measure accuracy and speed on a folder of images.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
_err = Console(stderr=True)


def _progress_runner(fn: Callable, directory: Path, **kw) -> dict:
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=_err, transient=True) as prog:

        def make(label: str, total: int) -> Callable[[], None]:
            step = 100 if label == "compare" else 1
            task = prog.add_task(label, total=max(1, -(-total // step)))
            return lambda: prog.advance(task)

        return fn(directory, engine=get_engine(), progress=make, **kw).summary()


def _one_core() -> None:
    """Timings are per image on one core: OpenCV's own thread pool would spread one image over several."""
    import cv2

    cv2.setNumThreads(1)


def _print_eval(summary: dict, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(summary) + "\n")
        return
    n, f = summary["images"], summary["failed_to_extract"]
    typer.echo(f"FTE (failure to extract): {f}/{n} = {100 * summary['fte']:.2f} %")
    typer.echo(f"TAR @ FMR 0.1 %, FTE counted as failures: {100 * summary['tar_at_fmr_1e-3']:.2f} %")
    typer.echo(f"TAR @ FMR 0.1 %, without FTE:             {100 * summary['tar_at_fmr_1e-3_without_fte']:.2f} %")
    if summary.get("protocol") == "pairs":
        typer.echo(f"Accuracy ({summary['folds']} folds), FTE counted: {100 * summary['accuracy_mean']:.2f} % "
                   f"± {100 * summary['accuracy_std']:.2f}; without FTE: "
                   f"{100 * summary['accuracy_mean_without_fte']:.2f} %")
    typer.echo(f"ms per image (one core): {summary['ms_per_extract']:.1f} wall, {summary['cpu_ms_per_extract']:.1f} CPU")
    typer.echo("")
    for k, v in summary.items():
        typer.echo(f"{k:>28}: {v}")


@eval_app.command("fingerprint")
def eval_fingerprint_cmd(directory: Path = typer.Argument(..., exists=True, file_okay=False),
                         as_json: bool = typer.Option(False, "--json")) -> None:
    """Files `<finger>_<impression>.<tif|png|bmp|jpg>`: same finger = genuine pair."""
    from ktpel.biometrics.evaluate import eval_fingerprint

    _one_core()
    _print_eval(_progress_runner(eval_fingerprint, directory), as_json)


@eval_app.command("face")
def eval_face_cmd(directory: Path = typer.Argument(..., exists=True, file_okay=False),
                  pairs: Path = typer.Option(None, "--pairs", exists=True, dir_okay=False,
                                             help="LFW pairs.txt: 10-fold protocol instead of all pairs"),
                  as_json: bool = typer.Option(False, "--json")) -> None:
    """Folder of `identity/image` files. All pairs (same folder = genuine), or LFW's pairs.txt protocol.

    Failures to extract (FTE) are printed apart and counted as non-matches; TAR is also given without them.
    """
    from ktpel.biometrics.evaluate import eval_face

    _one_core()
    try:
        summary = _progress_runner(eval_face, directory, pairs=pairs)
    except (ValueError, FileNotFoundError) as exc:
        _err.print(f"[red]pairs[/red]: {exc}")
        raise typer.Exit(code=2) from None
    _print_eval(summary, as_json)


def _kind(data: bytes, kind: str) -> str:
    if kind in ("face", "finger"):
        return kind
    eng = get_engine()
    return "finger" if eng.finger_quality(data).ok and not eng.face_quality(data).ok else "face"


@app.command("compare")
def compare_cmd(a: Path = typer.Argument(..., exists=True, dir_okay=False),
                b: Path = typer.Argument(..., exists=True, dir_okay=False),
                kind: str = typer.Option("auto", help="face, finger or auto"),
                as_json: bool = typer.Option(False, "--json")) -> None:
    """Compare two images (or two KTPB template files) and say whether they match at FMR 0.1 %."""
    from ktpel.biometrics.errors import BiometricError

    eng = get_engine()
    da, db = a.read_bytes(), b.read_bytes()
    try:
        if da[:4] == b"KTPB" and db[:4] == b"KTPB":
            ta, tb = da, db
        else:
            k = _kind(da, kind)
            ex = eng.extract_face if k == "face" else eng.extract_finger
            ta, tb = ex(da), ex(db)
        raw = eng.compare(ta, tb)
        matched, z = eng.verify(ta, tb)
    except BiometricError as err:
        _fail(err, as_json)
        return
    out = {"raw_score": raw, "normalised_score": z, "matched": matched}
    if as_json:
        sys.stdout.write(json.dumps(out) + "\n")
    else:
        typer.echo(f"score {raw:.4f} (z = {z:.2f}, -log10 FMR) → {'COCOK / MATCH' if matched else 'TIDAK COCOK / NO MATCH'}")


@app.command("quality")
def quality_cmd(image: Path = typer.Argument(..., exists=True, dir_okay=False),
                kind: str = typer.Option("auto", help="face, finger or auto"),
                as_json: bool = typer.Option(False, "--json")) -> None:
    """Quality score 0-100 with reasons, for a face photo or a fingerprint image."""
    eng = get_engine()
    data = image.read_bytes()
    k = _kind(data, kind)
    rep = eng.face_quality(data) if k == "face" else eng.finger_quality(data)
    if as_json:
        sys.stdout.write(json.dumps({"kind": k, **rep.to_dict()}) + "\n")
        return
    typer.echo(f"{k}: score {rep.score:.0f}/100 — {'OK' if rep.ok else 'DITOLAK / REJECTED'}")
    for r in rep.reasons:
        typer.echo(f"  - {r}")


def _fail(err: BiometricError, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps({"error": err.to_dict()}) + "\n")
    else:
        _err.print(f"[red]{err.code}[/red]: {err.message_id} / {err.message_en} {err.detail}")
    raise typer.Exit(code=2)
