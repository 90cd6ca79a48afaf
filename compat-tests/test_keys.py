"""Generic key commands, checked against real Redis and Sluice alike.

DEL/UNLINK/EXISTS/TOUCH/TYPE/KEYS/SCAN/RENAME/RENAMENX/COPY/MOVE, the EXPIRE
and TTL families, PERSIST, RANDOMKEY and OBJECT: replies, error texts and the
rule that a key past its TTL is gone. SCAN order is server-specific, so SCAN
results are compared as sets; times are compared within ranges.
"""

import time

import pytest
import redis

NOT_INT = "value is not an integer or out of range"
INT32 = "value is out of range, value must between -2147483648 and 2147483647"
SYNTAX = "syntax error"
SAME = "source and destination objects are the same"
OUT_OF_RANGE = "DB index is out of range"
NX_COMBO = "NX and XX, GT or LT options at the same time are not compatible"
GT_LT = "GT and LT options at the same time are not compatible"
LFU = (
    "An LFU maxmemory policy is not selected, access frequency not tracked. "
    "Please note that when switching between policies at runtime LRU and LFU "
    "data will take some time to adjust."
)


def error_of(r, *args):
    with pytest.raises(redis.ResponseError) as excinfo:
        r.execute_command(*args)
    return str(excinfo.value)


def full_scan(r, **kw):
    """Every key a complete SCAN returns, with how many times."""
    seen = {}
    cursor = 0
    for _ in range(10_000):
        cursor, keys = r.scan(cursor, **kw)
        for k in keys:
            seen[k] = seen.get(k, 0) + 1
        if cursor == 0:
            return seen
    raise AssertionError("SCAN never finished")


def test_del_unlink_exists_touch(r):
    r.set("a", "1")
    r.set("b", "2")
    assert r.exists("a", "a", "b", "nope") == 3
    assert r.touch("a", "a", "nope") == 2
    assert r.delete("a", "a", "nope") == 1
    assert r.unlink("b", "b") == 1
    assert r.exists("a", "b") == 0
    assert error_of(r, "DEL") == "wrong number of arguments for 'del' command"


def test_type(r):
    r.set("s", "v")
    assert r.type("s") == b"string"
    assert r.type("nope") == b"none"


def test_type_is_a_status_reply(cli):
    assert cli("--no-raw", "TYPE", "nope").stdout == "none\n"


def test_keys_glob(r):
    for k in ["hello", "hallo", "hxllo", "hllo", "heeeello", "user:1", "a*b"]:
        r.set(k, "v")
    assert len(r.keys("*")) == 7
    assert sorted(r.keys("h?llo")) == [b"hallo", b"hello", b"hxllo"]
    assert sorted(r.keys("h*llo")) == [b"hallo", b"heeeello", b"hello", b"hllo", b"hxllo"]
    assert sorted(r.keys("h[ae]llo")) == [b"hallo", b"hello"]
    assert sorted(r.keys("h[^e]llo")) == [b"hallo", b"hxllo"]
    assert r.keys("a\\*b") == [b"a*b"]
    assert r.keys("nomatch*") == []


def test_scan_returns_each_key_once(r):
    for i in range(200):
        r.set(f"key:{i}", "v")
    for i in range(10):
        r.set(f"other:{i}", "v")
    seen = full_scan(r, count=3)
    assert len(seen) == 210
    assert set(seen.values()) == {1}
    matched = full_scan(r, match="other:*", count=3)
    assert set(matched) == {f"other:{i}".encode() for i in range(10)}
    assert set(matched.values()) == {1}
    assert len(full_scan(r, _type="string", count=3)) == 210
    assert len(full_scan(r, _type="STRING")) == 210
    assert full_scan(r, _type="hash") == {}
    assert len(full_scan(r, match="key:1*", _type="string")) == 111


def test_scan_reply_shape(r):
    r.set("only", "v")
    assert r.execute_command("SCAN", "0", "COUNT", "1000") == (0, [b"only"])


