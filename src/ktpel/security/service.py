"""Users, sign-in with lockout, server-side web sessions and API bearer tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ktpel.config import Settings
from ktpel.domain.errors import KtpelError, NotFound
from ktpel.domain.events import utcnow
from ktpel.security.access import CENTRAL_ROLES, OFFICE_ROLES, Role, User
from ktpel.security.audit import record_audit
from ktpel.store.schema.security import ApiTokenRow, LoginAttemptRow, UserRow, WebSessionRow

# argon2id at the OWASP minimum (19 MiB, t=2, p=1): the counter PCs are small, logins are rare
HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
# verified against when the username is unknown, so timing does not tell which usernames exist
_DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(16))

TOKEN_PREFIX = "ktp_"
MIN_PASSWORD = 10


class AuthError(KtpelError):
    """A refused sign-in or credential; the message never says which part was wrong."""

    http_status = 401
    code = "auth_failed"


class LockedOut(AuthError):
    http_status = 429
    code = "login_locked"


class WrongSide(AuthError):
    http_status = 403
    code = "wrong_office"


class UserExists(KtpelError):
    http_status = 409
    code = "user_exists"


class WeakPassword(KtpelError):
    code = "password_weak"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def new_password() -> str:
    """A random password that survives being read aloud and typed (no look-alike characters)."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(3))


def _check_password_strength(password: str, *, username: str) -> None:
    if len(password) < MIN_PASSWORD or password.lower() == username.lower():
        raise WeakPassword(
            f"Kata sandi minimal {MIN_PASSWORD} karakter dan tidak sama dengan nama pengguna.",
            f"The password needs at least {MIN_PASSWORD} characters and must differ from the username.",
        )


def _validate_role(*, role: Role, regency_code: str | None) -> None:
    if role in OFFICE_ROLES and not regency_code:
        raise KtpelError("Pengguna kantor harus punya kode kabupaten/kota.",
                         "An office user needs a regency code.", code="regency_required")
    if role in CENTRAL_ROLES and regency_code:
        raise KtpelError("Pengguna pusat tidak terikat pada kabupaten/kota.",
                         "A central user has no regency code.", code="regency_not_allowed")


def as_user(row: UserRow) -> User:
    return User(id=row.id, username=row.username, role=Role(row.role), regency_code=row.regency_code,
                full_name=row.full_name)


def add_user(session: Session, *, username: str, role: Role, regency_code: str | None = None,
             password: str | None = None, full_name: str = "", actor: str = "system",
             source_ip: str | None = None) -> tuple[UserRow, str]:
    """Create a user; returns the row and the password (generated when none is given)."""
    username = username.strip().lower()
    if not username or len(username) > 64 or not all(c.isalnum() or c in "._-" for c in username):
        raise KtpelError("Nama pengguna hanya huruf, angka, titik, garis bawah atau tanda hubung.",
                         "A username holds only letters, digits, dot, underscore or hyphen.", code="username_invalid")
    role = Role(role)
    _validate_role(role=role, regency_code=regency_code)
    if session.scalar(select(UserRow.id).where(UserRow.username == username)) is not None:
        raise UserExists(f"Pengguna {username} sudah ada.", f"User {username} already exists.")
    password = password or new_password()
    _check_password_strength(password, username=username)
    row = UserRow(username=username, role=role.value, regency_code=regency_code or None,
                  password_hash=HASHER.hash(password), full_name=full_name, disabled=False)
    session.add(row)
    session.flush()
    record_audit(session, actor=actor, action="user.add", subject=f"user:{username}", before=None,
                 after={"role": role.value, "regency_code": regency_code, "disabled": False}, source_ip=source_ip)
    return row, password


def get_user(session: Session, *, username: str) -> UserRow:
    row = session.scalar(select(UserRow).where(UserRow.username == username.strip().lower()))
    if row is None:
        raise NotFound(f"Pengguna {username} tidak ditemukan.", f"User {username} not found.")
    return row


def disable_user(session: Session, *, username: str, actor: str = "system", source_ip: str | None = None) -> None:
    """Disable a user and end their sessions and tokens at once."""
    row = get_user(session, username=username)
    now = utcnow()
    row.disabled = True
    session.execute(update(WebSessionRow).where(WebSessionRow.user_id == row.id, WebSessionRow.ended_at.is_(None))
                    .values(ended_at=now))
    session.execute(update(ApiTokenRow).where(ApiTokenRow.user_id == row.id, ApiTokenRow.revoked_at.is_(None))
                    .values(revoked_at=now))
    record_audit(session, actor=actor, action="user.disable", subject=f"user:{row.username}",
                 before={"disabled": False}, after={"disabled": True}, source_ip=source_ip)


