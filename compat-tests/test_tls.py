"""TLS (tls-port) with stock clients: redis-py ``ssl=True`` and
``redis-cli --tls``, against Redis and Sluice.

A CA, a server and a client certificate are made once per session with
the ``openssl`` command-line tool (skipped if it is missing). Each test
starts its own server with a plain port (found by the harness) and a TLS
port picked here.
"""

import shutil
import socket
import subprocess

import pytest
import redis

HOST = "127.0.0.1"


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    """Paths of ca.crt, server.crt/.key and client.crt/.key."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command-line tool is needed to make certificates")
    d = tmp_path_factory.mktemp("tls")
    _openssl("req", "-x509", "-new", "-nodes", "-newkey", "ec",
             "-pkeyopt", "ec_paramgen_curve:prime256v1", "-keyout", "ca.key",
             "-out", "ca.crt", "-days", "2", "-subj", "/CN=compat-test-ca", cwd=d)
    (d / "leaf.ext").write_text(
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
        "basicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth,clientAuth\n"
    )
    for name in ("server", "client"):
        _openssl("req", "-new", "-nodes", "-newkey", "ec",
                 "-pkeyopt", "ec_paramgen_curve:prime256v1", "-keyout", f"{name}.key",
                 "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{name}.crt", "-days", "2",
                 "-extfile", "leaf.ext", cwd=d)
    return {name: str(d / name) for name in
            ("ca.crt", "server.crt", "server.key", "client.crt", "client.key")}


def _start_tls(kind, start_server, certs, auth_clients):
    tls_port = _free_port()
    # The harness starts Sluice with --port 0 (the OS picks); with a
    # tls-port that would mean TLS only, as in Redis, so give a plain port.
    plain = ("--port", str(_free_port())) if kind == "sluice" else ()
    srv = start_server(
        kind, *plain, "--tls-port", str(tls_port),
        "--tls-cert-file", certs["server.crt"], "--tls-key-file", certs["server.key"],
        "--tls-ca-cert-file", certs["ca.crt"], "--tls-auth-clients", auth_clients,
    )
    return srv, tls_port


def _tls_client(port, certs, with_cert):
    kw = {}
    if with_cert:
        kw = {"ssl_certfile": certs["client.crt"], "ssl_keyfile": certs["client.key"]}
    return redis.Redis(host=HOST, port=port, ssl=True, ssl_ca_certs=certs["ca.crt"],
                       ssl_cert_reqs="required", socket_timeout=10, **kw)


def test_redis_py_over_tls(kind, start_server, certs):
    srv, tls_port = _start_tls(kind, start_server, certs, "optional")
    with _tls_client(tls_port, certs, with_cert=False) as c:
        assert c.ping() is True
        assert c.set("k", "over tls") is True
    with _tls_client(tls_port, certs, with_cert=True) as c:
        assert c.get("k") == b"over tls"
    # The plain port serves alongside.
    with srv.client() as plain:
        assert plain.get("k") == b"over tls"
        assert plain.config_get("tls-auth-clients") == {"tls-auth-clients": "optional"}


def test_mutual_tls_requires_a_client_certificate(kind, start_server, certs):
    _, tls_port = _start_tls(kind, start_server, certs, "yes")
    with _tls_client(tls_port, certs, with_cert=True) as c:
        assert c.ping() is True
    with _tls_client(tls_port, certs, with_cert=False) as c:
        with pytest.raises(redis.ConnectionError):
            c.ping()


def test_redis_cli_tls(kind, start_server, certs):
    srv, tls_port = _start_tls(kind, start_server, certs, "yes")
    base = ["redis-cli", "-h", HOST, "-p", str(tls_port), "--tls", "--cacert", certs["ca.crt"]]
    out = subprocess.run([*base, "--cert", certs["client.crt"], "--key", certs["client.key"],
                          "PING"], capture_output=True, text=True, timeout=10)
    assert out.stdout.strip() == "PONG", out
    refused = subprocess.run([*base, "PING"], capture_output=True, text=True, timeout=10)
    assert "PONG" not in refused.stdout
    assert srv.alive()


def test_config_set_bad_certificate_keeps_the_old(kind, start_server, certs, tmp_path):
    srv, tls_port = _start_tls(kind, start_server, certs, "no")
    with srv.client() as plain:
        with pytest.raises(redis.ResponseError,
                           match=r"^CONFIG SET failed \(possibly related to argument "
                                 r"'tls-cert-file'\) - Unable to update TLS configuration"):
            plain.config_set("tls-cert-file", str(tmp_path / "missing.crt"))
        assert plain.config_get("tls-cert-file") == {"tls-cert-file": certs["server.crt"]}
        # The same files again: a reload that succeeds.
        assert plain.config_set("tls-cert-file", certs["server.crt"]) is True
    with _tls_client(tls_port, certs, with_cert=False) as c:
        assert c.ping() is True


@pytest.mark.sluice_only("the harness waits for redis-server on a plain port; "
                         "port 0 with a tls-port means TLS only in both")
def test_port_zero_with_tls_port_serves_tls_only(kind, start_server, certs):
    tls_port = _free_port()
    # Sluice's harness passes --port 0: here that leaves TLS alone, and the
    # port it announces is the TLS one.
    srv = start_server(kind, "--tls-port", str(tls_port),
                       "--tls-cert-file", certs["server.crt"],
                       "--tls-key-file", certs["server.key"], "--tls-auth-clients", "no")
    assert srv.port == tls_port
    with _tls_client(tls_port, certs, with_cert=False) as c:
        assert c.ping() is True
        assert c.config_get("port") == {"port": "0"}
    with srv.client() as plain:
        with pytest.raises(redis.ConnectionError):
            plain.ping()
    assert srv.alive()
