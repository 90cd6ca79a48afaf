"""String commands: the same cases against real Redis and Sluice.

TTL values are read with PTTL when the server has it and otherwise observed
through expiry itself (short PX times and a sleep), so these tests do not
depend on the generic-keys family. Type errors need a key of another type:
those tests create a list and skip while the server has no list commands.
"""

import time

import pytest
import redis


def err(r, *args):
    """Runs a command that must fail; returns the error text as redis-py
    shows it (it drops an `ERR ` prefix)."""
    with pytest.raises(redis.ResponseError) as excinfo:
        r.execute_command(*args)
    return str(excinfo.value)


def pttl(r, key):
    try:
        return r.pttl(key)
    except redis.ResponseError as e:
        if "unknown command" in str(e):
            pytest.skip("server has no PTTL yet")
        raise


def make_list(r, key):
    try:
        r.rpush(key, b"x")
    except redis.ResponseError as e:
        if "unknown command" in str(e):
            pytest.skip("server has no list type yet")
        raise


INVALID_EXPIRE = "invalid expire time in '{}' command"
NOT_INT = "value is not an integer or out of range"
NOT_FLOAT = "value is not a valid float"
SYNTAX = "syntax error"
TOO_BIG = "string exceeds maximum allowed size (proto-max-bulk-len)"


def test_get_set_binary_and_empty(r):
    assert r.get(b"missing") is None
    key = b"k\x00\xff\r\n"
    value = b"\x00\xff\x01v\r\n"
    assert r.set(key, value) is True
    assert r.get(key) == value
    assert r.strlen(key) == len(value)
    assert r.set(b"e", b"") is True
    assert r.get(b"e") == b""
    assert err(r, "GET", "a", "b") == "wrong number of arguments for 'get' command"


def test_big_value_round_trip(r):
    value = bytes(i * 7 % 256 for i in range(1024 * 1024))
    assert r.set(b"big", value) is True
    assert r.get(b"big") == value
    assert r.append(b"big", b"xyz") == len(value) + 3
    assert r.getrange(b"big", -3, -1) == b"xyz"


def test_set_nx_xx_get(r):
    assert r.set(b"k", b"1", xx=True) is None
    assert r.get(b"k") is None
    assert r.set(b"k", b"1", nx=True) is True
    assert r.set(b"k", b"2", nx=True) is None
    assert r.get(b"k") == b"1"
    assert r.set(b"k", b"3", xx=True) is True
    assert r.set(b"k", b"4", get=True) == b"3"
    # get=True tells redis-py's reply callback to hand back the value.
    assert r.execute_command("SET", "k", "5", "NX", "GET", get=True) == b"4"
    assert r.get(b"k") == b"4"
    assert r.execute_command("SET", "nope", "x", "XX", "GET", get=True) is None
    assert r.get(b"nope") is None
    assert r.set(b"new", b"x", get=True) is None
    assert r.get(b"new") == b"x"
    assert r.execute_command("SET", "k", "6", "get", "xx", "GET", get=True) == b"4"
    assert r.setnx(b"k", b"7") is False
    assert r.setnx(b"k2", b"7") is True
    assert r.get(b"k2") == b"7"


def test_set_null_reply_shape(r, protocol):
    # Not set because of NX: RESP2 null bulk, RESP3 null.
    r.set(b"k", b"v")
    assert r.execute_command("SET", "k", "w", "NX") is None


@pytest.mark.parametrize("opts", [
    ["NX", "XX"], ["XX", "NX"], ["EX", "10", "PX", "100"], ["PX", "100", "EXAT", "100"],
    ["EXAT", "100", "PXAT", "100"], ["KEEPTTL", "EX", "10"], ["EX", "10", "KEEPTTL"],
    ["PXAT", "10", "KEEPTTL"], ["EX"], ["NX", "PX"], ["PERSIST"], ["BOGUS"], ["GETX"],
])
def test_set_syntax_errors(r, opts):
    assert err(r, "SET", "k", "v", *opts) == SYNTAX
    assert r.get(b"k") is None


@pytest.mark.parametrize("opt,n", [
    ("EX", "0"), ("EX", "-1"), ("PX", "0"), ("PX", "-100"), ("EXAT", "0"), ("PXAT", "-1"),
    ("EX", "9223372036854775807"), ("EX", "9223372036854776"),
    ("PX", "9223372036854775807"), ("EXAT", "9223372036854776"),
])
def test_set_invalid_expire(r, opt, n):
    assert err(r, "SET", "k", "v", opt, n) == INVALID_EXPIRE.format("set")
    assert r.get(b"k") is None


