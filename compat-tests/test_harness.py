"""Checks that the harness itself works against every selected server kind."""

import pytest
import redis


def test_ping(r, kind):
    assert r.handle.kind == kind
    assert r.ping() is True


def test_client_speaks_requested_protocol(r, protocol):
    reply = r.execute_command("HELLO")  # no version: report, don't switch
    # RESP3 sends a map; RESP2 flattens it into [key, value, ...].
    assert isinstance(reply, dict) == (protocol == 3)
    fields = reply if isinstance(reply, dict) else dict(zip(reply[::2], reply[1::2]))
    assert fields[b"proto"] == protocol


def test_echo_round_trips_binary(r):
    assert r.echo(b"\x00\xff") == b"\x00\xff"


def test_set_get(r):
    assert r.set(b"key", b"value") is True
    assert r.get(b"key") == b"value"


def test_each_test_starts_with_empty_db(r):
    # test_set_get ran first against the same shared server.
    assert r.dbsize() == 0


def test_cli_ping(cli):
    done = cli("PING")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "PONG\n"


def test_cli_reads_commands_from_stdin(cli, server):
    done = cli(input="SET a 1\nGET a\n", raw=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["OK", "1"]
    with server.client() as client:
        assert client.get(b"a") == b"1"


def test_dedicated_server_with_requirepass(kind, start_server):
    handle = start_server(kind, "--requirepass", "pw")
    assert handle.kind == kind
    # Without CLIENT SETINFO on connect, GET is the first command sent.
    with handle.client(lib_name=None, lib_version=None) as anonymous:
        # redis-py raises AuthenticationError for exactly the NOAUTH error code
        # (and strips the code from the message), so check the text via the CLI.
        with pytest.raises(redis.AuthenticationError):
            anonymous.get(b"key")
    assert handle.cli("GET", "key", raw=True).stdout.startswith("NOAUTH")
    with handle.client(password="pw") as authed:
        assert authed.ping() is True
