"""`ktpel users …`, `ktpel audit …` and `ktpel security …`: accounts, tokens, the audit chain, field keys."""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from ktpel.config import get_settings
from ktpel.domain.errors import KtpelError

users_app = typer.Typer(help="User accounts and API tokens (pengguna).", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit trail.", no_args_is_help=True)
security_app = typer.Typer(help="Encryption keys at rest.", no_args_is_help=True)
console = Console(stderr=True)

SIDE = typer.Option("office", "--side", help="Which database: office or central.")
ACTOR = "cli:" + (getpass.getuser() if hasattr(getpass, "getuser") else "admin")


def _db(side: str):  # noqa: ANN202
    from ktpel.store.db import open_database

    if side not in ("office", "central"):
        console.print("[red]✗[/red] --side harus office atau central — must be office or central.")
        raise typer.Exit(2)
    return open_database(get_settings(), name=side)


def _fail(exc: KtpelError) -> None:
    console.print(f"[red]✗[/red] {exc.message_id}\n  [dim]{exc.message_en}[/dim]")
    raise typer.Exit(2)


def _read_password(from_stdin: bool) -> Optional[str]:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n") or None
    return None


@users_app.command("add")
def users_add(
    username: str,
    role: str = typer.Option(..., help="operator, supervisor, head, adjudicator, center_admin or auditor."),
    regency: Optional[str] = typer.Option(None, help="Regency code of an office user, e.g. 18.01."),
    full_name: str = typer.Option("", "--name", help="Full name."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from stdin."),
    side: str = SIDE,
) -> None:
    """Create a user; a generated password is printed once (stdout)."""
    from ktpel.security import service
    from ktpel.security.access import Role

    try:
        role_v = Role(role)
    except ValueError:
        console.print(f"[red]✗[/red] Peran tidak dikenal — unknown role: {role}")
        raise typer.Exit(2)
    db = _db(side)
    try:
        with db.unit_of_work() as s:
            row, password = service.add_user(s, username=username, role=role_v, regency_code=regency,
                                             password=_read_password(password_stdin), full_name=full_name, actor=ACTOR)
    except KtpelError as exc:
        _fail(exc)
    console.print(f"[green]✓[/green] {row.username} ({role_v.value}{', ' + regency if regency else ''})")
    if not password_stdin:
        print(password)


@users_app.command("disable")
def users_disable(username: str, side: str = SIDE) -> None:
    """Disable a user: sessions end and tokens are revoked at once."""
    from ktpel.security import service

    db = _db(side)
    try:
        with db.unit_of_work() as s:
            service.disable_user(s, username=username, actor=ACTOR)
    except KtpelError as exc:
        _fail(exc)
    console.print(f"[green]✓[/green] {username} dinonaktifkan — disabled")


@users_app.command("reset-password")
def users_reset_password(
    username: str,
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the new password from stdin."),
    side: str = SIDE,
) -> None:
    """Set a new password (printed once when generated) and end the user's sessions; lifts a lockout."""
    from ktpel.security import service

    db = _db(side)
    try:
        with db.unit_of_work() as s:
            password = service.reset_password(s, username=username, password=_read_password(password_stdin),
                                              actor=ACTOR)
    except KtpelError as exc:
        _fail(exc)
    console.print(f"[green]✓[/green] kata sandi baru untuk {username} — new password set")
    if not password_stdin:
        print(password)


@users_app.command("token")
def users_token(
    username: str,
    days: int = typer.Option(90, min=1, max=3650, help="Days until the token expires."),
    label: str = typer.Option("", help="What the token is for."),
    revoke: Optional[int] = typer.Option(None, help="Revoke the token with this id instead of issuing one."),
    list_: bool = typer.Option(False, "--list", help="List the user's tokens."),
    side: str = SIDE,
) -> None:
    """Issue an API bearer token (printed once), list tokens, or revoke one."""
    from ktpel.security import service

    db = _db(side)
    try:
        with db.unit_of_work() as s:
            if list_:
                for t in service.list_tokens(s, username=username):
                    state = "revoked" if t.revoked_at else ("expired" if t.expires_at <= service.utcnow() else "active")
                    print(json.dumps({"id": t.id, "prefix": t.prefix, "label": t.label, "state": state,
                                      "expires_at": t.expires_at.isoformat()}))
                return
            if revoke is not None:
                service.revoke_token(s, token_id=revoke, actor=ACTOR)
                console.print(f"[green]✓[/green] token {revoke} dicabut — revoked")
                return
            token, secret = service.issue_token(s, username=username, days=days, label=label, actor=ACTOR)
    except KtpelError as exc:
        _fail(exc)
    console.print(f"[green]✓[/green] token {token.id} untuk {username}, berlaku sampai {token.expires_at:%Y-%m-%d}")
    print(secret)


@audit_app.command("verify")
def audit_verify(side: str = SIDE, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Walk the whole chain and compare it with this side's signed checkpoints (data_dir/audit/); exit 1
    and name the entries where it was edited, rewritten, cut or reordered. (Against the copy central
    holds: `ktpel office verify-audit`.)"""
    from ktpel.security.checkpoints import verify_anchored

    from ktpel.security.audit import seal

    db = _db(side)
    seal(db)  # entries left pending (a process killed between commit and seal) are chained first
    with db.unit_of_work() as s:
        report = verify_anchored(s, settings=get_settings(), side=side)
    show_report(report, as_json=as_json)


def show_report(report, *, as_json: bool) -> None:  # noqa: ANN001 - a ktpel.security.audit.ChainReport
    """Print a chain report (JSON on stdout, or lines on stderr); exit 1 when the chain does not hold."""
    if as_json:
        print(json.dumps({"ok": report.ok, "entries": report.entries,
                          "problems": [p.__dict__ for p in report.problems]}, ensure_ascii=False))
    elif report.ok:
        console.print(f"[green]✓[/green] rantai audit utuh — chain intact: {report.entries} entries")
    else:
        for p in report.problems:
            console.print(f"[red]✗[/red] #{p.seq} {p.message_id}\n  [dim]{p.message_en}[/dim]")
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("checkpoint")
def audit_checkpoint(side: str = SIDE) -> None:
    """Sign the current audit head with this side's key and append it to data_dir/audit/ (run from cron;
    the office agent and central's intake also do it on every sync)."""
    from ktpel.security.checkpoints import checkpoint_path, write_checkpoint

    doc = write_checkpoint(get_settings(), _db(side), side=side)
    if doc is None:
        console.print("[yellow]![/yellow] belum ada entri audit atau kunci — no audit entries or no keys yet")
        raise typer.Exit(1)
    console.print(f"[green]✓[/green] titik periksa #{doc['seq']} {doc['hash'][:16]}… → "
                  f"{checkpoint_path(get_settings(), side=side)}")


@audit_app.command("export")
def audit_export(
    out: Optional[Path] = typer.Option(None, "--out", help="File to write (stdout when absent)."),
    fmt: str = typer.Option("csv", "--format", help="csv or jsonl."),
    actor: Optional[str] = typer.Option(None), action: Optional[str] = typer.Option(None),
    side: str = SIDE,
) -> None:
    """Export the audit trail in chain order (CSV or JSON lines)."""
    from ktpel.security import audit

    if fmt not in ("csv", "jsonl"):
        console.print("[red]✗[/red] --format csv atau jsonl")
        raise typer.Exit(2)
    db = _db(side)
    query = audit.AuditQuery(actor=actor, action=action)
    with db.unit_of_work() as s:
        audit.record_audit(s, actor=ACTOR, action="audit.export", subject="audit_log",
                           after={"actor": actor, "action": action, "format": fmt})
    with db.unit_of_work() as s:
        chunks = audit.export_csv(s, query=query) if fmt == "csv" else audit.export_jsonl(s, query=query)
        if out is None:
            for chunk in chunks:
                sys.stdout.write(chunk)
        else:
            with out.open("w", encoding="utf-8", newline="") as f:
                for chunk in chunks:
                    f.write(chunk)
            console.print(f"[green]✓[/green] {out}")


@security_app.command("rotate-field-key")
def rotate_field_key(
    side: list[str] = typer.Option(["office"], "--side", help="Databases to re-encrypt (repeat for both)."),
    batch: int = typer.Option(500, min=1, max=100_000, help="Rows per transaction."),
    resume: bool = typer.Option(False, help="Do not add a key; finish re-encrypting under the active key."),
    retire: bool = typer.Option(False, help="Then drop old keys no value uses (name EVERY database sharing the key file)."),
) -> None:
    """Add a new active field key, re-encrypt every encrypted column in small batches, retire old keys.

    Servers keep running: they re-read the keyring file and accept old and new keys meanwhile.
    """
    from ktpel.security import rotation

    settings = get_settings()
    dbs = {name: _db(name) for name in side}
    keyfile = settings.data_dir / "keys" / "field.keys"
    if not resume:
        new_id = rotation.add_active_key(keyfile)
        console.print(f"[green]✓[/green] kunci baru aktif — new active key {new_id}")
    from ktpel.cli_console import progress_bar

    total = 0
    for name, db in dbs.items():
        with progress_bar() as bar:
            task = bar.add_task(f"Re-encrypting {name}", total=rotation.count_stale(db))
            total += rotation.reencrypt_all(db, batch=batch, progress=lambda n: bar.advance(task, n))
    console.print(f"[green]✓[/green] {total} nilai dienkripsi ulang — values re-encrypted")
    if retire:
        dropped = rotation.retire_unused_keys(keyfile, dbs=list(dbs.values()))
        if dropped:
            console.print(f"[green]✓[/green] kunci lama dipensiunkan — retired: {', '.join(dropped)}")
