"""CLIENT subcommands, against Redis and Sluice."""

import socket

import pytest
import redis

from rawcmd import raw


def test_id_and_names(r):
    cid = r.client_id()
    assert isinstance(cid, int) and cid > 0
    assert raw(r, "CLIENT", "GETNAME") is None
    assert r.client_setname("worker-1") is True
    assert raw(r, "CLIENT", "GETNAME") == b"worker-1"
    with pytest.raises(redis.ResponseError, match="cannot contain spaces"):
        r.client_setname("a b")
    info = raw(r, "CLIENT", "INFO")
    info = info.decode() if isinstance(info, bytes) else info
    assert info.startswith(f"id={cid} ")
    assert " name=worker-1 " in info
    assert " cmd=client|info " in info


def test_list(r, server):
    with server.client() as other:
        other_id = other.client_id()
        ids = {c["id"] for c in r.client_list()}
        assert str(other_id) in ids and str(r.client_id()) in ids
        only = r.client_list(client_id=[other_id])
        assert [c["id"] for c in only] == [str(other_id)]
    with pytest.raises(redis.ResponseError, match="^Invalid client ID$"):
        r.execute_command("CLIENT", "LIST", "ID", "abc")
    with pytest.raises(redis.ResponseError, match="^Unknown client type 'foo'$"):
        r.execute_command("CLIENT", "LIST", "TYPE", "foo")


def test_kill(r, server):
    with server.client() as victim:
        vid = victim.client_id()
        assert r.client_kill_filter(_id=vid) == 1
        # redis-py would reconnect transparently; check the server's view.
        assert str(vid) not in {c["id"] for c in r.client_list()}
    with pytest.raises(redis.ResponseError, match="^No such client$"):
        raw(r, "CLIENT", "KILL", "1.2.3.4:5")
    with pytest.raises(redis.ResponseError, match="^client-id should be greater than 0$"):
        raw(r, "CLIENT", "KILL", "ID", "abc")
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        raw(r, "CLIENT", "KILL", "FOO", "bar")
    with pytest.raises(redis.ResponseError, match=r"^wrong number of arguments for 'client\|kill' command$"):
        raw(r, "CLIENT", "KILL")


def test_unknown_subcommand(r):
    with pytest.raises(redis.ResponseError, match=r"^unknown subcommand 'nope'. Try CLIENT HELP.$"):
        r.execute_command("CLIENT", "nope")
    with pytest.raises(redis.ResponseError, match=r"^wrong number of arguments for 'client\|setname' command$"):
        r.execute_command("CLIENT", "SETNAME")
    assert len(r.execute_command("CLIENT", "HELP")) > 5


def test_reply_modes(server):
    with socket.create_connection((server.host, server.port), timeout=5) as s:
        s.sendall(b"CLIENT REPLY OFF\r\nSET a 1\r\nCLIENT REPLY SKIP\r\nPING x\r\n"
                  b"CLIENT REPLY ON\r\nGET a\r\n")
        got = b""
        while not got.endswith(b"$1\r\n1\r\n"):
            got += s.recv(1024)
    assert got == b"+OK\r\n$1\r\n1\r\n"


def test_no_evict(r):
    assert raw(r, "CLIENT", "NO-EVICT", "on") == b"OK"
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        r.execute_command("CLIENT", "NO-EVICT", "maybe")


@pytest.mark.sluice_only("CLIENT SETINFO and NO-TOUCH arrived in Redis 7.2: redis.io/commands/client-setinfo")
def test_setinfo(r):
    assert raw(r, "CLIENT", "SETINFO", "LIB-NAME", "mylib") == b"OK"
    assert raw(r, "CLIENT", "SETINFO", "LIB-VER", "1.2") == b"OK"
    info = raw(r, "CLIENT", "INFO")
    info = info.decode() if isinstance(info, bytes) else info
    assert " lib-name=mylib " in info and " lib-ver=1.2" in info
    with pytest.raises(redis.ResponseError, match="^Unrecognized option 'foo'$"):
        r.execute_command("CLIENT", "SETINFO", "foo", "x")
    assert raw(r, "CLIENT", "NO-TOUCH", "on") == b"OK"


def test_maxclients(kind, start_server):
    srv = start_server(kind, "--maxclients", "1")
    with srv.client() as first:
        assert first.ping() is True
        with srv.client() as second:
            with pytest.raises(redis.ConnectionError, match="max number of clients reached"):
                second.ping()
