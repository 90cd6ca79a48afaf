"""Sorted-set algebra and sampling against Redis and Sluice: ZUNION, ZINTER,
ZDIFF, their STORE forms, ZINTERCARD, ZRANDMEMBER and ZSCAN, with exact
RESP2/RESP3 reply bytes and error texts."""

import pytest

from test_zsets import D, E, q  # noqa: F401  (q is a fixture)


def setup_sets(q):
    q("ZADD", "z1", "1", "a", "2", "b", "3", "c")
    q("ZADD", "z2", "10", "b", "20", "c", "30", "d")
    q("ZADD", "z3", "5", "c", "6", "e")


def test_zunion(q):
    setup_sets(q)
    q.check(["a", "e", "b", "c", "d"], "ZUNION", "3", "z1", "z2", "z3")
    q.check(q.pairs("a", "1", "e", "6", "b", "12", "c", "28", "d", "30"),
            "ZUNION", "3", "z1", "z2", "z3", "WITHSCORES")
    q.check(q.pairs("a", "2", "b", "4", "c", "5", "e", "6", "d", "15"),
            "ZUNION", "3", "z1", "z2", "z3", "WEIGHTS", "2", "0.5", "1", "AGGREGATE", "MIN",
            "WITHSCORES")
    q.check(q.pairs("a", "1", "e", "6", "b", "10", "c", "20", "d", "30"),
            "zunion", "3", "z1", "z2", "z3", "aggregate", "max", "withscores")
    # Missing keys are empty sets; the same key twice counts twice.
    q.check(q.pairs("a", "2", "b", "4", "c", "6"),
            "ZUNION", "3", "z1", "nokey", "z1", "WITHSCORES")
    q.check([], "ZUNION", "1", "nokey")


def test_zinter(q):
    setup_sets(q)
    q.check(["b", "c"], "ZINTER", "2", "z1", "z2")
    q.check(q.pairs("b", "12", "c", "23"), "ZINTER", "2", "z1", "z2", "WITHSCORES")
    q.check(q.pairs("c", "28"), "ZINTER", "3", "z1", "z2", "z3", "WITHSCORES")
    q.check(q.pairs("c", "-17", "b", "-8"),
            "ZINTER", "2", "z1", "z2", "WEIGHTS", "1", "-1", "WITHSCORES")
    q.check(q.pairs("b", "2", "c", "3"),
            "ZINTER", "2", "z1", "z2", "AGGREGATE", "MIN", "WITHSCORES")
    q.check([], "ZINTER", "2", "z1", "nokey")
    q.check(q.pairs("a", "2", "b", "4", "c", "6"), "ZINTER", "2", "z1", "z1", "WITHSCORES")


def test_zdiff(q):
    setup_sets(q)
    q.check(["a"], "ZDIFF", "2", "z1", "z2")
    q.check(q.pairs("a", "1", "b", "2"), "ZDIFF", "2", "z1", "z3", "WITHSCORES")
    q.check(q.pairs("a", "1", "b", "2", "c", "3"), "ZDIFF", "2", "z1", "nokey", "WITHSCORES")
    q.check([], "ZDIFF", "2", "nokey", "z1")
    q.check(["a"], "ZDIFF", "3", "z1", "z2", "z3")
    q.check(["e"], "ZDIFF", "3", "z3", "z1", "z2")
    q.check([], "ZDIFF", "2", "z1", "z1")


def test_infinities_and_nan_become_zero(q):
    q("ZADD", "p", "inf", "x", "1", "y")
    q("ZADD", "n", "-inf", "x")
    # inf * 0 and inf + -inf are NaN in IEEE arithmetic; Redis stores 0.
    q.check(q.pairs("x", "0", "y", "0"), "ZUNION", "1", "p", "WEIGHTS", "0", "WITHSCORES")
    q.check(q.pairs("x", "0", "y", "1"), "ZUNION", "2", "p", "n", "WITHSCORES")
    q.check(q.pairs("x", "0"), "ZINTER", "2", "p", "n", "WITHSCORES")
    q.check(q.pairs("x", "inf", "y", "inf"),
            "ZUNION", "1", "p", "WEIGHTS", "inf", "WITHSCORES")


