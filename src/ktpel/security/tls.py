"""TLS for `ktpel office serve` / `central serve`, and mutual TLS between office and central.

Server: `uvicorn.run(app, **uvicorn_ssl_kwargs(cert=..., key=..., client_ca=...))`. With `client_ca`
the server demands a client certificate signed by that CA (office↔central mutual TLS).
Client: `httpx.Client(verify=client_ssl_context(ca=..., cert=..., key=...))`.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from ktpel.domain.errors import KtpelError


class TlsConfigError(KtpelError):
    code = "tls_config"


def _need(path: Path | str, what: str) -> str:
    p = Path(path)
    if not p.is_file():
        raise TlsConfigError(f"Berkas {what} TLS tidak ditemukan: {p}", f"TLS {what} file not found: {p}")
    return str(p)


def uvicorn_ssl_kwargs(*, cert: Path | str, key: Path | str, client_ca: Path | str | None = None) -> dict:
    """Keyword arguments for uvicorn.run/Config: serve over TLS, optionally requiring client certificates."""
    kwargs = {
        "ssl_certfile": _need(cert, "sertifikat (cert)"),
        "ssl_keyfile": _need(key, "kunci (key)"),
    }
    if client_ca is not None:
        kwargs["ssl_ca_certs"] = _need(client_ca, "CA klien")
        kwargs["ssl_cert_reqs"] = ssl.CERT_REQUIRED
    return kwargs


def server_ssl_context(*, cert: Path | str, key: Path | str, client_ca: Path | str | None = None) -> ssl.SSLContext:
    """The same policy as an SSLContext (for servers other than uvicorn, and for tests)."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(_need(cert, "sertifikat (cert)"), _need(key, "kunci (key)"))
    if client_ca is not None:
        ctx.load_verify_locations(_need(client_ca, "CA klien"))
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def client_ssl_context(*, ca: Path | str, cert: Path | str | None = None, key: Path | str | None = None) -> ssl.SSLContext:
    """An httpx `verify=` context trusting only `ca`, presenting a client certificate when given."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=_need(ca, "CA"))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert is not None:
        ctx.load_cert_chain(_need(cert, "sertifikat klien"), _need(key, "kunci klien") if key else None)
    elif key is not None:
        raise TlsConfigError("Kunci klien tanpa sertifikat klien.", "A client key was given without a client certificate.")
    return ctx


def server_kwargs(settings) -> dict:  # noqa: ANN001
    """uvicorn arguments from Settings: TLS (KTPEL_TLS_CERT/KEY/CLIENT_CA) when set, and never uvicorn's own
    proxy-header handling (it trusts X-Forwarded-For from loopback by default, which let any local client
    choose its address); ktpel reads forwarded headers only from KTPEL_TRUSTED_PROXIES itself."""
    base = {"proxy_headers": False}
    if settings.tls_cert is None and settings.tls_key is None:
        return base
    if settings.tls_cert is None or settings.tls_key is None:
        raise TlsConfigError("Sertifikat dan kunci TLS harus diisi keduanya.",
                             "Both KTPEL_TLS_CERT and KTPEL_TLS_KEY are needed for TLS.")
    return {**base, **uvicorn_ssl_kwargs(cert=settings.tls_cert, key=settings.tls_key,
                                         client_ca=settings.tls_client_ca)}


def client_verify(settings):  # noqa: ANN001, ANN201
    """httpx `verify=` for calls to central: a pinned CA (and client certificate for mutual TLS) when set."""
    if settings.central_ca is None:
        return True
    return client_ssl_context(ca=settings.central_ca, cert=settings.client_cert, key=settings.client_key)
