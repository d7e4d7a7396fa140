"""All configuration in one place (environment prefix KTPEL_), with defaults that run the embedded demo."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def find_shared_data() -> Path | None:
    """Locate ../shared/data beside the repository (or the working directory)."""
    starts = [Path.cwd(), Path(__file__).resolve()]
    for start in starts:
        for parent in [start, *start.parents]:
            candidate = parent / "shared" / "data"
            if (candidate / "wilayah" / "wilayah.csv").is_file():
                return candidate
            candidate = parent.parent / "shared" / "data"
            if (candidate / "wilayah" / "wilayah.csv").is_file():
                return candidate
    return None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KTPEL_", extra="ignore")

    data_dir: Path = Field(default_factory=lambda: Path.cwd() / ".ktpel")
    database_url: str | None = None
    # one database for both sides keeps every table (the test suite, a one-machine trial); otherwise each
    # side's database holds only its own and the shared tables (ktpel.store.sides)
    shared_database: bool = False
    shared_data: Path | None = None
    # the regency this office serves, e.g. "18.01" (Kabupaten Lampung Selatan)
    office_regency: str = "18.01"
    office_name: str = "Disdukcapil Kabupaten Lampung Selatan"
    central_url: str = "http://127.0.0.1:8001"
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str | None = None
    # security baseline (ktpel.security): sessions, lockout, request size, API tokens
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    # TLS (docs/security.md): the server's certificate and key; a client CA makes it require mutual TLS
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: Path | None = None
    # the office as a client of central: the CA that signed central's certificate, and its own client cert
    central_ca: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    cookie_secure: bool | None = None  # None: Secure exactly when the request came over TLS
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    max_body_mb: int = 20
    api_token_days: int = 90
    page_size: int = 25
    # recording's image work (decode, quality, templates) runs in a process pool of this many processes per
    # web worker; 0 = the machine's cores (divided among `office serve --workers N`)
    biometric_workers: int = 0
    # web worker processes of `ktpel office serve` on PostgreSQL (0 = cores); SQLite always serves with one
    web_workers: int = 1
    # office ↔ central sync (ktpel.sync; docs/sync.md)
    sync_interval_s: float = 3.0  # agent poll period when idle
    sync_timeout_s: float = 10.0
    sync_backoff_base_s: float = 1.0
    sync_backoff_max_s: float = 120.0
    sync_catchup_rate: float = 50.0  # packets/s while draining a backlog after an outage; 0 = unthrottled
    sync_catchup_threshold: int = 20  # a queue this long at drain start also counts as catch-up
    central_max_inflight: int = 0  # concurrent intake requests before 503 + Retry-After; 0 = no limit
    central_rate_per_s: float = 0.0  # intake packets/s before 429 + Retry-After; 0 = no limit
    sync_replay_window_days: int = 60
    demo_mode: bool = False
    # notifications (ktpel.office.notify; docs/notifications.md): channel console|file|smtp|http_sms|whatsapp
    office_address: str = "Jl. Lintas Sumatera, Kalianda, Lampung Selatan"
    office_hours: str = "Senin–Jumat 08.00–15.00 WIB"
    notify_channel: str = "console"
    notify_quiet_hours: str = "21:00-07:00"  # local time (notify_timezone); nothing is sent inside it
    notify_timezone: str = "Asia/Jakarta"
    notify_max_attempts: int = 6
    notify_backoff_s: float = 30.0  # first retry delay; doubles each attempt, capped at 1 hour
    notify_timeout_s: float = 10.0
    notify_http_url: str = "http://127.0.0.1:9099/sms?to={to}"  # generic SMS gateway; {to} URL-encoded
    notify_http_auth_header: str = ""  # e.g. "Authorization: Bearer …"
    notify_whatsapp_url: str = "http://127.0.0.1:9099/v19.0/{phone_number_id}/messages"
    notify_whatsapp_phone_number_id: str = "0"
    notify_whatsapp_token: str = ""
    notify_smtp_host: str = "127.0.0.1"
    notify_smtp_port: int = 25
    notify_smtp_from: str = "noreply@ktpel.invalid"
    notify_smtp_to: str = "{phone}@sms-gateway.invalid"  # email-to-SMS gateway address
    status_limit_per_ip: int = 20  # public status lookups per IP per minute
    status_limit_per_nik: int = 5  # failed public status lookups per (NIK, client address) per hour
    status_nik_slowdown_after: int = 10  # failed lookups of one NIK (all addresses) per hour before slowing it
    status_nik_slowdown_s: int = 20  # then: one lookup of that NIK per this many seconds (never a lockout)
    status_global_failures_per_min: int = 300  # failed lookups per minute, all NIKs, before a short pause
    # reverse proxies whose X-Forwarded-For is believed (IPs or CIDRs, comma-separated); empty = none
    trusted_proxies: str = ""
    notify_webhook_secret: str = ""  # HMAC key of provider delivery reports; empty = webhook off
    # central's ABIS (ktpel.central.abis): inproc | ray://local | ray://auto | ray://HOST:PORT
    abis: str = "inproc"
    abis_shards: int = 2
    suket_valid_months: int = 6  # a Suket (temporary certificate) is valid this long, renewable
    ikd_code_minutes: int = 15  # an IKD activation code expires after this many minutes
    ikd_max_selfie_attempts: int = 3  # selfies refused before the activation must start over
    mobile_kit: bool = False  # this process is a mobile recording kit (jemput bola): it syncs to its home office
    kit_id: str = "kit-1"  # the kit's name, kept as the origin of every packet it records
    kit_home_url: str = "http://127.0.0.1:8000"  # the home office a kit syncs into
    kit_token: str = ""  # shared secret between a kit and its home office; empty: the home accepts no kit

    def resolved_database_url(self, *, name: str = "office") -> str:
        if self.database_url:
            return self.database_url
        from ktpel.files import private_file

        # the file exists (0600, in a 0700 directory) before SQLite opens it; its WAL inherits the mode
        path = private_file(self.data_dir / (name + ".db"))
        return f"sqlite:///{path}"

    def resolved_shared_data(self) -> Path:
        path = self.shared_data or find_shared_data()
        if path is None or not (path / "wilayah" / "wilayah.csv").is_file():
            raise FileNotFoundError(
                "Reference data not found: put the shared data folder beside the repository "
                "(../shared/data) or set KTPEL_SHARED_DATA."
            )
        return path


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