def reset_password(session: Session, *, username: str, password: str | None = None, actor: str = "system",
                   source_ip: str | None = None) -> str:
    """Set a new password (generated when none is given), end the user's sessions; returns it."""
    row = get_user(session, username=username)
    password = password or new_password()
    _check_password_strength(password, username=row.username)
    row.password_hash = HASHER.hash(password)
    row.password_changed_at = utcnow()
    session.execute(update(WebSessionRow).where(WebSessionRow.user_id == row.id, WebSessionRow.ended_at.is_(None))
                    .values(ended_at=utcnow()))
    # a reset also lifts a lockout: the failures before it no longer count
    session.add(LoginAttemptRow(username=row.username, source_ip=None, succeeded=True, at=utcnow()))
    record_audit(session, actor=actor, action="user.reset_password", subject=f"user:{row.username}",
                 before=None, after={"password_changed": True}, source_ip=source_ip)
    return password


def may_sign_in_here(user: User, *, side: str, settings: Settings) -> bool:
    """Office users only on their own regency's office; central roles only on the central side."""
    if side == "office":
        if user.role in OFFICE_ROLES or user.role is Role.AUDITOR:
            return user.regency_code is not None and user.regency_code == settings.office_regency
        return False
    if user.role in CENTRAL_ROLES or user.role is Role.AUDITOR:
        return user.regency_code is None
    return False


def _failures_since(session: Session, *, column, value: str, since: dt.datetime) -> int:  # noqa: ANN001
    last_ok = session.scalar(select(func.max(LoginAttemptRow.at)).where(column == value, LoginAttemptRow.succeeded))
    start = max(since, last_ok) if last_ok else since
    return session.scalar(select(func.count()).select_from(LoginAttemptRow).where(
        column == value, LoginAttemptRow.succeeded.is_(False), LoginAttemptRow.at > start)) or 0


def authenticate(session: Session, *, username: str, password: str, side: str, settings: Settings,
                 source_ip: str | None = None) -> User:
    """Check a username and password with lockout; every outcome is recorded and audited."""
    username = (username or "").strip().lower()[:64]
    now = utcnow()
    window = now - dt.timedelta(minutes=settings.login_lockout_minutes)
    locked = _failures_since(session, column=LoginAttemptRow.username, value=username,
                             since=window) >= settings.login_max_failures
    # one address guessing across many usernames is throttled too
    if source_ip and not locked:
        locked = _failures_since(session, column=LoginAttemptRow.source_ip, value=source_ip,
                                 since=window) >= 4 * settings.login_max_failures
    if locked:
        session.add(LoginAttemptRow(username=username, source_ip=source_ip, succeeded=False, at=now))
        record_audit(session, actor=username or "-", action="login.locked", subject=f"user:{username}",
                     source_ip=source_ip)
        raise LockedOut(
            f"Terlalu banyak percobaan masuk yang gagal. Coba lagi setelah {settings.login_lockout_minutes} menit.",
            f"Too many failed sign-in attempts. Try again in {settings.login_lockout_minutes} minutes.",
        )
    row = session.scalar(select(UserRow).where(UserRow.username == username)) if username else None
    ok = False
    try:
        ok = HASHER.verify(row.password_hash if row else _DUMMY_HASH, password or "") and row is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    reason = None
    if ok and row.disabled:
        ok, reason = False, "disabled"
    user = as_user(row) if ok else None
    if user is not None and not may_sign_in_here(user, side=side, settings=settings):
        session.add(LoginAttemptRow(username=username, source_ip=source_ip, succeeded=False, at=now))
        record_audit(session, actor=username, action="login.wrong_office", subject=f"user:{username}",
                     after={"side": side, "office_regency": settings.office_regency if side == "office" else None},
                     source_ip=source_ip)
        raise WrongSide("Akun Anda tidak berlaku di kantor ini.", "Your account is not valid at this office.")
    session.add(LoginAttemptRow(username=username, source_ip=source_ip, succeeded=ok, at=now))
    if not ok:
        record_audit(session, actor=username or "-", action="login.failed", subject=f"user:{username}",
                     after={"reason": reason or "bad_credentials"}, source_ip=source_ip)
        raise AuthError("Nama pengguna atau kata sandi salah.", "Wrong username or password.")
    if HASHER.check_needs_rehash(row.password_hash):
        row.password_hash = HASHER.hash(password)
    record_audit(session, actor=username, action="login.ok", subject=f"user:{username}", source_ip=source_ip)
    return user


# --- web sessions ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class SessionInfo:
    user: User
    csrf_token: str
    id_hash: str


