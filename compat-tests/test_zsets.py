"""Sorted sets against Redis and Sluice: every command and option, error
texts, and the exact RESP2/RESP3 reply bytes (through a raw socket, so no
client-side reshaping hides a difference).

Scores are chosen to print the same in Redis 7.0 (%.17g) and 7.4 (shortest
round trip); cases that only 7.2+ has are marked sluice_only."""

import threading
import time

import pytest

from test_stream_groups_util import RawConn, b, wait_until


class Q:
    """Sends commands on a raw connection and encodes expected replies."""

    def __init__(self, handle, protocol):
        self.protocol = protocol
        self.conn = RawConn(handle, protocol)

    def __call__(self, *args):
        self.conn.send(*args)
        return self.conn.read_reply()

    def enc(self, v):
        """str/bytes: bulk; int: integer; D(x): double; list: array;
        None: null; NILA: null array; E(text): error."""
        p3 = self.protocol == 3
        if isinstance(v, D):
            return (b",%s\r\n" % b(v.text)) if p3 else self.enc(v.text)
        if isinstance(v, E):
            return b"-%s\r\n" % b(v.text)
        if v is NILA:
            return b"_\r\n" if p3 else b"*-1\r\n"
        if v is None:
            return b"_\r\n" if p3 else b"$-1\r\n"
        if isinstance(v, bool):
            raise TypeError("no booleans here")
        if isinstance(v, int):
            return b":%d\r\n" % v
        if isinstance(v, list):
            return b"*%d\r\n" % len(v) + b"".join(self.enc(x) for x in v)
        x = b(v)
        return b"$%d\r\n%s\r\n" % (len(x), x)

    def pairs(self, *flat, nested=None):
        """Member/score pairs: flat in RESP2, [[m, s], ...] in RESP3 (or as
        `nested` says)."""
        it = iter(flat)
        items = [(m, D(s)) for m, s in zip(it, it)]
        if nested is None:
            nested = self.protocol == 3
        if nested:
            return [[m, s] for m, s in items]
        return [x for pair in items for x in pair]

    def check(self, expected, *args):
        got = self(*args)
        assert got == self.enc(expected), (args, got)

    def close(self):
        self.conn.close()


class D:
    def __init__(self, text):
        self.text = text


class E:
    def __init__(self, text):
        self.text = text


NILA = object()


@pytest.fixture
def q(r, protocol):
    conn = Q(r.handle, protocol)
    yield conn
    conn.close()


def test_zadd_basics_and_flags(q):
    q.check(3, "ZADD", "z", "1", "a", "2", "b", "3", "c")
    q.check(0, "ZADD", "z", "5", "a")
    q.check(1, "ZADD", "z", "CH", "6", "a")
    q.check(0, "ZADD", "z", "NX", "100", "a")
    q.check(D("6"), "ZSCORE", "z", "a")
    q.check(0, "ZADD", "z", "XX", "1", "new")
    q.check(None, "ZSCORE", "z", "new")
    q.check(0, "ZADD", "z", "XX", "1", "a")
    q.check(D("1"), "ZSCORE", "z", "a")
    # GT/LT: only moves in one direction; new members are still added.
    q.check(2, "ZADD", "z", "GT", "CH", "0", "a", "5", "b", "7", "d")
    q.check(q.pairs("a", "1", "c", "3", "b", "5", "d", "7"), "ZRANGE", "z", "0", "-1", "WITHSCORES")
    q.check(1, "ZADD", "z", "LT", "CH", "0", "a", "9", "b")
    q.check(D("0"), "ZSCORE", "z", "a")
    # XX on a missing key creates nothing.
    q.check(0, "ZADD", "nokey", "XX", "1", "a")
    q.check(0, "EXISTS", "nokey")


def test_zadd_incr(q):
    q.check(D("1.5"), "ZADD", "z", "INCR", "1.5", "a")
    q.check(D("4"), "ZADD", "z", "INCR", "2.5", "a")
    q.check(None, "ZADD", "z", "NX", "INCR", "1", "a")
    q.check(None, "ZADD", "z", "XX", "INCR", "1", "b")
    q.check(None, "ZADD", "z", "GT", "INCR", "-1", "a")
    q.check(D("3"), "ZADD", "z", "LT", "INCR", "-1", "a")
    q.check(D("inf"), "ZADD", "z", "INCR", "+inf", "a")
    q.check(E("ERR resulting score is not a number (NaN)"), "ZADD", "z", "INCR", "-inf", "a")
    q.check(D("inf"), "ZINCRBY", "z", "1", "a")
    q.check(E("ERR resulting score is not a number (NaN)"), "ZINCRBY", "z", "-inf", "a")
    q.check(D("-2.5"), "ZINCRBY", "z", "-2.5", "new")