def test_store_forms(q):
    setup_sets(q)
    q.check(5, "ZUNIONSTORE", "dst", "3", "z1", "z2", "z3", "WEIGHTS", "1", "1", "2")
    q.check(q.pairs("a", "1", "b", "12", "e", "12", "d", "30", "c", "33"),
            "ZRANGE", "dst", "0", "-1", "WITHSCORES")
    # The destination is replaced whole, TTL included.
    q("EXPIRE", "dst", "100")
    q.check(2, "ZINTERSTORE", "dst", "2", "z1", "z2", "AGGREGATE", "MAX")
    q.check(q.pairs("b", "10", "c", "20"), "ZRANGE", "dst", "0", "-1", "WITHSCORES")
    q.check(-1, "TTL", "dst")
    q.check(1, "ZDIFFSTORE", "dst", "2", "z1", "z2")
    q.check(q.pairs("a", "1"), "ZRANGE", "dst", "0", "-1", "WITHSCORES")
    # A source may be the destination.
    q.check(4, "ZUNIONSTORE", "z1", "2", "z1", "z3")
    q.check(q.pairs("a", "1", "b", "2", "e", "6", "c", "8"),
            "ZRANGE", "z1", "0", "-1", "WITHSCORES")
    # An empty result deletes the destination (of any type).
    q("SET", "str", "x")
    q.check(0, "ZINTERSTORE", "str", "2", "z1", "nokey")
    q.check(0, "EXISTS", "str")
    q("SET", "str", "x")
    q.check(2, "ZDIFFSTORE", "str", "1", "z3")
    assert q("TYPE", "str") == b"+zset\r\n"


def test_store_encoding_follows_the_result(q):
    q("ZADD", "small", "1", "a")
    q.check(1, "ZUNIONSTORE", "dst", "1", "small")
    q.check("listpack", "OBJECT", "ENCODING", "dst")
    args = []
    for i in range(200):
        args += [str(i), f"m{i}"]
    q("ZADD", "big", *args)
    q.check(200, "ZUNIONSTORE", "dst", "1", "big")
    q.check("skiplist", "OBJECT", "ENCODING", "dst")


def test_zintercard(q):
    setup_sets(q)
    q.check(2, "ZINTERCARD", "2", "z1", "z2")
    q.check(1, "ZINTERCARD", "2", "z1", "z2", "LIMIT", "1")
    q.check(2, "ZINTERCARD", "2", "z1", "z2", "LIMIT", "0")
    q.check(2, "ZINTERCARD", "2", "z1", "z2", "limit", "10")
    q.check(1, "ZINTERCARD", "3", "z1", "z2", "z3")
    q.check(0, "ZINTERCARD", "2", "z1", "nokey")


@pytest.mark.parametrize("args, text", [
    (["ZUNION", "0", "z1"], "ERR at least 1 input key is needed for 'zunion' command"),
    (["ZINTER", "-1", "z1"], "ERR at least 1 input key is needed for 'zinter' command"),
    (["ZDIFF", "0", "z1"], "ERR at least 1 input key is needed for 'zdiff' command"),
    (["ZUNIONSTORE", "d", "0", "z1"],
     "ERR at least 1 input key is needed for 'zunionstore' command"),
    (["ZINTERCARD", "0", "z1"], "ERR at least 1 input key is needed for 'zintercard' command"),
    (["ZUNION", "x", "z1"], "ERR value is not an integer or out of range"),
    (["ZUNION", "2", "z1"], "ERR syntax error"),
    (["ZINTERCARD", "3", "z1"], "ERR syntax error"),
    (["ZUNION", "2", "z1", "z2", "WEIGHTS", "1"], "ERR syntax error"),
    (["ZUNION", "1", "z1", "WEIGHTS", "x"], "ERR weight value is not a float"),
    (["ZUNION", "1", "z1", "WEIGHTS", "nan"], "ERR weight value is not a float"),
    (["ZUNION", "1", "z1", "AGGREGATE", "avg"], "ERR syntax error"),
    (["ZUNION", "1", "z1", "AGGREGATE"], "ERR syntax error"),
    (["ZDIFF", "1", "z1", "WEIGHTS", "1"], "ERR syntax error"),
    (["ZDIFF", "1", "z1", "AGGREGATE", "SUM"], "ERR syntax error"),
    (["ZUNIONSTORE", "d", "1", "z1", "WITHSCORES"], "ERR syntax error"),
    (["ZINTERCARD", "1", "z1", "WITHSCORES"], "ERR syntax error"),
    (["ZINTERCARD", "1", "z1", "WEIGHTS", "1"], "ERR syntax error"),
    (["ZINTERCARD", "1", "z1", "LIMIT", "-1"], "ERR LIMIT can't be negative"),
    (["ZINTERCARD", "1", "z1", "LIMIT", "x"], "ERR LIMIT can't be negative"),
    (["ZINTERCARD", "1", "z1", "FOO"], "ERR syntax error"),
])
def test_setop_errors(q, args, text):
    setup_sets(q)
    q.check(E(text), *args)