def start_session(session: Session, *, user: User, source_ip: str | None = None) -> tuple[str, str]:
    """A fresh session for a signed-in user; returns (cookie value, CSRF token). Never reuses an id."""
    raw = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(WebSessionRow(id_hash=_sha256(raw), user_id=user.id, csrf_token=csrf, created_at=now,
                              last_seen_at=now, source_ip=(source_ip or None) and source_ip[:64]))
    return raw, csrf


def resolve_session(session: Session, *, raw: str, settings: Settings, side: str) -> SessionInfo | None:
    """The live session behind a cookie value, or None (unknown, ended, idle too long, user disabled)."""
    if not raw or len(raw) > 200:
        return None
    found = session.execute(
        select(WebSessionRow, UserRow).join(UserRow, UserRow.id == WebSessionRow.user_id)
        .where(WebSessionRow.id_hash == _sha256(raw))
    ).first()
    if found is None:
        return None
    ws, row = found
    now = utcnow()
    idle = dt.timedelta(minutes=settings.session_idle_minutes)
    too_old = now - ws.created_at > dt.timedelta(hours=settings.session_max_hours)
    if ws.ended_at is not None or row.disabled or now - ws.last_seen_at > idle or too_old:
        if ws.ended_at is None:
            ws.ended_at = now
        return None
    user = as_user(row)
    if not may_sign_in_here(user, side=side, settings=settings):
        return None
    # write the last-seen time at most once a minute: reads should not all become writes
    if now - ws.last_seen_at > dt.timedelta(seconds=60):
        ws.last_seen_at = now
    return SessionInfo(user=user, csrf_token=ws.csrf_token, id_hash=ws.id_hash)


def end_session(session: Session, *, raw: str) -> User | None:
    """Sign out: the session row is ended so the cookie is worthless even if copied."""
    ws = session.get(WebSessionRow, _sha256(raw or ""))
    if ws is None or ws.ended_at is not None:
        return None
    ws.ended_at = utcnow()
    row = session.get(UserRow, ws.user_id)
    return as_user(row) if row else None


# --- API tokens -----------------------------------------------------------------------------------

def issue_token(session: Session, *, username: str, days: int = 90, label: str = "", actor: str = "system",
                source_ip: str | None = None) -> tuple[ApiTokenRow, str]:
    """A new bearer token for a user; the secret is returned once and only its hash is kept."""
    row = get_user(session, username=username)
    if row.disabled:
        raise KtpelError("Pengguna dinonaktifkan.", "The user is disabled.", code="user_disabled")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiTokenRow(user_id=row.id, token_hash=_sha256(secret), prefix=secret[:12], label=label[:120],
                        expires_at=utcnow() + dt.timedelta(days=days))
    session.add(token)
    session.flush()
    record_audit(session, actor=actor, action="token.issue", subject=f"user:{row.username}",
                 after={"token_id": token.id, "prefix": token.prefix, "expires_at": token.expires_at.isoformat()},
                 source_ip=source_ip)
    return token, secret


def revoke_token(session: Session, *, token_id: int, actor: str = "system", source_ip: str | None = None) -> None:
    token = session.get(ApiTokenRow, token_id)
    if token is None:
        raise NotFound(f"Token {token_id} tidak ditemukan.", f"Token {token_id} not found.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record_audit(session, actor=actor, action="token.revoke", subject=f"token:{token_id}",
                     before={"revoked": False}, after={"revoked": True}, source_ip=source_ip)


def list_tokens(session: Session, *, username: str) -> list[ApiTokenRow]:
    row = get_user(session, username=username)
    return list(session.scalars(select(ApiTokenRow).where(ApiTokenRow.user_id == row.id).order_by(ApiTokenRow.id)))


def resolve_token(session: Session, *, secret: str, settings: Settings, side: str) -> tuple[User | None, str]:
    """The user behind a bearer token, or (None, why): unknown, expired, revoked, disabled, wrong office."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None, "malformed"
    digest = _sha256(secret)
    found = session.execute(select(ApiTokenRow, UserRow).join(UserRow, UserRow.id == ApiTokenRow.user_id)
                            .where(ApiTokenRow.token_hash == digest)).first()
    if found is None:
        return None, "unknown"
    token, row = found
    # constant-time compare of what we looked up, for form's sake against index timing
    if not hmac.compare_digest(token.token_hash, digest):
        return None, "unknown"
    now = utcnow()
    if token.revoked_at is not None:
        return None, "revoked"
    if token.expires_at <= now:
        return None, "expired"
    if row.disabled:
        return None, "disabled"
    user = as_user(row)
    if not may_sign_in_here(user, side=side, settings=settings):
        return None, "wrong_office"
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(seconds=60):
        token.last_used_at = now
    return user, "ok"
