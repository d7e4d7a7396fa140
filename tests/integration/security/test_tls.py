"""TLS and mutual TLS with a throw-away CA made by `cryptography`: real uvicorn, real httpx."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ktpel.security.access import Role
from ktpel.security.tls import TlsConfigError, client_ssl_context, uvicorn_ssl_kwargs
from ktpel.web.app import create_app
from tests.auth_fixtures import make_user


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(path: Path, key, cert) -> tuple[Path, Path]:  # noqa: ANN001
    kpath, cpath = path.with_suffix(".key"), path.with_suffix(".crt")
    kpath.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
    cpath.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cpath, kpath


def _issue(ca_key, ca_name, cn: str, *, server: bool):  # noqa: ANN001, ANN202
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)  # OpenSSL checks certificates on the machine's clock, not ktpel's
    builder = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(ca_name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=1)).not_valid_after(now + dt.timedelta(days=1))
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server
                                                     else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False))
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


def _ca(tmp: Path, cn: str):  # noqa: ANN202
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=1)).not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    crt, _ = _write(tmp / cn, key, cert)
    return key, cert.subject, crt


@pytest.fixture
def pki(tmp_path):
    ca_key, ca_name, ca_crt = _ca(tmp_path, "ktpel-test-ca")
    server = _write(tmp_path / "server", *_issue(ca_key, ca_name, "central", server=True))
    client = _write(tmp_path / "office", *_issue(ca_key, ca_name, "office-18.01", server=False))
    rogue_key, rogue_name, rogue_ca = _ca(tmp_path, "rogue-ca")
    rogue = _write(tmp_path / "rogue", *_issue(rogue_key, rogue_name, "office-x", server=False))
    return {"ca": ca_crt, "server": server, "client": client, "rogue": rogue, "rogue_ca": rogue_ca}


def _serve(app, **ssl_kwargs):  # noqa: ANN001, ANN202
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **ssl_kwargs))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "TLS server did not start"
        time.sleep(0.05)
    return server, thread, f"https://127.0.0.1:{port}"


def test_mutual_tls_admits_only_clients_with_a_certificate_from_our_ca(settings, db, pki):
    app = create_app(settings=settings, side="central", db=db)
    cert, key = pki["server"]
    server, thread, url = _serve(app, **uvicorn_ssl_kwargs(cert=cert, key=key, client_ca=pki["ca"]))
    try:
        ok_ctx = client_ssl_context(ca=pki["ca"], cert=pki["client"][0], key=pki["client"][1])
        with httpx.Client(verify=ok_ctx, timeout=10) as c:
            resp = c.get(url + "/api/v1/health")
            assert resp.status_code == 200 and resp.json()["side"] == "central"
            assert resp.headers["strict-transport-security"].startswith("max-age=")
        for ctx in (client_ssl_context(ca=pki["ca"]),  # no client certificate
                    client_ssl_context(ca=pki["ca"], cert=pki["rogue"][0], key=pki["rogue"][1])):
            with pytest.raises((httpx.HTTPError, OSError)):
                with httpx.Client(verify=ctx, timeout=10) as c:
                    c.get(url + "/api/v1/health")
        # a client that does not trust our CA refuses the server
        with pytest.raises(httpx.ConnectError):
            with httpx.Client(verify=client_ssl_context(ca=pki["rogue_ca"]), timeout=10) as c:
                c.get(url + "/api/v1/health")
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_session_cookie_is_secure_over_tls(settings, db, pki):
    app = create_app(settings=settings, side="office", db=db)
    user, pw = make_user(db, role=Role.OPERATOR)
    cert, key = pki["server"]
    server, thread, url = _serve(app, **uvicorn_ssl_kwargs(cert=cert, key=key))
    try:
        with httpx.Client(verify=client_ssl_context(ca=pki["ca"]), timeout=10, base_url=url) as c:
            page = c.get("/masuk")
            assert "Secure" in page.headers["set-cookie"]
            token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
            resp = c.post("/masuk", data={"username": user, "password": pw, "csrf_token": token})
            assert resp.status_code == 303
            session_cookie = [h for h in resp.headers.get_list("set-cookie") if "ktpel_office_session=" in h][0]
            assert "Secure" in session_cookie and "HttpOnly" in session_cookie
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_missing_certificate_files_are_a_clear_error(tmp_path, pki):
    with pytest.raises(TlsConfigError) as err:
        uvicorn_ssl_kwargs(cert=tmp_path / "nope.crt", key=pki["server"][1])
    assert "tidak ditemukan" in err.value.message_id
    kwargs = uvicorn_ssl_kwargs(cert=pki["server"][0], key=pki["server"][1], client_ca=pki["ca"])
    assert kwargs["ssl_ca_certs"] == str(pki["ca"]) and kwargs["ssl_cert_reqs"] == 2
    with pytest.raises(TlsConfigError):
        client_ssl_context(ca=pki["ca"], key=pki["client"][1])


def test_settings_drive_mutual_tls_between_office_client_and_central(settings, db, pki):
    from ktpel.security.tls import client_verify, server_kwargs

    cert, key = pki["server"]
    central = settings.model_copy(update={"tls_cert": cert, "tls_key": key, "tls_client_ca": pki["ca"]})
    office = settings.model_copy(update={"central_ca": pki["ca"], "client_cert": pki["client"][0],
                                         "client_key": pki["client"][1]})
    assert server_kwargs(settings) == {} and client_verify(settings) is True
    with pytest.raises(TlsConfigError):
        server_kwargs(settings.model_copy(update={"tls_cert": cert}))
    server, thread, url = _serve(create_app(settings=central, side="central", db=db), **server_kwargs(central))
    try:
        with httpx.Client(verify=client_verify(office), timeout=10) as c:
            assert c.get(url + "/api/v1/health").json()["side"] == "central"
        lacking = office.model_copy(update={"client_cert": None, "client_key": None})
        with pytest.raises((httpx.HTTPError, OSError)):
            with httpx.Client(verify=client_verify(lacking), timeout=10) as c:
                c.get(url + "/api/v1/health")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