@pytest.mark.parametrize("args, text", [
    (["NX", "XX", "1", "a"], "ERR XX and NX options at the same time are not compatible"),
    (["GT", "LT", "1", "a"], "ERR GT, LT, and/or NX options at the same time are not compatible"),
    (["NX", "GT", "1", "a"], "ERR GT, LT, and/or NX options at the same time are not compatible"),
    (["NX", "LT", "1", "a"], "ERR GT, LT, and/or NX options at the same time are not compatible"),
    (["INCR", "1", "a", "2", "b"], "ERR INCR option supports a single increment-element pair"),
    (["abc", "a"], "ERR value is not a valid float"),
    (["nan", "a"], "ERR value is not a valid float"),
    (["1e400", "a"], "ERR value is not a valid float"),
    (["1", "a", "2"], "ERR syntax error"),
    (["1", "a", "INCR"], "ERR syntax error"),
    (["NX", "1"], "ERR syntax error"),
    (["NX", "XX"], "ERR syntax error"),
    (["1"], "ERR wrong number of arguments for 'zadd' command"),
])
def test_zadd_errors(q, args, text):
    q.check(E(text), "ZADD", "z", *args)
    q.check(0, "EXISTS", "z")


def test_wrongtype_everywhere(q):
    q("SET", "s", "v")
    wrong = E("WRONGTYPE Operation against a key holding the wrong kind of value")
    for cmd in (["ZADD", "s", "1", "a"], ["ZINCRBY", "s", "1", "a"], ["ZREM", "s", "a"],
                ["ZCARD", "s"], ["ZSCORE", "s", "a"], ["ZMSCORE", "s", "a"],
                ["ZRANK", "s", "a"], ["ZREVRANK", "s", "a"], ["ZCOUNT", "s", "0", "1"],
                ["ZLEXCOUNT", "s", "-", "+"], ["ZRANGE", "s", "0", "1"],
                ["ZRANGESTORE", "d", "s", "0", "1"], ["ZRANGEBYSCORE", "s", "0", "1"],
                ["ZREVRANGEBYSCORE", "s", "1", "0"], ["ZRANGEBYLEX", "s", "-", "+"],
                ["ZREVRANGEBYLEX", "s", "+", "-"], ["ZREVRANGE", "s", "0", "1"],
                ["ZREMRANGEBYRANK", "s", "0", "1"], ["ZREMRANGEBYSCORE", "s", "0", "1"],
                ["ZREMRANGEBYLEX", "s", "-", "+"], ["ZPOPMIN", "s"], ["ZPOPMAX", "s", "2"],
                ["ZMPOP", "1", "s", "MIN"], ["BZPOPMIN", "s", "1"], ["BZPOPMAX", "s", "1"],
                ["BZMPOP", "1", "1", "s", "MAX"]):
        q.check(wrong, *cmd)


def test_read_commands(q):
    q("ZADD", "z", "1", "a", "2", "b", "2", "c", "3", "d")
    q.check(4, "ZCARD", "z")
    q.check(0, "ZCARD", "nokey")
    q.check(None, "ZSCORE", "nokey", "a")
    q.check([D("1"), None, D("3")], "ZMSCORE", "z", "a", "x", "d")
    q.check([None, None], "ZMSCORE", "nokey", "a", "b")
    q.check(2, "ZRANK", "z", "c")
    q.check(1, "ZREVRANK", "z", "c")
    q.check(None, "ZRANK", "z", "x")
    q.check(None, "ZRANK", "nokey", "x")
    q.check(4, "ZCOUNT", "z", "-inf", "+inf")
    q.check(2, "ZCOUNT", "z", "(1", "(3")
    q.check(0, "ZCOUNT", "z", "3", "1")
    q.check(0, "ZCOUNT", "nokey", "0", "1")
    q.check(E("ERR min or max is not a float"), "ZCOUNT", "z", "a", "1")
    q.check(E("ERR min or max is not a float"), "ZCOUNT", "z", "1", "(x")