def test_scan_errors(r):
    for bad in ["abc", "18446744073709551616", "1x"]:
        assert error_of(r, "SCAN", bad) == "invalid cursor", bad
    assert error_of(r, "SCAN", "0", "COUNT", "0") == SYNTAX
    assert error_of(r, "SCAN", "0", "COUNT", "-1") == SYNTAX
    assert error_of(r, "SCAN", "0", "COUNT", "abc") == NOT_INT
    assert error_of(r, "SCAN", "0", "MATCH") == SYNTAX
    assert error_of(r, "SCAN", "0", "foo", "bar") == SYNTAX
    assert error_of(r, "SCAN", "x", "COUNT", "0") == "invalid cursor"
    # The largest cursor is valid; past the end the scan is complete.
    assert r.execute_command("SCAN", "18446744073709551615") == (0, [])


def test_scan_unknown_type_finds_nothing(r):
    r.set("k", "v")
    assert full_scan(r, _type="nosuchtype") == {}


@pytest.mark.sluice_only("follows https://redis.io/docs/latest/commands/scan/ (7.4 rejects negative cursors)")
def test_scan_negative_cursor_is_invalid(r):
    assert error_of(r, "SCAN", "-1") == "invalid cursor"


def test_rename(r):
    assert error_of(r, "RENAME", "no", "x") == "no such key"
    assert error_of(r, "RENAME", "no", "no") == "no such key"
    assert error_of(r, "RENAMENX", "no", "no") == "no such key"
    r.set("a", "va", px=50_000)
    assert r.rename("a", "a") is True
    assert r.renamenx("a", "a") is False
    r.set("b", "vb")
    assert r.rename("a", "b") is True
    assert r.get("b") == b"va"
    assert 49_000 < r.pttl("b") <= 50_000
    assert r.exists("a") == 0
    r.set("c", "vc")
    r.rename("c", "b")
    assert r.ttl("b") == -1
    r.set("d", "vd")
    assert r.renamenx("d", "b") is False
    assert r.renamenx("d", "e") is True
    assert r.get("e") == b"vd"


def test_copy(r):
    r.set("a", "va", px=70_000)
    assert error_of(r, "COPY", "a", "a") == SAME
    assert error_of(r, "COPY", "a", "a", "DB", "0") == SAME
    assert error_of(r, "COPY", "a", "a", "REPLACE") == SAME
    assert error_of(r, "COPY", "a", "b", "DB", "abc") == NOT_INT
    assert error_of(r, "COPY", "a", "b", "DB", "4294967296") == INT32
    assert error_of(r, "COPY", "a", "b", "DB", "16") == OUT_OF_RANGE
    assert error_of(r, "COPY", "a", "b", "DB", "-1") == OUT_OF_RANGE
    assert error_of(r, "COPY", "a", "b", "DB", "99", "foo") == OUT_OF_RANGE
    assert error_of(r, "COPY", "a", "b", "DB", "1", "DB", "abc") == NOT_INT
    assert error_of(r, "COPY", "a", "b", "foo") == SYNTAX
    assert error_of(r, "COPY", "a", "b", "DB") == SYNTAX
    assert r.copy("nope", "b") is False
    assert r.copy("a", "b") is True
    assert r.get("b") == b"va"
    assert 69_000 < r.pttl("b") <= 70_000
    r.set("c", "vc")
    assert r.copy("c", "b") is False
    assert r.execute_command("COPY", "c", "b", "REPLACE", "REPLACE") == 1
    assert r.get("b") == b"vc"
    assert r.ttl("b") == -1
    assert r.copy("a", "a", destination_db=1) is True
    assert r.execute_command("COPY", "a", "a", "db", "1") == 0
    r.execute_command("SELECT", "1")
    assert r.get("a") == b"va"
    assert 69_000 < r.pttl("a") <= 70_000
    r.execute_command("SELECT", "0")