def test_wrongtype_comes_before_option_errors(q):
    setup_sets(q)
    q("SET", "s", "x")
    wrongtype = "WRONGTYPE Operation against a key holding the wrong kind of value"
    q.check(E(wrongtype), "ZUNION", "2", "z1", "s")
    q.check(E(wrongtype), "ZUNION", "2", "z1", "s", "AGGREGATE", "avg")
    q.check(E(wrongtype), "ZINTERSTORE", "d", "2", "s", "z1", "BOGUS")
    q.check(E(wrongtype), "ZINTERCARD", "1", "s", "LIMIT", "-1")
    q.check(E(wrongtype), "ZDIFF", "2", "nokey", "s")
    # Overwriting a string destination is fine.
    q.check(3, "ZUNIONSTORE", "s", "1", "z1")


def test_zrandmember(q):
    q("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e")
    members = {"a": "1", "b": "2", "c": "3", "d": "4", "e": "5"}
    reply = q("ZRANDMEMBER", "z")
    assert any(reply == q.enc(m) for m in members), reply
    q.check(None, "ZRANDMEMBER", "nokey")
    q.check([], "ZRANDMEMBER", "nokey", "3")
    q.check([], "ZRANDMEMBER", "z", "0")
    q.check([], "ZRANDMEMBER", "nokey", "-3", "WITHSCORES")
    # A count at least the size gives every member once.
    for count in ("5", "100"):
        got = q("ZRANDMEMBER", "z", count, "WITHSCORES")
        assert sorted(_pairs(got, q.protocol)) == sorted(members.items()), got
    # Smaller positive counts: distinct members, with their scores.
    for _ in range(20):
        got = _pairs(q("ZRANDMEMBER", "z", "3", "WITHSCORES"), q.protocol)
        assert len(got) == 3 and len({m for m, _ in got}) == 3, got
        assert all(members[m] == s for m, s in got), got
    # Negative counts: that many picks, repeats allowed.
    got = _pairs(q("ZRANDMEMBER", "z", "-20", "WITHSCORES"), q.protocol)
    assert len(got) == 20 and all(members[m] == s for m, s in got), got
    got = _bulks(q("ZRANDMEMBER", "z", "-7"))
    assert len(got) == 7 and set(got) <= set(members), got


@pytest.mark.parametrize("args, text", [
    (["z", "x"], "ERR value is not an integer or out of range"),
    (["z", "1", "WITHSCORE"], "ERR syntax error"),
    (["z", "1", "WITHSCORES", "x"], "ERR syntax error"),
    (["z", "-9223372036854775808"],
     "ERR value is out of range, value must between -9223372036854775807 and "
     "9223372036854775807"),
    (["z", "-9223372036854775807", "WITHSCORES"], "ERR value is out of range"),
    (["z", "9223372036854775807", "WITHSCORES"], "ERR value is out of range"),
])
def test_zrandmember_errors(q, args, text):
    q("ZADD", "z", "1", "a")
    q.check(E(text), "ZRANDMEMBER", *args)