def test_zcount_counts_all(q):
    q("ZADD", "z", "1", "a", "2", "b", "2", "c", "3", "d")
    q.check(4, "ZCOUNT", "z", "-inf", "+inf")


@pytest.mark.sluice_only("follows https://redis.io/commands/zrank/ (WITHSCORE, 7.2)")
def test_zrank_withscore(q):
    q("ZADD", "z", "1", "a", "2.5", "b")
    q.check([1, D("2.5")], "ZRANK", "z", "b", "WITHSCORE")
    q.check([1, D("1")], "ZREVRANK", "z", "a", "withscore")
    q.check(NILA, "ZRANK", "z", "x", "WITHSCORE")
    q.check(E("ERR syntax error"), "ZRANK", "z", "a", "WITHSCORES")


def test_lex(q):
    q("ZADD", "l", "0", "a", "0", "b", "0", "bb", "0", "c", "0", "d")
    q.check(5, "ZLEXCOUNT", "l", "-", "+")
    q.check(2, "ZLEXCOUNT", "l", "[b", "(c")
    q.check(0, "ZLEXCOUNT", "l", "+", "-")
    q.check(["b", "bb", "c"], "ZRANGEBYLEX", "l", "(a", "[c")
    q.check(["bb", "c"], "ZRANGEBYLEX", "l", "(a", "[c", "LIMIT", "1", "5")
    q.check(["d", "c"], "ZREVRANGEBYLEX", "l", "+", "(bb")
    q.check(["c"], "ZREVRANGEBYLEX", "l", "+", "-", "LIMIT", "1", "1")
    q.check(["d", "c", "bb", "b", "a"], "ZRANGE", "l", "+", "-", "BYLEX", "REV")
    for bad in ("a", "--", "++", ""):
        q.check(E("ERR min or max not valid string range item"), "ZLEXCOUNT", "l", bad, "+")
        q.check(E("ERR min or max not valid string range item"), "ZRANGEBYLEX", "l", "-", bad)
    q.check(E("ERR syntax error, WITHSCORES not supported in combination with BYLEX"),
            "ZRANGEBYLEX", "l", "-", "+", "WITHSCORES")
    q.check(2, "ZREMRANGEBYLEX", "l", "[bb", "(d")
    q.check(["a", "b", "d"], "ZRANGE", "l", "0", "-1")
    q.check(E("ERR min or max not valid string range item"), "ZREMRANGEBYLEX", "l", "a", "b")