def test_move(r):
    r.set("a", "va", px=30_000)
    assert error_of(r, "MOVE", "a", "0") == SAME
    assert error_of(r, "MOVE", "nope", "0") == SAME
    assert error_of(r, "MOVE", "a", "16") == OUT_OF_RANGE
    assert error_of(r, "MOVE", "a", "-1") == OUT_OF_RANGE
    assert error_of(r, "MOVE", "a", "abc") == NOT_INT
    assert error_of(r, "MOVE", "a", "4294967296") == INT32
    assert r.move("nope", 1) is False
    assert r.move("a", 1) is True
    assert r.exists("a") == 0
    r.set("a", "again")
    assert r.move("a", 1) is False
    r.execute_command("SELECT", "1")
    assert r.get("a") == b"va"
    assert 29_000 < r.pttl("a") <= 30_000
    r.execute_command("SELECT", "0")


@pytest.mark.parametrize("name", ["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"])
def test_expire_option_errors(r, name):
    r.set("k", "v")
    assert error_of(r, name, "k", "100", "NX", "XX") == NX_COMBO
    assert error_of(r, name, "k", "100", "nx", "gt") == NX_COMBO
    assert error_of(r, name, "k", "100", "LT", "NX") == NX_COMBO
    assert error_of(r, name, "k", "100", "GT", "LT") == GT_LT
    assert error_of(r, name, "k", "100", "foo") == "Unsupported option foo"
    assert error_of(r, name, "missing", "abc", "Bar") == "Unsupported option Bar"
    assert error_of(r, name, "k", "abc", "GT", "LT") == GT_LT
    assert error_of(r, name, "k", "abc") == NOT_INT
    lower = name.lower()
    assert error_of(r, name, "k") == f"wrong number of arguments for '{lower}' command"


@pytest.mark.parametrize(
    "name,when",
    [
        ("EXPIRE", "9223372036854775807"),
        ("EXPIRE", "9223372036854776"),
        ("EXPIRE", "-9223372036854776"),
        ("EXPIRE", "9223372036854775"),
        ("PEXPIRE", "9223372036854775807"),
        ("EXPIREAT", "9223372036854775807"),
        ("EXPIREAT", "-9223372036854775808"),
    ],
)
def test_expire_overflow(r, name, when):
    r.set("k", "v")
    assert error_of(r, name, "k", when) == f"invalid expire time in '{name.lower()}' command"
    assert r.ttl("k") == -1


def test_expire_far_future_absolute(r):
    r.set("k", "v")
    assert r.execute_command("PEXPIREAT", "k", "9223372036854775807") == 1
    assert r.pexpiretime("k") == 9223372036854775807
    assert r.execute_command("EXPIRE", "missing", "100") == 0


def test_expire_conditions(r):
    r.set("j", "v")
    run = lambda *a: r.execute_command("EXPIRE", "j", *a)  # noqa: E731
    assert run("100", "GT") == 0
    assert run("100", "XX") == 0
    assert run("100", "NX") == 1
    assert run("200", "NX") == 0
    assert run("50", "GT") == 0
    assert run("200", "GT") == 1
    assert r.ttl("j") == 200
    assert run("300", "LT") == 0
    assert run("100", "LT") == 1
    assert run("150", "XX", "XX") == 1
    assert r.ttl("j") == 150
    assert run("-1", "GT") == 0
    assert r.exists("j") == 1
    assert r.persist("j") is True
    assert r.persist("j") is False
    assert run("-1", "GT") == 0
    assert run("-1", "LT") == 1
    assert r.exists("j") == 0


@pytest.mark.parametrize(
    "name,when",
    [
        ("EXPIRE", "0"),
        ("EXPIRE", "-5"),
        ("PEXPIRE", "0"),
        ("PEXPIRE", "-9223372036854775808"),
        ("EXPIREAT", "0"),
        ("PEXPIREAT", "1"),
        ("EXPIREAT", "past"),
    ],
)
def test_past_time_deletes(r, name, when):
    if when == "past":
        when = str(int(time.time()) - 10)
    r.set("k", "v", ex=1000)
    assert r.execute_command(name, "k", when) == 1
    assert r.exists("k") == 0
    assert r.execute_command(name, "k", when) == 0