@pytest.mark.parametrize("n", ["abc", "1.5", "", " 1", "99999999999999999999"])
def test_set_expire_not_integer(r, n):
    assert err(r, "SET", "k", "v", "EX", n) == NOT_INT


def test_set_expiry_options_ttl(r):
    r.set(b"ex", b"v", ex=100)
    assert 99_000 < pttl(r, b"ex") <= 100_000
    r.set(b"px", b"v", px=5000)
    assert 4000 < pttl(r, b"px") <= 5000
    now = int(time.time())
    r.set(b"exat", b"v", exat=now + 100)
    assert 98_000 < pttl(r, b"exat") <= 100_000
    r.set(b"pxat", b"v", pxat=int(time.time() * 1000) + 50_000)
    assert 49_000 < pttl(r, b"pxat") <= 50_000
    # Repeating an expiry kind: the last one wins.
    r.execute_command("SET", "k", "v", "EX", "10", "EX", "200")
    assert 199_000 < pttl(r, b"k") <= 200_000
    r.set(b"k", b"w", keepttl=True)
    assert 199_000 < pttl(r, b"k") <= 200_000
    r.set(b"k", b"x")
    assert pttl(r, b"k") == -1
    r.set(b"fresh", b"v", keepttl=True)
    assert pttl(r, b"fresh") == -1


def test_set_expiry_observed(r):
    r.set(b"gone", b"v", px=100)
    r.set(b"kept", b"v", px=100)
    r.set(b"kept", b"w", keepttl=True)
    r.set(b"cleared", b"v", px=100)
    r.set(b"cleared", b"w")
    r.set(b"counter", b"1", px=100)
    r.incr(b"counter")
    assert r.get(b"gone") == b"v"
    time.sleep(0.25)
    assert r.get(b"gone") is None
    assert r.get(b"kept") is None
    assert r.get(b"cleared") == b"w"
    assert r.get(b"counter") is None


def test_set_absolute_time_in_the_past(r):
    assert r.set(b"k", b"v", exat=int(time.time()) - 10) is True
    assert r.get(b"k") is None
    assert r.execute_command("SET", "k2", "v", "GET", "PXAT", "1", get=True) is None
    assert r.get(b"k2") is None
    assert r.mget(b"k", b"k2") == [None, None]


def test_set_get_on_wrong_type(r):
    make_list(r, b"l")
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE Operation against a key holding the wrong kind of value$"):
        r.set(b"l", b"v", get=True)
    assert r.type(b"l") == b"list"
    # Without GET, SET replaces any type.
    assert r.set(b"l", b"v") is True
    assert r.get(b"l") == b"v"


def test_string_commands_on_wrong_type(r):
    make_list(r, b"l")
    for args in [
        ["GET", "l"], ["GETSET", "l", "v"], ["GETDEL", "l"], ["GETEX", "l"], ["GETEX", "l", "EX", "0"],
        ["INCR", "l"], ["INCRBY", "l", "1"], ["DECR", "l"], ["DECRBY", "l", "1"],
        ["INCRBYFLOAT", "l", "1"], ["INCRBYFLOAT", "l", "x"], ["APPEND", "l", "x"], ["STRLEN", "l"],
        ["GETRANGE", "l", "0", "-1"], ["SUBSTR", "l", "0", "-1"], ["SETRANGE", "l", "0", "x"],
        ["SETRANGE", "l", "0", ""],
    ]:
        with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
            r.execute_command(*args)
    assert r.mget(b"l") == [None]
    assert r.setnx(b"l", b"v") is False
    assert r.msetnx({b"l": b"v", b"other": b"v"}) is False
    assert r.type(b"l") == b"list"


@pytest.mark.parametrize("cmd", ["SETEX", "PSETEX"])
def test_setex_psetex(r, cmd):
    assert r.execute_command(cmd, "k", "100000", "v") is True
    assert r.get(b"k") == b"v"
    for n in ["0", "-5"]:
        assert err(r, cmd, "k2", n, "v") == INVALID_EXPIRE.format(cmd.lower())
    assert err(r, cmd, "k2", "9223372036854775807", "v") == INVALID_EXPIRE.format(cmd.lower())
    assert err(r, cmd, "k2", "ten", "v") == NOT_INT
    assert err(r, cmd, "k2", "10") == f"wrong number of arguments for '{cmd.lower()}' command"
    assert r.get(b"k2") is None


def test_setex_ttl(r):
    r.setex(b"a", 100, b"v")
    assert 99_000 < pttl(r, b"a") <= 100_000
    r.psetex(b"b", 5000, b"v")
    assert 4000 < pttl(r, b"b") <= 5000