def test_zscan_small_set_comes_whole(q):
    q("ZADD", "z", "3", "c", "1", "a", "2", "b")
    q.check(["0", ["a", "1", "b", "2", "c", "3"]], "ZSCAN", "z", "0")
    q.check(["0", ["a", "1"]], "ZSCAN", "z", "0", "MATCH", "a*", "COUNT", "1")
    q.check(["0", []], "ZSCAN", "nokey", "0")
    # Options are only judged when the key holds a sorted set.
    q.check(["0", []], "ZSCAN", "nokey", "0", "COUNT", "0")
    q.check(E("ERR syntax error"), "ZSCAN", "z", "0", "COUNT", "0")
    q.check(E("ERR syntax error"), "ZSCAN", "z", "0", "MATCH")
    q.check(E("ERR syntax error"), "ZSCAN", "z", "0", "NOSCORES")
    q.check(E("ERR value is not an integer or out of range"), "ZSCAN", "z", "0", "COUNT", "x")
    q.check(E("ERR invalid cursor"), "ZSCAN", "z", "x")
    q("SET", "s", "v")
    q.check(E("WRONGTYPE Operation against a key holding the wrong kind of value"),
            "ZSCAN", "s", "0")


def test_zscan_big_set_iterates_every_member_once(r):
    members = {f"m{i}": i for i in range(300)}
    r.zadd("big", members)
    seen = {}
    cursor, rounds = 0, 0
    while True:
        cursor, batch = r.zscan("big", cursor, count=20)
        for m, s in batch:
            assert m.decode() not in seen, m
            seen[m.decode()] = s
        rounds += 1
        if cursor == 0:
            break
        assert rounds < 1000
    assert seen == {m: float(s) for m, s in members.items()}
    assert rounds > 1, "a big set comes back in several calls"
    # MATCH filters; every member still comes exactly once.
    matched = sorted(m.decode() for m, _ in r.zscan_iter("big", match="m1*", count=50))
    assert matched == sorted(m for m in members if m.startswith("m1"))


def _bulks(raw):
    """The bulk strings of a flat array reply, decoded."""
    out = []
    lines = raw.split(b"\r\n")
    i = 1
    while i < len(lines) - 1:
        if lines[i].startswith(b"$"):
            out.append(lines[i + 1].decode())
            i += 2
        else:
            i += 1
    return out


def _pairs(raw, protocol):
    """(member, score text) pairs from a WITHSCORES reply in either
    protocol (RESP3 scores are doubles, ",<text>")."""
    out, member = [], None
    for line in raw.split(b"\r\n")[1:]:
        if line.startswith(b"$") or line.startswith(b"*") or not line:
            continue
        text = line.decode()
        if text.startswith(","):
            out.append((member, text[1:]))
            member = None
        elif member is None:
            member = text
        else:
            out.append((member, text))
            member = None
    return out


def test_zadd_that_changes_nothing_leaves_watchers_alone(r):
    """A ZADD that changes no score must not abort a WATCHing transaction
    (a delay-queue producer re-scheduling a job at the same time)."""
    r.zadd("delayed", {"job": 100})
    pipe = r.pipeline(transaction=True)
    pipe.watch("delayed")
    assert r.zadd("delayed", {"job": 100}) == 0
    assert r.zadd("delayed", {"job": 50}, xx=True, gt=True) == 0
    assert r.zadd("delayed", {"new": 1}, xx=True) == 0
    pipe.multi()
    pipe.zrem("delayed", "job")
    assert pipe.execute() == [1]
    # A change does abort it.
    r.zadd("delayed", {"job": 100})
    pipe = r.pipeline(transaction=True)
    pipe.watch("delayed")
    assert r.zadd("delayed", {"job": 101}) == 0
    pipe.multi()
    pipe.zrem("delayed", "job")
    with pytest.raises(Exception, match="Watched variable changed"):
        pipe.execute()


def test_zadd_repeated_member_in_one_command(q):
    q.check(2, "ZADD", "nz", "CH", "1", "a", "2", "a")
    q.check(1, "ZADD", "nz2", "1", "a", "2", "a")
    q.check(q.pairs("a", "2"), "ZRANGE", "nz2", "0", "-1", "WITHSCORES")
    q.check(D("5"), "ZADD", "nz3", "INCR", "5", "a")
