"""Lists against Redis and Sluice: every command, error texts, and the
exact RESP2/RESP3 reply bytes (through a raw socket). Cases only Redis
7.2+ has (OBJECT ENCODING listpack, LPOS RANK's range error) are marked
sluice_only."""

import threading
import time

import pytest

from test_zsets import E, NILA, Q
from test_stream_groups_util import wait_until


@pytest.fixture
def q(r, protocol):
    conn = Q(r.handle, protocol)
    yield conn
    conn.close()


def test_push_pop_and_ranges(q):
    q.check(2, "RPUSH", "l", "b", "c")
    q.check(4, "LPUSH", "l", "a", "0")
    q.check(["0", "a", "b", "c"], "LRANGE", "l", "0", "-1")
    q.check(["b", "c"], "LRANGE", "l", "-2", "100")
    q.check([], "LRANGE", "l", "3", "1")
    q.check([], "LRANGE", "nokey", "0", "-1")
    q.check(4, "LLEN", "l")
    q.check(0, "LLEN", "nokey")
    q.check(0, "LPUSHX", "nokey", "x")
    q.check(5, "RPUSHX", "l", "d")
    q.check("0", "LPOP", "l")
    q.check(["d", "c"], "RPOP", "l", "2")
    q.check([], "LPOP", "l", "0")
    q.check(NILA, "LPOP", "nokey", "0")
    q.check(NILA, "RPOP", "nokey", "2")
    q.check(None, "RPOP", "nokey")
    q.check("b", "LINDEX", "l", "-1")
    q.check(None, "LINDEX", "l", "9")
    q.check(None, "LINDEX", "nokey", "0")
    q.check(["a", "b"], "LPOP", "l", "10")
    q.check(0, "EXISTS", "l")


def test_integers_and_binary_elements_come_back_as_sent(q):
    elems = ["0", "-1", "007", "-0", "+5", "9223372036854775807",
             "-9223372036854775808", "9223372036854775808", "", "a\x00b", "x" * 300]
    q.check(len(elems), "RPUSH", "l", *elems)
    q.check(elems, "LRANGE", "l", "0", "-1")
    q.check(2, "LPOS", "l", "007")


def test_edits_in_the_middle(q):
    q.check(5, "RPUSH", "l", "a", "b", "c", "b", "a")
    q.check(6, "LINSERT", "l", "BEFORE", "c", "x")
    q.check(7, "LINSERT", "l", "after", "a", "y")
    q.check(-1, "LINSERT", "l", "AFTER", "zz", "y")
    q.check(0, "LINSERT", "nokey", "AFTER", "a", "y")
    q.check(E("ERR syntax error"), "LINSERT", "l", "MIDDLE", "a", "y")
    q.check(["a", "y", "b", "x", "c", "b", "a"], "LRANGE", "l", "0", "-1")
    q.check(E("ERR index out of range"), "LSET", "l", "7", "z")
    q.check(E("ERR no such key"), "LSET", "nokey", "0", "z")
    q.check(1, "LREM", "l", "-1", "b")
    q.check(0, "LREM", "l", "0", "nothing")
    q.check(0, "LREM", "nokey", "0", "a")
    q.check(["a", "y", "b", "x", "c", "a"], "LRANGE", "l", "0", "-1")
    q.check(2, "LREM", "l", "0", "a")
    q("LTRIM", "l", "1", "-2")
    q.check(["b", "x"], "LRANGE", "l", "0", "-1")
    q("LTRIM", "l", "5", "10")
    q.check(0, "EXISTS", "l")


def test_lset_replies_ok(r):
    r.rpush("l", "a", "b")
    assert r.lset("l", -1, "z") is True
    assert r.lrange("l", 0, -1) == [b"a", b"z"]


def test_lpos(q):
    q.check(8, "RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c")
    q.check(2, "LPOS", "l", "c")
    q.check(6, "LPOS", "l", "c", "RANK", "2")
    q.check(7, "LPOS", "l", "c", "RANK", "-1")
    q.check(None, "LPOS", "l", "c", "RANK", "4")
    q.check([2, 6, 7], "LPOS", "l", "c", "COUNT", "0")
    q.check([6, 2], "LPOS", "l", "c", "RANK", "-2", "COUNT", "5")
    q.check(None, "LPOS", "l", "c", "MAXLEN", "2")
    q.check([2], "LPOS", "l", "c", "COUNT", "3", "MAXLEN", "3")
    q.check([], "LPOS", "nokey", "c", "COUNT", "1")
    q.check(None, "LPOS", "nokey", "c")
    q.check(E("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
              "or use negative to start from the end of the list"), "LPOS", "l", "c", "RANK", "0")
    q.check(E("ERR COUNT can't be negative"), "LPOS", "l", "c", "COUNT", "-1")
    q.check(E("ERR MAXLEN can't be negative"), "LPOS", "l", "c", "MAXLEN", "-1")
    q.check(E("ERR syntax error"), "LPOS", "l", "c", "FOO", "1")
    q.check(E("ERR syntax error"), "LPOS", "l", "c", "RANK")
    q.check(E("ERR value is not an integer or out of range"), "LPOS", "l", "c", "RANK", "x")


