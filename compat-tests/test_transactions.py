"""MULTI/EXEC/DISCARD/WATCH, against Redis and Sluice."""

import time

import pytest
import redis


def test_multi_exec_queues_and_runs(r):
    with r.pipeline(transaction=True) as p:
        p.set("a", 1)
        p.incr("a")
        p.get("a")
        assert p.execute() == [True, 2, b"2"]


def test_queued_replies_raw(cli):
    done = cli(input="MULTI\nSET a 1\nINCR a\nEXEC\n")
    assert done.stdout.splitlines() == ["OK", "QUEUED", "QUEUED", "1) OK", "2) (integer) 2"]


def test_runtime_error_does_not_abort(r):
    with r.pipeline(transaction=True) as p:
        p.set("s", "x")
        p.incr("s")
        p.set("t", "y")
        results = p.execute(raise_on_error=False)
    assert results[0] is True
    assert isinstance(results[1], redis.ResponseError)
    assert str(results[1]) == "value is not an integer or out of range"
    assert r.get("t") == b"y"


def test_syntax_error_inside_exec_is_a_reply_not_an_abort(cli):
    # SET's options are checked when EXEC runs it, as in Redis.
    done = cli(input="MULTI\nSET a 1 XX NX\nSET b 2\nEXEC\nGET b\n")
    assert done.stdout.splitlines() == ["OK", "QUEUED", "QUEUED", "1) (error) ERR syntax error", "2) OK", '"2"']


def test_queue_error_aborts_exec(cli):
    done = cli(input="MULTI\nSET a 1\nNOSUCH x\nGET\nEXEC\nGET a\n")
    lines = done.stdout.splitlines()
    assert lines[0] == "OK" and lines[1] == "QUEUED"
    assert lines[2].startswith("(error) ERR unknown command 'NOSUCH'")
    assert lines[3] == "(error) ERR wrong number of arguments for 'get' command"
    assert lines[4] == "(error) EXECABORT Transaction discarded because of previous errors."
    assert lines[5] == "(nil)"


def test_nesting_and_misuse(cli):
    done = cli(input="EXEC\nDISCARD\nMULTI\nMULTI\nWATCH a\nPING\nEXEC\n")
    assert done.stdout.splitlines() == [
        "(error) ERR EXEC without MULTI",
        "(error) ERR DISCARD without MULTI",
        "OK",
        "(error) ERR MULTI calls can not be nested",
        "(error) ERR WATCH inside MULTI is not allowed",
        "QUEUED",
        "1) PONG",
    ]


def test_discard(r, cli):
    done = cli(input="MULTI\nSET a 1\nDISCARD\nGET a\n")
    assert done.stdout.splitlines() == ["OK", "QUEUED", "OK", "(nil)"]


def test_watch_aborts_when_another_client_writes(r, server):
    r.set("w", "1")
    with r.pipeline(transaction=True) as p:
        p.watch("w")
        with server.client() as other:
            other.set("w", "2")
        p.multi()
        p.set("w", "3")
        with pytest.raises(redis.WatchError):
            p.execute()
    assert r.get("w") == b"2"


def test_watch_passes_when_untouched(r):
    r.set("w", "1")
    with r.pipeline(transaction=True) as p:
        p.watch("w")
        value = int(p.get("w"))
        p.multi()
        p.set("w", value + 1)
        assert p.execute() == [True]
    assert r.get("w") == b"2"


def test_watch_missing_key_then_created(r, server):
    with r.pipeline(transaction=True) as p:
        p.watch("nokey")
        with server.client() as other:
            other.set("nokey", "x")
        p.multi()
        p.set("nokey", "mine")
        with pytest.raises(redis.WatchError):
            p.execute()


def test_watch_aborts_when_key_expires(r):
    r.set("exp", "1", px=50)
    with r.pipeline(transaction=True) as p:
        p.watch("exp")
        time.sleep(0.2)
        p.multi()
        p.set("x", "y")
        with pytest.raises(redis.WatchError):
            p.execute()


def test_unwatch_and_flush(r, server):
    r.set("w", "1")
    with r.pipeline(transaction=True) as p:
        p.watch("w")
        p.unwatch()
        with server.client() as other:
            other.set("w", "2")
        p.multi()
        p.set("w", "3")
        assert p.execute() == [True]
    with r.pipeline(transaction=True) as p:
        p.watch("w")
        with server.client() as other:
            other.flushdb()
        p.multi()
        p.set("z", "1")
        with pytest.raises(redis.WatchError):
            p.execute()


def test_exec_null_reply_shape(cli, server):
    with server.client() as c:
        c.set("w", "1")
    # The watcher's own write between WATCH and MULTI also counts.
    done = cli(input="WATCH w\nSET w 2\nMULTI\nPING\nEXEC\n")
    assert done.stdout.splitlines() == ["OK", "OK", "OK", "QUEUED", "(nil)"]


def test_shutdown_is_refused_inside_multi(cli, server):
    done = cli(input="MULTI\nSHUTDOWN\nEXEC\nPING\n")
    assert done.stdout.splitlines() == [
        "OK",
        "(error) ERR Command not allowed inside a transaction",
        "(error) EXECABORT Transaction discarded because of previous errors.",
        "PONG",
    ]
    assert server.alive()
