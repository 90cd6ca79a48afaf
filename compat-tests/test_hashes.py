"""Hashes against Redis and Sluice: the commands, their error texts and
the exact RESP2/RESP3 reply bytes (through a raw socket). Field expiry
(7.4) and HGETDEL/HGETEX/HSETEX (8.0) are newer than the Redis 7.0 these
run against, so those cases are sluice_only."""

import pytest

from test_zsets import E, Q


@pytest.fixture
def q(r, protocol):
    conn = Q(r.handle, protocol)
    yield conn
    conn.close()


WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def test_hset_hget_and_friends(q):
    q.check(2, "HSET", "h", "a", "1", "b", "2")
    q.check(1, "HSET", "h", "a", "3", "c", "")
    q.check("3", "HGET", "h", "a")
    q.check(None, "HGET", "h", "zz")
    q.check(None, "HGET", "nokey", "a")
    q.check(["3", None, ""], "HMGET", "h", "a", "zz", "c")
    q.check([None, None], "HMGET", "nokey", "a", "b")
    q.check(3, "HLEN", "h")
    q.check(0, "HLEN", "nokey")
    q.check(1, "HEXISTS", "h", "c")
    q.check(0, "HEXISTS", "h", "zz")
    q.check(1, "HSTRLEN", "h", "a")
    q.check(0, "HSTRLEN", "h", "zz")
    q.check(0, "HSETNX", "h", "a", "x")
    q.check(1, "HSETNX", "h", "d", "x")
    assert q("HMSET", "h", "e", "5", "f", "6") == b"+OK\r\n"
    q.check(["a", "b", "c", "d", "e", "f"], "HKEYS", "h")
    q.check(["3", "2", "", "x", "5", "6"], "HVALS", "h")
    q.check(2, "HDEL", "h", "a", "b", "zz")
    q.check(0, "HDEL", "nokey", "a")
    q.check(4, "HDEL", "h", "c", "d", "e", "f")
    q.check(0, "EXISTS", "h")
    q.check([], "HKEYS", "nokey")


def test_hgetall_shape(q):
    q.check(1, "HSET", "h", "a", "1")
    got = q("HGETALL", "h")
    if q.protocol == 3:
        assert got == b"%1\r\n$1\r\na\r\n$1\r\n1\r\n", got
    else:
        assert got == b"*2\r\n$1\r\na\r\n$1\r\n1\r\n", got
    got = q("HGETALL", "nokey")
    assert got == (b"%0\r\n" if q.protocol == 3 else b"*0\r\n"), got


def test_hincrby_and_hincrbyfloat(q):
    q.check(5, "HINCRBY", "h", "n", "5")
    q.check(-5, "HINCRBY", "h", "n", "-10")
    q.check("2.5", "HINCRBYFLOAT", "h", "f", "2.5")
    q.check("3", "HINCRBYFLOAT", "h", "f", "0.5")
    q.check(1, "HSET", "h", "s", "abc")
    q.check(E("ERR hash value is not an integer"), "HINCRBY", "h", "s", "1")
    q.check(E("ERR hash value is not a float"), "HINCRBYFLOAT", "h", "s", "1")
    q.check(E("ERR value is not an integer or out of range"), "HINCRBY", "h", "n", "x")
    q.check(E("ERR value is not a valid float"), "HINCRBYFLOAT", "h", "n", "x")
    q.check(E("ERR value is NaN or Infinity"), "HINCRBYFLOAT", "h", "n", "inf")
    q.check(0, "HSET", "h", "n", "9223372036854775807")
    q.check(E("ERR increment or decrement would overflow"), "HINCRBY", "h", "n", "1")
    q.check(1, "HSET", "h", "i", "inf")
    q.check(E("ERR increment would produce NaN or Infinity"), "HINCRBYFLOAT", "h", "i", "1")


@pytest.mark.parametrize("args", [
    ["HGET", "s", "a"], ["HSET", "s", "a", "1"], ["HMGET", "s", "a"], ["HGETALL", "s"],
    ["HDEL", "s", "a"], ["HLEN", "s"], ["HEXISTS", "s", "a"], ["HKEYS", "s"],
    ["HVALS", "s"], ["HSTRLEN", "s", "a"], ["HINCRBY", "s", "a", "1"],
    ["HINCRBYFLOAT", "s", "a", "1"], ["HSETNX", "s", "a", "1"], ["HRANDFIELD", "s"],
    ["HSCAN", "s", "0"],
])
def test_wrongtype(q, args):
    assert q("SET", "s", "v") == b"+OK\r\n"
    q.check(E(WRONGTYPE), *args)


