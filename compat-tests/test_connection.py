"""Connection commands and the wire protocol, against Redis and Sluice."""

import socket

import pytest
import redis

from rawcmd import raw


def raw_exchange(server, payload, expect_close=False, timeout=5.0):
    """Sends raw bytes, returns everything the server sends back until it
    closes (expect_close) or goes quiet for a moment."""
    with socket.create_connection((server.host, server.port), timeout=timeout) as s:
        s.sendall(payload)
        chunks = []
        s.settimeout(0.5 if not expect_close else timeout)
        while True:
            try:
                data = s.recv(65536)
            except socket.timeout:
                assert not expect_close, "server did not close the connection"
                break
            if not data:
                break
            chunks.append(data)
        return b"".join(chunks)


def test_ping_echo(r):
    assert r.ping() is True
    assert raw(r, "PING", b"hi") == b"hi"
    assert r.echo(b"a\x00b\xff") == b"a\x00b\xff"
    with pytest.raises(redis.ResponseError, match=r"^wrong number of arguments for 'ping' command$"):
        r.execute_command("PING", "a", "b")
    with pytest.raises(redis.ResponseError, match=r"^wrong number of arguments for 'echo' command$"):
        r.execute_command("ECHO")


def test_unknown_command_error(r):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("NOSUCHCMD", "a", "b")
    assert str(e.value) == "unknown command 'NOSUCHCMD', with args beginning with: 'a' 'b' "
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("NOSUCHCMD", *(["abcdefghij"] * 20))
    assert str(e.value).count("'abcdefghij'") == 10


def test_hello_versions(r, protocol):
    reply = r.execute_command("HELLO", protocol)
    fields = reply if isinstance(reply, dict) else dict(zip(reply[::2], reply[1::2]))
    assert fields[b"proto"] == protocol
    assert fields[b"server"] == b"redis"
    assert fields[b"mode"] == b"standalone"
    assert fields[b"role"] == b"master"
    assert fields[b"modules"] == []
    assert isinstance(fields[b"id"], int)
    with pytest.raises(redis.ResponseError, match="unsupported protocol version"):
        r.execute_command("HELLO", 4)
    with pytest.raises(redis.ResponseError, match="^Protocol version is not an integer or out of range$"):
        r.execute_command("HELLO", "x")
    with pytest.raises(redis.ResponseError, match="^Syntax error in HELLO option 'foo'$"):
        r.execute_command("HELLO", protocol, "foo")


def test_hello_setname(r, protocol):
    r.execute_command("HELLO", protocol, "SETNAME", "conn-a")
    assert raw(r, "CLIENT", "GETNAME") == b"conn-a"
    with pytest.raises(redis.ResponseError, match="cannot contain spaces"):
        r.execute_command("HELLO", protocol, "SETNAME", "a b")


def test_select(r):
    r.set("k", "db0")
    assert r.execute_command("SELECT", 15) in (True, b"OK", "OK")
    assert r.get("k") is None
    with pytest.raises(redis.ResponseError, match="^DB index is out of range$"):
        r.execute_command("SELECT", 16)
    with pytest.raises(redis.ResponseError, match="^value is not an integer or out of range$"):
        r.execute_command("SELECT", "x")


def test_auth_without_password(r):
    # redis-py raises AuthenticationError for this reply.
    with pytest.raises(redis.RedisError, match="^AUTH <password> called without any password configured"):
        r.execute_command("AUTH", "x")
    assert raw(r, "AUTH", "default", "anything") == b"OK"
    with pytest.raises(redis.RedisError, match="^invalid username-password pair"):
        r.execute_command("AUTH", "someone", "x")


def test_auth_with_requirepass(kind, start_server):
    srv = start_server(kind, "--requirepass", "s3cret")
    out = srv.cli("PING", raw=True).stdout
    assert out.startswith("NOAUTH Authentication required.")
    # HELLO without AUTH is refused before authentication.
    out = srv.cli("HELLO", "3", raw=True).stdout
    assert out.startswith("NOAUTH HELLO must be called with the client already authenticated")
    with srv.client(password="wrong", lib_name=None, lib_version=None) as c:
        with pytest.raises(redis.AuthenticationError):
            c.ping()
    with srv.client(password="s3cret") as c:
        assert c.ping() is True
    with srv.client(protocol=3, password="s3cret") as c:  # HELLO 3 AUTH
        assert c.ping() is True
    reply = srv.cli("-a", "s3cret", "--no-auth-warning", "PING").stdout
    assert reply == "PONG\n"