@pytest.mark.sluice_only("Redis 7.2+ refuses RANK -9223372036854775808")
def test_lpos_rank_long_min(q):
    q("RPUSH", "l", "c")
    q.check(E("ERR value is out of range, value must between -9223372036854775807 and "
              "9223372036854775807"), "LPOS", "l", "c", "RANK", "-9223372036854775808")


def test_moves_and_multi_pops(q):
    q.check(3, "RPUSH", "src", "a", "b", "c")
    q.check("a", "LMOVE", "src", "dst", "LEFT", "RIGHT")
    q.check("c", "RPOPLPUSH", "src", "dst")
    q.check(["c", "a"], "LRANGE", "dst", "0", "-1")
    q.check("c", "LMOVE", "dst", "dst", "LEFT", "RIGHT")
    q.check(["a", "c"], "LRANGE", "dst", "0", "-1")
    q.check(None, "LMOVE", "nokey", "dst", "LEFT", "LEFT")
    q("SET", "str", "x")
    q.check(E("WRONGTYPE Operation against a key holding the wrong kind of value"),
            "LMOVE", "src", "str", "LEFT", "LEFT")
    q.check(1, "LLEN", "src")
    q.check(E("ERR syntax error"), "LMOVE", "src", "dst", "UP", "LEFT")
    q.check(["dst", ["c", "a"]], "LMPOP", "2", "nokey", "dst", "RIGHT", "COUNT", "5")
    q.check(["src", ["b"]], "LMPOP", "1", "src", "LEFT")
    q.check(NILA, "LMPOP", "1", "nokey", "LEFT")
    q.check(E("ERR numkeys should be greater than 0"), "LMPOP", "0", "k", "LEFT")
    q.check(E("ERR count should be greater than 0"), "LMPOP", "1", "k", "LEFT", "COUNT", "0")
    q.check(E("ERR syntax error"), "LMPOP", "1", "k", "MIDDLE")
    q.check(E("ERR syntax error"), "LMPOP", "2", "k", "LEFT")
    q.check(E("WRONGTYPE Operation against a key holding the wrong kind of value"),
            "LMPOP", "2", "str", "src", "LEFT")


@pytest.mark.parametrize("args", [
    ["LPUSH", "s", "x"], ["RPUSHX", "s", "x"], ["LPOP", "s"], ["RPOP", "s", "2"],
    ["LLEN", "s"], ["LRANGE", "s", "0", "1"], ["LINDEX", "s", "0"], ["LSET", "s", "0", "x"],
    ["LREM", "s", "0", "x"], ["LTRIM", "s", "0", "1"], ["LPOS", "s", "x"],
    ["LINSERT", "s", "BEFORE", "a", "b"], ["RPOPLPUSH", "s", "l"], ["BLPOP", "s", "0"],
    ["BLMOVE", "s", "l", "LEFT", "LEFT", "0"], ["BLMPOP", "0", "1", "s", "LEFT"],
])
def test_wrong_type(q, args):
    q("SET", "s", "v")
    q.check(E("WRONGTYPE Operation against a key holding the wrong kind of value"), *args)


@pytest.mark.parametrize("args, text", [
    (["LPOP", "l", "-1"], "ERR value is out of range, must be positive"),
    (["LPOP", "l", "x"], "ERR value is out of range, must be positive"),
    (["LPOP", "l", "1", "2"], "ERR wrong number of arguments for 'lpop' command"),
    (["LPUSH", "l"], "ERR wrong number of arguments for 'lpush' command"),
    (["LRANGE", "l", "a", "1"], "ERR value is not an integer or out of range"),
    (["LINDEX", "l", "1.5"], "ERR value is not an integer or out of range"),
    (["LREM", "l", "x", "a"], "ERR value is not an integer or out of range"),
    (["BLPOP", "l", "-1"], "ERR timeout is negative"),
    (["BLPOP", "l", "x"], "ERR timeout is not a float or out of range"),
    (["BLMPOP", "0", "0", "l", "LEFT"], "ERR numkeys should be greater than 0"),
    (["LMOVE", "a", "b", "LEFT"], "ERR wrong number of arguments for 'lmove' command"),
])
def test_argument_errors(q, args, text):
    q("RPUSH", "l", "a")
    q.check(E(text), *args)