def test_psetex_expires(r):
    r.psetex(b"k", 100, b"v")
    assert r.get(b"k") == b"v"
    time.sleep(0.25)
    assert r.get(b"k") is None


def test_getset_getdel(r):
    assert r.getset(b"k", b"1") is None
    r.set(b"k", b"2", px=100)
    assert r.getset(b"k", b"3") == b"2"
    time.sleep(0.25)
    assert r.get(b"k") == b"3", "GETSET clears the TTL"
    assert r.getdel(b"k") == b"3"
    assert r.get(b"k") is None
    assert r.getdel(b"k") is None


def test_getex(r):
    assert r.getex(b"nope") is None
    r.set(b"k", b"v", px=200)
    assert r.getex(b"k") == b"v"
    assert r.getex(b"k", persist=True) == b"v"
    time.sleep(0.3)
    assert r.get(b"k") == b"v"
    assert r.getex(b"k", px=100) == b"v"
    time.sleep(0.25)
    assert r.get(b"k") is None
    r.set(b"k", b"v")
    assert r.getex(b"k", pxat=1) == b"v"
    assert r.get(b"k") is None


def test_getex_ttl(r):
    r.set(b"k", b"v")
    r.getex(b"k", ex=100)
    assert 99_000 < pttl(r, b"k") <= 100_000
    r.getex(b"k", px=5000)
    assert 4000 < pttl(r, b"k") <= 5000
    r.getex(b"k", exat=int(time.time()) + 50)
    assert 48_000 < pttl(r, b"k") <= 50_000
    r.getex(b"k", pxat=int(time.time() * 1000) + 7000)
    assert 6000 < pttl(r, b"k") <= 7000
    r.getex(b"k", persist=True)
    assert pttl(r, b"k") == -1


def test_getex_errors(r):
    # A missing key is nil, whatever the expiry says.
    assert r.execute_command("GETEX", "nope", "EX", "0") is None
    assert r.execute_command("GETEX", "nope", "EX", "abc") is None
    r.set(b"k", b"v")
    assert err(r, "GETEX", "k", "EX", "0") == INVALID_EXPIRE.format("getex")
    assert err(r, "GETEX", "k", "PXAT", "-1") == INVALID_EXPIRE.format("getex")
    assert err(r, "GETEX", "k", "PX", "9223372036854775807") == INVALID_EXPIRE.format("getex")
    assert err(r, "GETEX", "k", "EX", "x") == NOT_INT
    for opts in [["NX"], ["XX"], ["GET"], ["KEEPTTL"], ["EX"], ["EX", "10", "PERSIST"],
                 ["PERSIST", "EX", "10"], ["EX", "10", "PX", "10"], ["FOO"]]:
        assert err(r, "GETEX", "nope", *opts) == SYNTAX, opts
    assert r.get(b"k") == b"v"


def test_mget_mset_msetnx(r):
    assert r.execute_command("MSET", "a", "1", "b", "2", "a", "3") is True
    assert r.mget(b"a", b"b", b"c", b"a") == [b"3", b"2", None, b"3"]
    assert err(r, "MSET", "a", "1", "b") == "wrong number of arguments for 'mset' command"
    assert err(r, "MSETNX", "x", "1", "y") == "wrong number of arguments for 'msetnx' command"
    assert err(r, "MGET") == "wrong number of arguments for 'mget' command"
    assert r.msetnx({b"x": b"1", b"a": b"9"}) is False
    assert r.get(b"x") is None
    assert r.get(b"a") == b"3"
    assert r.msetnx({b"x": b"1", b"y": b"2"}) is True
    assert r.mget(b"x", b"y") == [b"1", b"2"]


def test_mset_clears_ttl(r):
    r.set(b"t", b"v", px=100)
    r.mset({b"t": b"w"})
    time.sleep(0.25)
    assert r.get(b"t") == b"w"


def test_integer_counters(r):
    assert r.incr(b"n") == 1
    assert r.incrby(b"n", 41) == 42
    assert r.decr(b"n") == 41
    assert r.decrby(b"n", 50) == -9
    assert r.incrby(b"n", -1) == -10
    assert r.decr(b"fresh") == -1
    assert r.get(b"n") == b"-10"
    r.set(b"max", b"9223372036854775807")
    r.set(b"min", b"-9223372036854775808")
    for args in [["INCR", "max"], ["INCRBY", "max", "1"], ["DECR", "min"], ["DECRBY", "min", "1"],
                 ["INCRBY", "min", "-1"], ["DECRBY", "max", "-1"]]:
        assert err(r, *args) == "increment or decrement would overflow", args
    assert r.incrby(b"n", -9223372036854775798) == -9223372036854775808