@pytest.mark.parametrize("args, text", [
    (["HSET", "h", "a"], "ERR wrong number of arguments for 'hset' command"),
    (["HSET", "h", "a", "1", "b"], "ERR wrong number of arguments for 'hset' command"),
    (["HMSET", "h", "a", "1", "b"], "ERR wrong number of arguments for 'hmset' command"),
    (["HGET", "h"], "ERR wrong number of arguments for 'hget' command"),
    (["HSETNX", "h", "a"], "ERR wrong number of arguments for 'hsetnx' command"),
    (["HRANDFIELD", "h", "1", "WITHVALUES", "x"], "ERR syntax error"),
    (["HRANDFIELD", "h", "1", "x"], "ERR syntax error"),
    (["HRANDFIELD", "h", "x"], "ERR value is not an integer or out of range"),
    (["HRANDFIELD", "h", "-9223372036854775808"],
     "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"),
    (["HRANDFIELD", "h", "-9223372036854775807", "WITHVALUES"], "ERR value is out of range"),
    (["HSCAN", "h", "x"], "ERR invalid cursor"),
    (["HSCAN", "h", "0", "COUNT", "0"], "ERR syntax error"),
    (["HSCAN", "h", "0", "COUNT", "x"], "ERR value is not an integer or out of range"),
    (["HSCAN", "h", "0", "MATCH"], "ERR syntax error"),
])
def test_errors(q, args, text):
    q.check(1, "HSET", "h", "f", "v")
    q.check(E(text), *args)


def test_hrandfield(q):
    q.check(None, "HRANDFIELD", "nokey")
    q.check([], "HRANDFIELD", "nokey", "5")
    q.check(1, "HSET", "h", "a", "1")
    q.check("a", "HRANDFIELD", "h")
    q.check(["a"], "HRANDFIELD", "h", "5")
    q.check(["a", "a", "a"], "HRANDFIELD", "h", "-3")
    q.check([], "HRANDFIELD", "h", "0")
    if q.protocol == 3:
        q.check([["a", "1"], ["a", "1"]], "HRANDFIELD", "h", "-2", "WITHVALUES")
    else:
        q.check(["a", "1", "a", "1"], "HRANDFIELD", "h", "-2", "WITHVALUES")


def test_hscan_small(q):
    q.check(3, "HSET", "h", "ab", "1", "ac", "2", "b", "3")
    q.check(["0", ["ab", "1", "ac", "2", "b", "3"]], "HSCAN", "h", "0")
    q.check(["0", ["ab", "1", "ac", "2"]], "HSCAN", "h", "0", "MATCH", "a*")
    q.check(["0", []], "HSCAN", "nokey", "0")


def test_encodings(r):
    r.hset("h", "a", "1")
    assert r.object("encoding", "h") == b"listpack"
    r.hset("h", "long", "x" * 65)
    assert r.object("encoding", "h") == b"hashtable"
    r.hset("many", mapping={f"f{i}": i for i in range(513)})
    assert r.object("encoding", "many") == b"hashtable"
    r.hset("fits", mapping={f"f{i}": i for i in range(512)})
    assert r.object("encoding", "fits") == b"listpack"
    assert r.type("h") == b"hash"


@pytest.mark.sluice_only("HSCAN NOVALUES is Redis 7.4")
def test_hscan_novalues(q):
    q.check(2, "HSET", "h", "a", "1", "b", "2")
    q.check(["0", ["a", "b"]], "HSCAN", "h", "0", "NOVALUES")


@pytest.mark.sluice_only("hash field expiry is Redis 7.4")
def test_field_expiry(q):
    q.check([-2], "HEXPIRE", "h", "100", "FIELDS", "1", "a")
    q.check(2, "HSET", "h", "a", "1", "b", "2")
    q.check([1, -2], "HEXPIRE", "h", "100", "FIELDS", "2", "a", "zz")
    q.check([0], "HEXPIRE", "h", "100", "NX", "FIELDS", "1", "a")
    q.check([0], "HEXPIRE", "h", "100", "GT", "FIELDS", "1", "b")
    q.check([100, -1, -2], "HTTL", "h", "FIELDS", "3", "a", "b", "zz")
    q.check([1, -1], "HPERSIST", "h", "FIELDS", "2", "a", "b")
    q.check([2], "HPEXPIRE", "h", "0", "FIELDS", "1", "a")
    q.check(["b"], "HKEYS", "h")
    q.check(E("ERR Parameter `numFields` should be greater than 0"),
            "HEXPIRE", "h", "1", "FIELDS", "0", "a")
    q.check(E("ERR Number of fields must be a positive integer"),
            "HTTL", "h", "FIELDS", "0", "a")
    q.check(E("ERR The `numfields` parameter must match the number of arguments"),
            "HTTL", "h", "FIELDS", "2", "a")
    q.check(E("ERR Mandatory argument FIELDS is missing or not at the right position"),
            "HTTL", "h", "FELDS", "1", "a")


@pytest.mark.sluice_only("HGETDEL, HGETEX and HSETEX are Redis 8.0")
def test_getdel_getex_setex(q):
    q.check(1, "HSETEX", "h", "FNX", "PX", "100000", "FIELDS", "2", "a", "1", "b", "2")
    q.check(0, "HSETEX", "h", "FNX", "FIELDS", "1", "a", "9")
    q.check(["1", None], "HGETEX", "h", "PERSIST", "FIELDS", "2", "a", "zz")
    q.check([-1], "HTTL", "h", "FIELDS", "1", "a")
    q.check(["1", "2"], "HGETDEL", "h", "FIELDS", "2", "a", "b")
    q.check(0, "EXISTS", "h")