def test_generic_key_commands(r):
    r.rpush("l", "a", "b")
    assert r.type("l") == b"list"
    r.rename("l", "m")
    assert r.copy("m", "c")
    r.rpush("c", "x")
    assert r.lrange("m", 0, -1) == [b"a", b"b"]
    assert r.move("c", 1)
    assert r.lrange("c", 0, -1) == []
    cursor, keys = r.scan(0, _type="list", count=100)
    assert keys == [b"m"]
    r.pexpire("m", 30)
    time.sleep(0.1)
    assert r.llen("m") == 0


@pytest.mark.sluice_only("Redis 7.0 reports quicklist for every list")
def test_object_encoding(r):
    r.rpush("l", "a", "b")
    assert r.object("encoding", "l") == b"listpack"
    r.rpush("big", *["x" * 100] * 100)
    assert r.object("encoding", "big") == b"quicklist"
    # One element bigger than a listpack node makes a quicklist too (7.2+).
    r.lpush("one", "x" * 8192)
    assert r.object("encoding", "one") == b"quicklist"


def test_blocking_pop_served_by_push(r):
    result = {}
    blocked = r.handle.client()

    def wait():
        result["v"] = blocked.blpop(["q1", "q2"], timeout=5)

    t = threading.Thread(target=wait)
    t.start()
    wait_until(lambda: r.info("clients")["blocked_clients"] == 1)
    r.rpush("q2", "x", "y")
    t.join()
    assert result["v"] == (b"q2", b"x") or result["v"] == [b"q2", b"x"]
    assert r.lrange("q2", 0, -1) == [b"y"]


def test_blocking_inside_multi_replies_at_once(q):
    assert q("MULTI") == b"+OK\r\n"
    for args in (["BLPOP", "nokey", "0"], ["BLMOVE", "nokey", "x", "LEFT", "LEFT", "0"],
                 ["BRPOPLPUSH", "nokey", "x", "0"], ["BLMPOP", "0", "1", "nokey", "LEFT"]):
        assert q(*args) == b"+QUEUED\r\n"
    q.check([NILA, None, None, NILA], "EXEC")


def test_blocking_timeouts(q):
    q.check(NILA, "BLPOP", "nokey", "0.01")
    q.check(NILA, "BLMOVE", "nokey", "dst", "LEFT", "LEFT", "0.01")
    q.check(NILA, "BRPOPLPUSH", "nokey", "dst", "0.01")
    q.check(NILA, "BLMPOP", "0.01", "1", "nokey", "LEFT")
    q("RPUSH", "l", "a")
    q.check(["l", "a"], "BLPOP", "nokey", "l", "0")


def test_list_events(kind, start_server):
    from test_notifications import Recorder

    rec = Recorder(start_server(kind), "KEA")
    try:
        cases = [
            (("RPUSH", "l", "a", "b"), ["rpush(l)"]),
            (("LPUSH", "l", "x"), ["lpush(l)"]),
            (("LPUSHX", "nokey", "x"), []),
            (("LINSERT", "l", "BEFORE", "a", "y"), ["linsert(l)"]),
            (("LINSERT", "l", "BEFORE", "zz", "y"), []),
            (("LSET", "l", "0", "z"), ["lset(l)"]),
            (("LREM", "l", "0", "nothing"), []),
            (("LREM", "l", "1", "y"), ["lrem(l)"]),
            (("LTRIM", "l", "0", "-1"), ["ltrim(l)"]),
            (("LPOP", "l"), ["lpop(l)"]),
            (("LPOP", "l", "0"), []),
            (("LMOVE", "l", "d", "LEFT", "RIGHT"), ["rpush(d)", "lpop(l)"]),
            (("LMOVE", "d", "d", "LEFT", "RIGHT"), ["rpush(d)", "lpop(d)"]),
            (("RPOP", "l", "10"), ["rpop(l)", "del(l)"]),
            (("LMPOP", "1", "d", "LEFT"), ["lpop(d)", "del(d)"]),
            (("RPUSH", "t", "a", "b"), ["rpush(t)"]),
            (("LTRIM", "t", "5", "6"), ["ltrim(t)", "del(t)"]),
            (("BLPOP", "nokey", "0.01"), []),
        ]
        for cmd, expected in cases:
            assert rec.run(*cmd) == expected, cmd
    finally:
        rec.close()