def test_decrby_most_negative(r):
    assert err(r, "DECRBY", "n", "-9223372036854775808") == "decrement would overflow"
    assert r.get(b"n") is None


@pytest.mark.parametrize("bad", ["abc", " 1", "1 ", "01", "+1", "-0", "1.0", "", "9223372036854775808"])
def test_counters_reject_non_integers(r, bad):
    r.set(b"s", bad)
    assert err(r, "INCR", "s") == NOT_INT
    assert err(r, "DECRBY", "s", "1") == NOT_INT
    assert err(r, "INCRBY", "n", bad) == NOT_INT
    assert r.get(b"s") == bad.encode()
    assert r.get(b"n") is None


def test_counters_keep_ttl(r):
    r.set(b"n", b"5", px=200)
    r.incr(b"n")
    r.decrby(b"n", 3)
    r.incrbyfloat(b"n", 0.5)
    r.append(b"n", b"0")
    r.setrange(b"n", 0, b"4")
    assert r.get(b"n") == b"4.50"
    assert 0 < pttl(r, b"n") <= 200


def test_counters_keep_ttl_observed(r):
    for cmd in [["INCR", "n"], ["INCRBY", "n", "2"], ["DECR", "n"], ["INCRBYFLOAT", "n", "1.5"],
                ["APPEND", "n", "0"], ["SETRANGE", "n", "0", "9"]]:
        r.set(b"n", b"5", px=100)
        r.execute_command(*cmd)
        time.sleep(0.2)
        assert r.get(b"n") is None, cmd


@pytest.mark.parametrize("start,incr,expect", [
    ("10.5", "0.1", "10.6"),
    ("0.1", "0.2", "0.3"),
    ("5.0e3", "2.0e2", "5200"),
    ("5.0e3", "0", "5000"),
    ("10", "-10", "0"),
    ("1", "-1.5", "-0.5"),
    ("10000000000", "0.1", "10000000000.09999999962747097"),
    ("3", "1.5e-17", "3.00000000000000001"),
    ("0", "-1e-20", "0"),
    ("7", "0x10", "23"),
    ("9223372036854775807", "1", "9223372036854775808"),
    ("1.", ".5", "1.5"),
    ("+2", "-0.25", "1.75"),
    # 64-bit significand: 1e19 + 1 is exact, 1e20 + 1 is not.
    ("1e19", "1", "10000000000000000001"),
    ("1e20", "1", "100000000000000000000"),
    ("1e30", "0", "1000000000000000000024696061952"),
])
def test_incrbyfloat_formatting(r, start, incr, expect):
    r.set(b"f", start)
    r.incrbyfloat(b"f", incr)
    assert r.get(b"f") == expect.encode()


def test_incrbyfloat_reply_is_a_bulk_string(r):
    # The raw reply, without redis-py's float conversion.
    done = r.handle.cli("--no-raw", "INCRBYFLOAT", "f", "10.5")
    assert done.stdout == '"10.5"\n'


def test_incrbyfloat_errors(r):
    assert r.incrbyfloat(b"new", -2.25) == -2.25
    r.set(b"f", b"abc")
    assert err(r, "INCRBYFLOAT", "f", "1") == NOT_FLOAT
    r.set(b"f", b"1")
    for bad in ["x", " 1", "1 ", "nan", "", "1e", "1e99999", "1e-99999"]:
        assert err(r, "INCRBYFLOAT", "f", bad) == NOT_FLOAT, bad
    for inf in ["inf", "-inf", "+Infinity"]:
        assert err(r, "INCRBYFLOAT", "f", inf) == "increment would produce NaN or Infinity"
    r.set(b"f", b"1.1e4932")
    assert err(r, "INCRBYFLOAT", "f", "1.1e4932") == "increment would produce NaN or Infinity"
    r.set(b"f", b"inf")
    assert err(r, "INCRBYFLOAT", "f", "1") == "increment would produce NaN or Infinity"
    assert r.get(b"f") == b"inf"


def test_append_strlen(r):
    assert r.append(b"k", b"hello") == 5
    assert r.append(b"k", b" \x00\xff") == 8
    assert r.get(b"k") == b"hello \x00\xff"
    assert r.append(b"k", b"") == 8
    assert r.strlen(b"k") == 8
    assert r.strlen(b"nope") == 0