def test_zrange_by_rank(q):
    q("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d")
    q.check(["a", "b", "c", "d"], "ZRANGE", "z", "0", "-1")
    q.check(["c", "d"], "ZRANGE", "z", "-2", "100")
    q.check(["a"], "ZRANGE", "z", "-100", "0")
    q.check([], "ZRANGE", "z", "3", "1")
    q.check([], "ZRANGE", "z", "4", "10")
    q.check([], "ZRANGE", "nokey", "0", "-1")
    q.check(["d", "c"], "ZRANGE", "z", "0", "1", "REV")
    q.check(["d", "c"], "ZREVRANGE", "z", "0", "1")
    q.check(q.pairs("b", "2", "c", "3"), "ZRANGE", "z", "1", "2", "WITHSCORES")
    q.check(q.pairs("d", "4"), "ZREVRANGE", "z", "0", "0", "WITHSCORES")
    q.check(q.pairs("d", "4"), "ZRANGE", "z", "0", "0", "withscores", "WITHSCORES", "rev")
    # Redis cannot tell LIMIT x -1 from no LIMIT on a rank range.
    q.check(["a", "b"], "ZRANGE", "z", "0", "1", "LIMIT", "5", "-1")
    limit_err = E("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
    q.check(limit_err, "ZRANGE", "z", "0", "1", "LIMIT", "0", "1")
    q.check(limit_err, "ZREVRANGE", "z", "0", "1", "LIMIT", "0", "2")
    q.check(E("ERR value is not an integer or out of range"), "ZRANGE", "z", "(1", "2")
    q.check(E("ERR syntax error"), "ZRANGE", "z", "0", "1", "REV", "REV")
    q.check(E("ERR syntax error"), "ZRANGE", "z", "0", "1", "BYSCORE", "BYLEX")
    q.check(E("ERR syntax error"), "ZRANGE", "z", "0", "1", "LIMIT", "0")
    q.check(E("ERR syntax error"), "ZRANGE", "z", "0", "1", "foo")
    q.check(E("ERR syntax error"), "ZRANGEBYSCORE", "z", "0", "1", "REV")
    q.check(E("ERR syntax error"), "ZRANGEBYSCORE", "z", "0", "1", "BYSCORE")


def test_zrange_by_score(q):
    q("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "-inf", "m", "+inf", "p")
    q.check(["a", "b", "c"], "ZRANGEBYSCORE", "z", "1", "3")
    q.check(["b", "c"], "ZRANGEBYSCORE", "z", "(1", "3")
    q.check(["m", "a"], "ZRANGEBYSCORE", "z", "-inf", "(2")
    q.check(q.pairs("c", "3", "d", "4", "p", "inf"),
            "ZRANGEBYSCORE", "z", "(2", "+inf", "WITHSCORES")
    q.check(["c", "b"], "ZREVRANGEBYSCORE", "z", "3", "(1")
    q.check(["c", "b"], "ZRANGE", "z", "3", "(1", "BYSCORE", "REV")
    q.check(["b", "c"], "ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "2", "2")
    q.check(["b", "c", "d", "p"], "ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "2", "-1")
    q.check([], "ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "-1", "2")
    q.check([], "ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "10", "2")
    q.check(["d", "c"], "ZREVRANGEBYSCORE", "z", "+inf", "-inf", "LIMIT", "1", "2")
    q.check(q.pairs("d", "4", "c", "3"),
            "ZRANGE", "z", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", "1", "2", "WITHSCORES")
    q.check([], "ZRANGEBYSCORE", "z", "3", "1")
    q.check([], "ZRANGEBYSCORE", "nokey", "1", "3")
    q.check(E("ERR min or max is not a float"), "ZRANGEBYSCORE", "z", "a", "1")
    q.check(E("ERR min or max is not a float"), "ZRANGE", "z", "a", "1", "BYSCORE")
    q.check(E("ERR value is not an integer or out of range"),
            "ZRANGEBYSCORE", "z", "0", "1", "LIMIT", "0", "x")


def test_zrangestore(q):
    q("ZADD", "z", "1", "a", "2", "b", "3", "c")
    q.check(2, "ZRANGESTORE", "d", "z", "0", "1")
    q.check(q.pairs("a", "1", "b", "2"), "ZRANGE", "d", "0", "-1", "WITHSCORES")
    q.check(2, "ZRANGESTORE", "d", "z", "(1", "+inf", "BYSCORE")
    q.check(["b", "c"], "ZRANGE", "d", "0", "-1")
    q.check(1, "ZRANGESTORE", "d", "z", "+", "[b", "BYLEX", "REV", "LIMIT", "0", "1")
    q.check(["c"], "ZRANGE", "d", "0", "-1")
    # An empty result deletes the destination, whatever it held.
    q("SET", "str", "x")
    q.check(0, "ZRANGESTORE", "str", "z", "5", "10")
    q.check(0, "EXISTS", "str")
    q.check(0, "ZRANGESTORE", "d", "nokey", "0", "-1")
    q.check(0, "EXISTS", "d")
    q.check(E("ERR syntax error"), "ZRANGESTORE", "d", "z", "0", "1", "WITHSCORES")
    q.check(3, "ZRANGESTORE", "z", "z", "0", "-1")


def test_zrem_and_remrange(q):
    q("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e")
    q.check(2, "ZREM", "z", "a", "x", "b", "a")
    q.check(0, "ZREM", "nokey", "a")
    q.check(1, "ZREMRANGEBYRANK", "z", "-1", "-1")
    q.check(0, "ZREMRANGEBYRANK", "z", "5", "10")
    q.check(1, "ZREMRANGEBYSCORE", "z", "(3", "4")
    q.check(0, "ZREMRANGEBYSCORE", "nokey", "0", "1")
    q.check(["c"], "ZRANGE", "z", "0", "-1")
    q.check(1, "ZREM", "z", "c")
    q.check(0, "EXISTS", "z")
    q.check(E("ERR value is not an integer or out of range"), "ZREMRANGEBYRANK", "z", "a", "1")
    q.check(E("ERR min or max is not a float"), "ZREMRANGEBYSCORE", "z", "a", "1")


def test_zpop(q):
    q("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d")
    q.check(["a", D("1")], "ZPOPMIN", "z")
    q.check(["d", D("4")], "ZPOPMAX", "z")
    q.check(q.pairs("b", "2"), "ZPOPMIN", "z", "1")
    q.check([], "ZPOPMIN", "z", "0")
    q.check(q.pairs("c", "3"), "ZPOPMAX", "z", "10")
    q.check(0, "EXISTS", "z")
    q.check([], "ZPOPMIN", "z")
    q.check([], "ZPOPMAX", "z", "3")
    q.check(E("ERR value is out of range, must be positive"), "ZPOPMIN", "z", "-1")
    q.check(E("ERR value is out of range, must be positive"), "ZPOPMIN", "z", "a")


def test_zmpop(q):
    q("ZADD", "z1", "1", "a", "2", "b", "3", "c")
    q.check(NILA, "ZMPOP", "1", "nokey", "MIN")
    q.check(["z1", q.pairs("a", "1", nested=True)], "ZMPOP", "2", "nokey", "z1", "MIN")
    q.check(["z1", q.pairs("c", "3", "b", "2", nested=True)],
            "ZMPOP", "1", "z1", "max", "COUNT", "10")
    q.check(0, "EXISTS", "z1")
    for args, text in ((["0", "z", "MIN"], "ERR numkeys should be greater than 0"),
                       (["-1", "z", "MIN"], "ERR numkeys should be greater than 0"),
                       (["a", "z", "MIN"], "ERR numkeys should be greater than 0"),
                       (["1", "z", "foo"], "ERR syntax error"),
                       (["1", "z", "MIN", "COUNT", "0"], "ERR count should be greater than 0"),
                       (["1", "z", "MIN", "COUNT", "1", "COUNT", "2"], "ERR syntax error"),
                       (["1", "z", "MIN", "foo", "1"], "ERR syntax error"),
                       (["2", "z"], "ERR wrong number of arguments for 'zmpop' command")):
        q.check(E(text), "ZMPOP", *args)


def test_scores_formatting(q):
    q("ZADD", "z", "1.5", "a", "3", "b", "-0", "c", "1e20", "d", "-inf", "e", "0", "b2")
    q.check(q.pairs("e", "-inf", "b2", "0", "c", "0", "a", "1.5", "b", "3", "d", "1e+20"),
            "ZRANGE", "z", "0", "-1", "WITHSCORES")
    q.check(D("0"), "ZSCORE", "z", "c")
    q.check(D("1.5"), "ZSCORE", "z", "a")
    q.check(D("1e+20"), "ZSCORE", "z", "d")
    q.check(D("-inf"), "ZSCORE", "z", "e")


@pytest.mark.sluice_only("follows https://redis.io/commands/zscore/ (7.2+ prints the shortest round-trip double)")
def test_scores_shortest_repr(q):
    q("ZADD", "z", "0.1", "a")
    q.check(D("0.1"), "ZSCORE", "z", "a")
    q.check(D("0.30000000000000004"), "ZINCRBY", "z", "0.2", "a")


def test_encoding(r, q):
    q("ZADD", "z", "1", "a")
    assert r.object("encoding", "z") == b"listpack"
    q("ZADD", "long", "1", "x" * 65)
    assert r.object("encoding", "long") == b"skiplist"
    for i in range(128):
        q("ZADD", "big", str(i), "m%d" % i)
    assert r.object("encoding", "big") == b"listpack"
    q("ZADD", "big", "200", "one-more")
    assert r.object("encoding", "big") == b"skiplist"
    q("ZREMRANGEBYRANK", "big", "0", "-3")
    assert r.object("encoding", "big") == b"skiplist"
    assert r.type("z") == b"zset"


def test_encoding_config(start_server, kind):
    srv = start_server(kind)
    r = srv.client()
    assert r.config_get("zset-max-listpack-*") == {
        b"zset-max-listpack-entries": b"128", b"zset-max-listpack-value": b"64"} or \
        r.config_get("zset-max-listpack-*") == {
        "zset-max-listpack-entries": "128", "zset-max-listpack-value": "64"}
    assert r.config_set("zset-max-listpack-entries", "2")
    r.zadd("z", {"a": 1, "b": 2})
    assert r.object("encoding", "z") == b"listpack"
    r.zadd("z", {"c": 3})
    assert r.object("encoding", "z") == b"skiplist"
    r.zrem("z", "c")
    assert r.object("encoding", "z") == b"skiplist"
    # A reload re-judges the set by its contents.
    r.execute_command("DEBUG", "RELOAD")
    assert r.object("encoding", "z") == b"listpack"
    assert r.config_set("zset-max-listpack-entries", "0")
    r.zadd("y", {"a": 1})
    assert r.object("encoding", "y") == b"skiplist"
    with pytest.raises(Exception, match="argument couldn't be parsed into an integer"):
        r.config_set("zset-max-listpack-entries", "abc")
    with pytest.raises(Exception, match="argument must be a memory value"):
        r.config_set("zset-max-listpack-value", "abc")


# ---------------------------------------------------------------------------
# Blocking pops

def blocked_count(r):
    return r.info("clients")["blocked_clients"]


class Waiter:
    def __init__(self, handle, protocol, *command):
        self.q = Q(handle, protocol)
        self.reply = None
        self.error = None
        self.thread = threading.Thread(target=self._run, args=(command,), daemon=True)
        self.started = time.monotonic()
        self.thread.start()

    def _run(self, command):
        try:
            self.reply = self.q(*command)
        except Exception as exc:
            self.error = exc
        self.elapsed = time.monotonic() - self.started

    def result(self):
        self.thread.join(3)
        assert not self.thread.is_alive(), "not answered in time"
        assert self.error is None, self.error
        return self.reply

    def close(self):
        self.q.close()
        self.thread.join(3)


def test_bzpop_immediate_and_timeout(r, q):
    q("ZADD", "z", "1", "a", "2", "b")
    q.check(["z", "a", D("1")], "BZPOPMIN", "nokey", "z", "0")
    q.check(["z", "b", D("2")], "BZPOPMAX", "z", "0.01")
    w = Waiter(r.handle, q.protocol, "BZPOPMIN", "z", "0.1")
    assert w.result() == q.enc(NILA)
    assert 0.09 <= w.elapsed < 3
    w.close()
    w = Waiter(r.handle, q.protocol, "BZMPOP", "0.1", "1", "z", "MIN")
    assert w.result() == q.enc(NILA)
    w.close()
    q.check(E("ERR timeout is negative"), "BZPOPMIN", "z", "-1")
    q.check(E("ERR timeout is not a float or out of range"), "BZPOPMIN", "z", "abc")
    q.check(E("ERR timeout is not a float or out of range"), "BZMPOP", "abc", "1", "z", "MIN")
    q.check(E("ERR numkeys should be greater than 0"), "BZMPOP", "0", "0", "z", "MIN")


def test_bzpop_wakes_in_fifo_order(r, q):
    first = Waiter(r.handle, q.protocol, "BZPOPMIN", "z", "5")
    assert wait_until(lambda: blocked_count(r) == 1)
    second = Waiter(r.handle, q.protocol, "BZPOPMAX", "other", "z", "5")
    assert wait_until(lambda: blocked_count(r) == 2)
    q.check(3, "ZADD", "z", "1", "a", "2", "b", "3", "c")
    assert first.result() == q.enc(["z", "a", D("1")])
    assert second.result() == q.enc(["z", "c", D("3")])
    q.check(["b"], "ZRANGE", "z", "0", "-1")
    first.close()
    second.close()


def test_bzmpop_wakes_on_zadd_in_exec(r, q):
    w = Waiter(r.handle, q.protocol, "BZMPOP", "5", "2", "x", "y", "MAX", "COUNT", "2")
    assert wait_until(lambda: blocked_count(r) == 1)
    q("MULTI")
    q("ZADD", "y", "1", "a", "2", "b", "3", "c")
    q("ZINCRBY", "y", "10", "a")
    q.check([3, D("11")], "EXEC")
    assert w.result() == q.enc(["y", q.pairs("a", "11", "c", "3", nested=True)])
    w.close()


def test_bzpop_in_multi_does_not_block(q):
    q("MULTI")
    q("BZPOPMIN", "nokey", "0")
    q("BZMPOP", "0", "1", "nokey", "MIN")
    q.check([NILA, NILA], "EXEC")