def test_ttl_family(r):
    for name in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"]:
        assert r.execute_command(name, "missing") == -2
    r.set("k", "v")
    for name in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"]:
        assert r.execute_command(name, "k") == -1
    assert r.expire("k", 100) is True
    assert r.ttl("k") == 100
    assert 99_000 < r.pttl("k") <= 100_000
    now = time.time()
    assert abs(r.expiretime("k") - (now + 100)) <= 2
    r.execute_command("PEXPIREAT", "k", "1999999999500")
    assert r.expiretime("k") == 2000000000
    assert r.pexpiretime("k") == 1999999999500
    r.execute_command("PEXPIREAT", "k", "1999999999499")
    assert r.expiretime("k") == 1999999999
    r.execute_command("EXPIREAT", "k", "1999999999")
    assert r.pexpiretime("k") == 1999999999000
    assert r.persist("k") is True
    assert r.ttl("k") == -1
    assert r.persist("missing") is False


def test_expired_keys_are_absent(r):
    r.set("stay", "v")
    for i in range(5):
        r.set(f"gone{i}", "v", px=30)
    time.sleep(0.15)
    assert r.keys("*") == [b"stay"]
    assert set(full_scan(r, count=1)) == {b"stay"}
    assert r.exists("gone0") == 0
    assert r.type("gone1") == b"none"
    assert r.ttl("gone2") == -2
    assert r.object("encoding", "gone3") is None
    for _ in range(20):
        assert r.randomkey() == b"stay"
    assert r.dbsize() == 1


def test_randomkey(r):
    assert r.randomkey() is None
    for k in ["a", "b", "c"]:
        r.set(k, "v")
    seen = {r.randomkey() for _ in range(200)}
    assert seen == {b"a", b"b", b"c"}


def test_randomkey_nil_shape(cli):
    assert cli("--no-raw", "RANDOMKEY").stdout == "(nil)\n"


@pytest.mark.parametrize(
    "value,encoding,refcount",
    [
        ("100", b"int", 2147483647),
        ("9999", b"int", 2147483647),
        ("10000", b"int", 1),
        ("-1", b"int", 1),
        ("9223372036854775807", b"int", 1),
        ("12345678901234567890", b"embstr", 1),
        ("-0", b"embstr", 1),
        ("007", b"embstr", 1),
        ("abc", b"embstr", 1),
        ("x" * 44, b"embstr", 1),
        ("x" * 45, b"raw", 1),
    ],
)
def test_object_encoding_refcount(r, value, encoding, refcount):
    r.set("k", value)
    assert r.object("encoding", "k") == encoding
    assert r.object("refcount", "k") == refcount


def test_object_encoding_after_append_is_raw(r):
    r.set("n", "5")
    r.append("n", "1")
    assert r.object("encoding", "n") == b"raw"


def test_object_missing_and_errors(r):
    r.set("k", "v")
    for sub in ["ENCODING", "FREQ", "IDLETIME", "REFCOUNT"]:
        assert r.execute_command("OBJECT", sub, "nope") is None
    assert error_of(r, "OBJECT", "FREQ", "k") == LFU
    assert error_of(r, "OBJECT", "foo", "k") == "unknown subcommand 'foo'. Try OBJECT HELP."
    assert error_of(r, "OBJECT", "ENCODING", "k", "x") == (
        "wrong number of arguments for 'object|encoding' command"
    )
    assert error_of(r, "OBJECT", "HELP", "x") == "wrong number of arguments for 'object|help' command"
    assert error_of(r, "OBJECT") == "wrong number of arguments for 'object' command"


def test_object_help(r):
    lines = r.execute_command("OBJECT", "HELP")
    assert isinstance(lines, list) and lines
    text = b"\n".join(lines)
    for sub in [b"ENCODING", b"FREQ", b"IDLETIME", b"REFCOUNT", b"HELP"]:
        assert sub in text


def test_object_idletime(r):
    r.set("k", "v")
    assert 0 <= r.object("idletime", "k") <= 1
    time.sleep(1.1)
    # Inspecting does not count as use.
    r.object("encoding", "k")
    r.type("k")
    assert 1 <= r.object("idletime", "k") <= 2
    r.touch("k")
    assert 0 <= r.object("idletime", "k") <= 1