@pytest.mark.parametrize("start,end,expect", [
    (0, 3, b"This"), (-3, -1, b"ing"), (0, -1, b"This is a string"), (10, 100, b"string"),
    (5, 3, b""), (-1, -5, b""), (-100, -100, b"T"), (0, -100, b"T"), (-100, 2, b"Thi"),
    (16, 20, b""), (15, 15, b"g"),
    (-9223372036854775808, 9223372036854775807, b"This is a string"),
])
@pytest.mark.parametrize("cmd", ["GETRANGE", "SUBSTR"])
def test_getrange(r, cmd, start, end, expect):
    r.set(b"s", b"This is a string")
    assert r.execute_command(cmd, "s", start, end) == expect


def test_getrange_edges(r):
    assert r.getrange(b"nope", 0, -1) == b""
    r.set(b"e", b"")
    assert r.getrange(b"e", 0, -1) == b""
    r.set(b"s", b"abc")
    assert err(r, "GETRANGE", "s", "a", "1") == NOT_INT
    assert err(r, "SUBSTR", "s", "0", "-0") == NOT_INT


def test_setrange(r):
    r.set(b"k", b"Hello World")
    assert r.setrange(b"k", 6, b"Redis") == 11
    assert r.get(b"k") == b"Hello Redis"
    assert r.setrange(b"k", 9, b"xyz!") == 13
    assert r.get(b"k") == b"Hello Redxyz!"
    assert r.setrange(b"new", 3, b"ab") == 5
    assert r.get(b"new") == b"\x00\x00\x00ab"
    assert r.setrange(b"new", 7, b"c") == 8
    assert r.get(b"new") == b"\x00\x00\x00ab\x00\x00c"
    assert r.setrange(b"none", 100, b"") == 0
    assert r.get(b"none") is None
    assert r.setrange(b"new", 1_000_000_000, b"") == 8


def test_setrange_errors(r):
    r.set(b"k", b"v")
    assert err(r, "SETRANGE", "k", "-1", "x") == "offset is out of range"
    assert err(r, "SETRANGE", "nope", "-1", "") == "offset is out of range"
    assert err(r, "SETRANGE", "k", "x", "x") == NOT_INT
    assert err(r, "SETRANGE", "k", "536870912", "x") == TOO_BIG
    assert err(r, "SETRANGE", "k", "9223372036854775807", "x") == TOO_BIG
    assert err(r, "SETRANGE", "big", "536870911", "xy") == TOO_BIG
    assert r.get(b"big") is None
    assert r.get(b"k") == b"v"


def test_length_limit_follows_config(kind, start_server):
    handle = start_server(kind, "--proto-max-bulk-len", "1mb")
    with handle.client() as c:
        assert c.setrange(b"k", 1048575, b"x") == 1048576
        with pytest.raises(redis.ResponseError, match=TOO_BIG.replace("(", r"\(").replace(")", r"\)")):
            c.append(b"k", b"y")
        with pytest.raises(redis.ResponseError, match="exceeds maximum"):
            c.setrange(b"k", 1048575, b"xy")
        assert c.strlen(b"k") == 1048576


def test_errors_inside_exec(r):
    r.set(b"k", b"abc")
    with r.pipeline(transaction=True) as p:
        p.execute_command("SET", "k", "v", "EX", "0")
        p.execute_command("SET", "k", "v", "NX", "XX")
        p.execute_command("INCR", "k")
        p.set(b"k", b"v")
        res = p.execute(raise_on_error=False)
    assert [str(x) for x in res[:3]] == [INVALID_EXPIRE.format("set"), SYNTAX, NOT_INT]
    assert res[3] is True


@pytest.mark.parametrize("cmd", ["INCR", "APPEND", "SETRANGE", "GETDEL", "GETEX", "MSET", "SETKEEP"])
def test_writes_are_seen_by_watch(r, server, cmd):
    args = {
        "INCR": ["INCR", "k"], "APPEND": ["APPEND", "k", "x"], "SETRANGE": ["SETRANGE", "k", "0", "9"],
        "GETDEL": ["GETDEL", "k"], "GETEX": ["GETEX", "k", "EX", "100"], "MSET": ["MSET", "k", "3"],
        "SETKEEP": ["SET", "k", "2", "KEEPTTL"],
    }[cmd]
    r.set(b"k", b"1")
    with r.pipeline(transaction=True) as p:
        p.watch(b"k")
        with server.client() as other:
            other.execute_command(*args)
        p.multi()
        p.get(b"k")
        with pytest.raises(redis.WatchError):
            p.execute()