def test_reset(cli):
    done = cli(input="SELECT 3\nCLIENT SETNAME x\nHELLO 3\nMULTI\nRESET\nCLIENT GETNAME\nSET k v\nSELECT 3\nGET k\n", raw=True)
    lines = done.stdout.splitlines()
    # After RESET: no name, database 0, RESP2, no MULTI (SET runs at once).
    assert lines[-5:] == ["RESET", "", "OK", "OK", ""]


def test_quit_closes(server):
    out = raw_exchange(server, b"QUIT\r\nPING\r\n", expect_close=True)
    assert out == b"+OK\r\n"


def test_inline_commands(server):
    out = raw_exchange(server, b'PING\r\nECHO "a b\\x41"\r\nset k \'it\\\'s\'\r\nGET k\n\r\n')
    assert out == b"+PONG\r\n$4\r\na bA\r\n+OK\r\n$4\r\nit's\r\n"


def test_pipeline_replies_in_order(server):
    payload = b"".join(b"*2\r\n$4\r\nECHO\r\n$%d\r\n%d\r\n" % (len(str(i)), i) for i in range(100))
    out = raw_exchange(server, payload)
    expected = b"".join(b"$%d\r\n%d\r\n" % (len(str(i)), i) for i in range(100))
    assert out == expected


def test_pipeline_through_client(r):
    with r.pipeline(transaction=False) as p:
        for i in range(50):
            p.set(f"k{i}", i)
        for i in range(50):
            p.get(f"k{i}")
        results = p.execute()
    assert results[50:] == [str(i).encode() for i in range(50)]


@pytest.mark.parametrize(
    "payload,error",
    [
        (b"*x\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
        (b"*1\r\n:4\r\n", b"-ERR Protocol error: expected '$', got ':'\r\n"),
        (b"*1\r\n$-3\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
        (b'set a "b\r\n', b"-ERR Protocol error: unbalanced quotes in request\r\n"),
        (b"*1\r\n$999999999999\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
        # Lengths follow Redis's integer rules: no '+', no leading zero, no -0.
        (b"*+1\r\n$4\r\nPING\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
        (b"*01\r\n$4\r\nPING\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
        (b"*-0\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
        (b"*1\r\n$+4\r\nPING\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
        (b"*1\r\n$04\r\nPING\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
        (b"*1\r\n$-0\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    ],
)
def test_protocol_errors_close_the_connection(server, payload, error):
    assert raw_exchange(server, payload, expect_close=True) == error
    # The server survives.
    with server.client() as c:
        assert c.ping() is True


def test_binary_safe_keys_and_values(r):
    key, value = b"k\x00\r\n\xff", bytes(range(256))
    r.set(key, value)
    assert r.get(key) == value


def test_large_value(r):
    big = b"x" * (2 * 1024 * 1024)
    r.set("big", big)
    assert r.get("big") == big


def test_redis_cli_one_shot_and_interactive_input(cli):
    assert cli("SET", "a", "1").stdout == "OK\n"
    assert cli("GET", "a").stdout == '"1"\n'
    assert cli("GET", "a", raw=True).stdout == "1\n"
    done = cli(input="SET b 2\nINCR b\nGET nosuch\n")
    assert done.stdout.splitlines() == ["OK", "(integer) 3", "(nil)"]


def test_redis_cli_pipe_mode(cli, server):
    lines = "".join(f"SET key:{i} {i}\r\n" for i in range(1000))
    done = cli("--pipe", input=lines)
    assert done.returncode == 0, done.stderr
    assert "errors: 0, replies: 1000" in done.stdout
    with server.client() as c:
        assert c.get("key:999") == b"999"
        assert c.dbsize() == 1000


def _resp(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


@pytest.mark.parametrize(
    "args",
    [
        [b"XREADGROUP", b"GROUP", b"g", b"c", b"STREAMS", b"a\r\n+INJECTED", b">"],
        [b"XREADGROUP", b"GROUP", b"a\r\n+INJECTED", b"c", b"STREAMS", b"s", b">"],
        [b"HELLO", b"3", b"a\r\n+INJECTED"],
        [b"CLIENT", b"LIST", b"TYPE", b"a\r\n+INJECTED"],
        [b"CONFIG", b"SET", b"a\r\n+INJECTED", b"1"],
    ],
)
def test_names_echoed_in_errors_cannot_forge_replies(server, r, args):
    r.xadd("s", {"f": "v"})
    got = raw_exchange(server, _resp(*args) + b"*1\r\n$4\r\nPING\r\n")
    error, sep, rest = got.partition(b"\r\n")
    assert error.startswith(b"-") and b"\n" not in error and b"\r" not in error, got
    assert rest == b"+PONG\r\n", got
