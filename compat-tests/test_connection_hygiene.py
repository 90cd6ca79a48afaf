"""Connection hygiene parameters (issue #13), against Redis and Sluice:
timeout, tcp-keepalive, protected-mode and client-query-buffer-limit."""

import socket
import time

import pytest
import redis

DEFAULTS = {
    "timeout": "0",
    "tcp-keepalive": "300",
    "protected-mode": "yes",
    "client-query-buffer-limit": "1073741824",
}


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_defaults(r, name):
    assert r.config_get(name) == {name: DEFAULTS[name]}


@pytest.mark.parametrize(
    "name, value, reason",
    [
        ("timeout", "-1", "argument must be between 0 and 2147483647 inclusive"),
        ("timeout", "2147483648", "argument must be between 0 and 2147483647 inclusive"),
        ("timeout", "abc", "argument couldn't be parsed into an integer"),
        ("tcp-keepalive", "-1", "argument must be between 0 and 2147483647 inclusive"),
        ("tcp-keepalive", "x", "argument couldn't be parsed into an integer"),
        ("protected-mode", "maybe", "argument must be 'yes' or 'no'"),
        ("client-query-buffer-limit", "1",
         "argument must be between 1048576 and 9223372036854775807 inclusive"),
        ("client-query-buffer-limit", "1x", "argument must be a memory value"),
    ],
)
def test_config_set_refuses_bad_values(kind, start_server, name, value, reason):
    srv = start_server(kind)
    c = srv.client()
    expected = f"CONFIG SET failed (possibly related to argument '{name}') - {reason}"
    with pytest.raises(redis.ResponseError) as err:
        c.config_set(name, value)
    assert str(err.value) == expected
    assert c.config_get(name) == {name: DEFAULTS[name]}


@pytest.mark.parametrize(
    "name, value, shown",
    [
        ("timeout", "7", "7"),
        ("tcp-keepalive", "60", "60"),
        ("protected-mode", "NO", "no"),
        ("client-query-buffer-limit", "2mb", "2097152"),
    ],
)
def test_config_set_round_trips(kind, start_server, name, value, shown):
    srv = start_server(kind)
    c = srv.client()
    assert c.config_set(name, value) is True
    assert c.config_get(name) == {name: shown}


def test_flags_set_the_parameters_at_start(kind, start_server):
    srv = start_server(kind, "--timeout", "30", "--tcp-keepalive", "0",
                       "--protected-mode", "no")
    c = srv.client()
    assert c.config_get("timeout") == {"timeout": "30"}
    assert c.config_get("tcp-keepalive") == {"tcp-keepalive": "0"}
    assert c.config_get("protected-mode") == {"protected-mode": "no"}


def closed_within(sock, seconds):
    """Whether the server closes `sock` within `seconds` (bounded polling,
    not a threshold: the test only needs it to happen eventually)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            data = sock.recv(65536)
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        if not data:
            return True
    return False


def test_idle_client_is_closed_but_a_subscriber_is_not(kind, start_server):
    srv = start_server(kind, "--timeout", "1")
    sub = srv.client()
    pubsub = sub.pubsub()
    pubsub.subscribe("ch")
    assert pubsub.get_message(timeout=5)["type"] == "subscribe"
    # Connected after the subscriber's last command: once it is closed
    # for idling, the subscriber has idled at least as long.
    idle = socket.create_connection((srv.host, srv.port), timeout=5)
    idle.sendall(b"PING\r\n")
    assert idle.recv(100) == b"+PONG\r\n"
    # Half a request is not activity.
    idle.sendall(b"*1\r\n$4\r\nPI")
    try:
        assert closed_within(idle, 15), "the idle client was not closed"
    finally:
        idle.close()
    pubsub.ping()
    msg = pubsub.get_message(timeout=5)
    assert msg is not None and msg["type"] == "pong"
    pubsub.close()


def test_query_buffer_past_the_limit_closes_without_a_reply(kind, start_server):
    srv = start_server(kind, "--client-query-buffer-limit", "1mb")
    c = srv.client()
    assert c.set("k", b"v" * 900_000) is True
    with socket.create_connection((srv.host, srv.port), timeout=5) as s:
        try:
            s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2097152\r\n" + b"x" * 1_200_000)
        except (BrokenPipeError, ConnectionResetError):
            pass
        got = b""
        s.settimeout(10)
        while True:
            try:
                data = s.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            got += data
        assert got == b""
    assert c.strlen("k") == 900_000


def non_loopback_ipv4():
    """A global IPv4 address of this machine, or None."""
    import subprocess
    try:
        out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"],
                             capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in out.splitlines():
        words = line.split()
        if "inet" in words:
            return words[words.index("inet") + 1].split("/")[0]
    return None


def exchange_from(source, srv, payload):
    """Connects to the server's loopback port from `source` (an address of
    this machine, so the traffic stays local; the server sees a non-loopback
    peer), sends `payload`, returns everything until the server closes or
    goes quiet for a moment."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((source, 0))
        s.settimeout(5)
        s.connect((srv.host, srv.port))
        s.sendall(payload)
        got = b""
        s.settimeout(0.5)
        while True:
            try:
                data = s.recv(65536)
            except socket.timeout:
                return got, False
            except ConnectionResetError:
                return got, True
            if not data:
                return got, True
            got += data
    finally:
        s.close()


DENIED = (b"-DENIED Redis is running in protected mode because protected mode is "
          b"enabled and no password is set for the default user. In this mode "
          b"connections are only accepted from the loopback interface.")


def test_protected_mode_refuses_non_loopback_peers(kind, start_server):
    source = non_loopback_ipv4()
    if source is None:
        pytest.skip("this machine has no non-loopback IPv4 address to connect from")
    srv = start_server(kind)
    c = srv.client()
    got, closed = exchange_from(source, srv, b"PING\r\n")
    assert got.startswith(DENIED) and got.endswith(b"\r\n"), got
    assert closed
    assert c.info("stats")["rejected_connections"] == 1
    c.config_set("requirepass", "pw")
    got, closed = exchange_from(source, srv, b"PING\r\n")
    assert got.startswith(b"-NOAUTH"), got
    c.execute_command("AUTH", "pw")
    c.config_set("requirepass", "")
    c.config_set("protected-mode", "no")
    got, closed = exchange_from(source, srv, b"PING\r\n")
    assert got == b"+PONG\r\n"
