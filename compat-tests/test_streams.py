"""Stream commands without consumer groups: XADD, XRANGE, XREVRANGE, XLEN,
XDEL, XTRIM, XSETID, non-blocking XREAD, and streams under the generic key
commands, against Redis and Sluice.

Reply shapes are read with rawcmd.raw() (redis-py's stream callbacks turn
entries into tuples and dicts and would hide the wire shape). Entry IDs are
explicit wherever the test depends on them; `*` IDs are only checked for their
form and order, or where the stream's top ID is already ahead of the clock.

The approximate-trimming cases assert the exact numbers real Redis gives: it
only removes whole nodes of its radix tree of listpacks, and a node is closed
once it holds stream-node-max-entries entries (deleted ones included) or once
the next entry would take it past stream-node-max-bytes. Byte sizes depend on
how the listpack encodes each element (integer-looking values are stored as
integers, entries whose field names match the node's first entry omit them,
IDs are stored as deltas from the node's first ID), so those cases use
explicit IDs.
"""

import time

import pytest
import redis

from rawcmd import raw

U64_MAX = 2 ** 64 - 1

INVALID_ID = "Invalid stream ID specified as stream command argument"
NOT_GREATER = "The ID specified in XADD is equal or smaller than the target stream top item"
ZERO_ID = "The ID specified in XADD must be greater than 0-0"
NOT_INT = "value is not an integer or out of range"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
LIMIT_NEEDS_TILDE = "syntax error, LIMIT cannot be used without the special ~ option"
LIMIT_NEEDS_STRATEGY = "syntax error, LIMIT cannot be used without specifying a trimming strategy"
MAXLEN_AND_MINID = "syntax error, MAXLEN and MINID options at the same time are not compatible"


def err(r, *args):
    """Runs a command that must fail; returns the error text as redis-py
    shows it (it drops an `ERR ` prefix)."""
    with pytest.raises(redis.ResponseError) as excinfo:
        raw(r, *args)
    return str(excinfo.value)


def arity(name):
    return f"wrong number of arguments for '{name}' command"


def info(r, key):
    """XINFO STREAM as a dict with str keys, from the raw reply of either
    protocol (RESP2: flat list, RESP3: map)."""
    reply = raw(r, "XINFO", "STREAM", key)
    if isinstance(reply, list):
        reply = dict(zip(reply[::2], reply[1::2]))
    return {k.decode(): v for k, v in reply.items()}


def shape(r, key):
    """(length, radix-tree-keys) of a stream: the entry and node counts."""
    i = info(r, key)
    return i["length"], i["radix-tree-keys"]


def fill(r, key, n, fields, first=1):
    """XADDs n entries with IDs first-0, first+1-0, ...; fields(i) gives the
    field/value list of entry i (0-based)."""
    pipe = r.pipeline(transaction=False)
    for i in range(n):
        pipe.execute_command("XADD", key, f"{first + i}-0", *fields(i))
    assert pipe.execute() == [f"{first + i}-0".encode() for i in range(n)]


def small(i):
    return ["f", "v"]


def first_id(r, key):
    return raw(r, "XRANGE", key, "-", "+", "COUNT", 1)[0][0]


def ids(entries):
    return [e[0] for e in entries]


# ------------------------------------------------------------------- XADD


def test_xadd_explicit_ids_and_entry_shape(r):
    assert raw(r, "XADD", "s", "1-1", "name", "ann", "age", "33") == b"1-1"
    assert raw(r, "XADD", "s", "2", "k", "v") == b"2-0"
    assert raw(r, "XADD", "s", "2-*", "k", "w") == b"2-1"
    assert raw(r, "XADD", "s", "3-*", "k", "x") == b"3-0"
    assert raw(r, "XADD", "s", "3-7", "k", "y") == b"3-7"
    assert raw(r, "XADD", "s", f"{U64_MAX}-{U64_MAX - 1}", "k", "z") == \
        f"{U64_MAX}-{U64_MAX - 1}".encode()
    assert raw(r, "XRANGE", "s", "-", "+") == [
        [b"1-1", [b"name", b"ann", b"age", b"33"]],
        [b"2-0", [b"k", b"v"]],
        [b"2-1", [b"k", b"w"]],
        [b"3-0", [b"k", b"x"]],
        [b"3-7", [b"k", b"y"]],
        [f"{U64_MAX}-{U64_MAX - 1}".encode(), [b"k", b"z"]],
    ]
    assert raw(r, "XLEN", "s") == 6


def test_xadd_fields_are_kept_as_given(r):
    # Duplicate field names, empty strings and binary data all survive.
    assert raw(r, "XADD", "s", "1-0", "f", "1", "f", "2") == b"1-0"
    assert raw(r, "XADD", "s", "2-0", "", "") == b"2-0"
    assert raw(r, "XADD", b"s", "3-0", b"\x00\xff\r\n", b"v\x00") == b"3-0"
    assert raw(r, "XRANGE", "s", "-", "+") == [
        [b"1-0", [b"f", b"1", b"f", b"2"]],
        [b"2-0", [b"", b""]],
        [b"3-0", [b"\x00\xff\r\n", b"v\x00"]],
    ]


def test_xadd_auto_id(r):
    before = int(time.time() * 1000)
    first = raw(r, "XADD", "s", "*", "f", "v")
    after = int(time.time() * 1000)
    ms, seq = map(int, first.split(b"-"))
    assert before - 1000 <= ms <= after + 1000
    second = raw(r, "XADD", "s", "*", "f", "v")
    ms2, seq2 = map(int, second.split(b"-"))
    assert (ms2, seq2) > (ms, seq)
    # A top ID ahead of the clock: `*` continues its sequence.
    future = 10 ** 15
    assert raw(r, "XADD", "s", f"{future}-3", "f", "v") == f"{future}-3".encode()
    assert raw(r, "XADD", "s", "*", "f", "v") == f"{future}-4".encode()
    assert raw(r, "XADD", "s", f"{future}-*", "f", "v") == f"{future}-5".encode()
    assert raw(r, "XLEN", "s") == 5


def test_xadd_ids_must_grow(r):
    assert raw(r, "XADD", "s", "5-1", "f", "v") == b"5-1"
    assert err(r, "XADD", "s", "5-1", "f", "v") == NOT_GREATER
    assert err(r, "XADD", "s", "5-0", "f", "v") == NOT_GREATER
    assert err(r, "XADD", "s", "4-9", "f", "v") == NOT_GREATER
    assert err(r, "XADD", "s", "5", "f", "v") == NOT_GREATER
    assert err(r, "XADD", "s", "4-*", "f", "v") == NOT_GREATER
    assert err(r, "XADD", "s", "0-0", "f", "v") == ZERO_ID
    assert raw(r, "XADD", "s", "5-*", "f", "v") == b"5-2"
    assert raw(r, "XLEN", "s") == 2
    # On a new key nothing is created.
    assert err(r, "XADD", "n", "0-0", "f", "v") == ZERO_ID
    assert err(r, "XADD", "n", "0", "f", "v") == ZERO_ID
    assert raw(r, "EXISTS", "n") == 0
    # 0-* on an empty stream starts at 0-1.
    assert raw(r, "XADD", "z", "0-*", "f", "v") == b"0-1"


def test_xadd_ids_after_deleting_the_top(r):
    # The top ID is remembered after the entry is gone.
    raw(r, "XADD", "s", "1-0", "f", "v")
    raw(r, "XADD", "s", "7-0", "f", "v")
    assert raw(r, "XDEL", "s", "7-0") == 1
    assert err(r, "XADD", "s", "6-0", "f", "v") == NOT_GREATER
    assert err(r, "XADD", "s", "7-0", "f", "v") == NOT_GREATER
    assert raw(r, "XADD", "s", "7-*", "f", "v") == b"7-1"


def test_xadd_last_possible_id(r):
    top = f"{U64_MAX}-{U64_MAX}"
    assert raw(r, "XADD", "s", top, "f", "v") == top.encode()
    exhausted = "The stream has exhausted the last possible ID, unable to add more items"
    assert err(r, "XADD", "s", "*", "f", "v") == exhausted
    assert err(r, "XADD", "s", f"{U64_MAX}-*", "f", "v") == exhausted
    assert raw(r, "XLEN", "s") == 1
    assert raw(r, "XADD", "t", f"{U64_MAX}-*", "f", "v") == f"{U64_MAX}-0".encode()


@pytest.mark.parametrize("bad", [
    "abc", "1-x", "x-1", "-1", "-5", "1-", "-", "1-2-3", "1--1", "1.5",
    str(2 ** 64), f"1-{2 ** 64}", "", "+", "$", ">", "(1", "*-1", "1-**",
])
def test_xadd_invalid_ids(r, bad):
    assert err(r, "XADD", "s", bad, "f", "v") == INVALID_ID
    assert raw(r, "EXISTS", "s") == 0


def test_xadd_id_number_parsing_quirks(r):
    # ID parts go through Redis's string2ull: a strtoull fallback takes a
    # leading '+' or whitespace.
    assert raw(r, "XADD", "s", "+1", "f", "v") == b"1-0"
    assert raw(r, "XADD", "s", " 2", "f", "v") == b"2-0"
    assert raw(r, "XADD", "s", "3-+4", "f", "v") == b"3-4"


def test_xadd_arity(r):
    for args in (["s"], ["s", "*"], ["s", "*", "f"], ["s", "*", "f", "v", "g"],
                 ["s", "MAXLEN", "1", "*", "f"], ["s", "NOMKSTREAM", "*", "a", "b", "c"]):
        assert err(r, "XADD", *args) == arity("xadd"), args
    assert raw(r, "EXISTS", "s") == 0


def test_xadd_nomkstream(r):
    assert raw(r, "XADD", "s", "NOMKSTREAM", "*", "f", "v") is None
    assert raw(r, "XADD", "s", "nomkstream", "1-0", "f", "v") is None
    assert raw(r, "EXISTS", "s") == 0
    assert raw(r, "XADD", "s", "1-0", "f", "v") == b"1-0"
    assert raw(r, "XADD", "s", "NOMKSTREAM", "2-0", "f", "v") == b"2-0"
    # Repeating the flag is fine.
    assert raw(r, "XADD", "s", "NOMKSTREAM", "NOMKSTREAM", "3-0", "f", "v") == b"3-0"
    assert raw(r, "XADD", "s", "NOMKSTREAM", "MAXLEN", "2", "4-0", "f", "v") == b"4-0"
    assert ids(raw(r, "XRANGE", "s", "-", "+")) == [b"3-0", b"4-0"]
    # Checks still run before the missing key is noticed.
    assert err(r, "XADD", "n", "NOMKSTREAM", "abc", "f", "v") == INVALID_ID
    assert err(r, "XADD", "n", "NOMKSTREAM", "0-0", "f", "v") == ZERO_ID


def test_xadd_trim_option_errors(r):
    raw(r, "XADD", "s", "1-0", "f", "v")
    cases = [
        (["MAXLEN", "-1"], "The MAXLEN argument must be >= 0."),
        (["MAXLEN", "abc"], NOT_INT),
        (["MAXLEN", "1.5"], NOT_INT),
        (["MAXLEN", "=", "1", "LIMIT", "10"], LIMIT_NEEDS_TILDE),
        (["MAXLEN", "1", "LIMIT", "10"], LIMIT_NEEDS_TILDE),
        (["MINID", "1", "LIMIT", "10"], LIMIT_NEEDS_TILDE),
        (["MAXLEN", "~", "1", "LIMIT", "-1"], "The LIMIT argument must be >= 0."),
        (["MAXLEN", "~", "1", "LIMIT", "abc"], NOT_INT),
        (["MINID", "abc"], INVALID_ID),
        (["MINID", "-1"], INVALID_ID),
        (["MINID", "(5"], INVALID_ID),
        (["MAXLEN", "1", "MINID", "2"], MAXLEN_AND_MINID),
        (["MINID", "1", "MAXLEN", "2"], MAXLEN_AND_MINID),
        (["MAXLEN", "1", "MAXLEN", "2"], MAXLEN_AND_MINID),
        (["LIMIT", "5"], LIMIT_NEEDS_STRATEGY),
        (["FOO"], INVALID_ID),
    ]
    for opts, text in cases:
        assert err(r, "XADD", "s", *opts, "*", "f", "v") == text, opts
    # MAXLEN with no number: the ID is taken as the count.
    assert err(r, "XADD", "s", "MAXLEN", "*", "f", "v") == NOT_INT
    assert raw(r, "XLEN", "s") == 1


def test_xadd_exact_trimming(r):
    fill(r, "s", 10, small)
    assert raw(r, "XADD", "s", "MAXLEN", "5", "11-0", "f", "v") == b"11-0"
    assert ids(raw(r, "XRANGE", "s", "-", "+")) == [b"%d-0" % i for i in range(7, 12)]
    assert raw(r, "XADD", "s", "maxlen", "=", "3", "12-0", "f", "v") == b"12-0"
    assert ids(raw(r, "XRANGE", "s", "-", "+")) == [b"10-0", b"11-0", b"12-0"]
    # MINID keeps entries with IDs >= the threshold, the new one included.
    assert raw(r, "XADD", "s", "MINID", "12", "13-0", "f", "v") == b"13-0"
    assert ids(raw(r, "XRANGE", "s", "-", "+")) == [b"12-0", b"13-0"]
    assert raw(r, "XADD", "s", "MINID", "=", "100", "14-0", "f", "v") == b"14-0"
    assert raw(r, "XLEN", "s") == 0
    # LIMIT 0 with ~ is "no limit".
    assert raw(r, "XADD", "s", "MAXLEN", "~", "1", "LIMIT", "0", "15-0", "f", "v") == b"15-0"


def test_xadd_maxlen_zero_leaves_an_empty_stream(r):
    fill(r, "s", 3, small)
    assert raw(r, "XADD", "s", "MAXLEN", "0", "4-0", "f", "v") == b"4-0"
    assert raw(r, "XLEN", "s") == 0
    assert raw(r, "EXISTS", "s") == 1
    assert raw(r, "TYPE", "s") in (b"stream", "stream")
    i = info(r, "s")
    assert i["last-generated-id"] == b"4-0"
    assert i["entries-added"] == 4
    # Trimming is not deletion: max-deleted-entry-id stays.
    assert i["max-deleted-entry-id"] == b"0-0"
    assert i["first-entry"] is None and i["last-entry"] is None
    assert err(r, "XADD", "s", "4-0", "f", "v") == NOT_GREATER


# ----------------------------------------------------------- XRANGE/XREVRANGE


@pytest.fixture
def s4(r):
    for id_, f, v in (("1-1", "a", "1"), ("1-2", "b", "2"), ("2-0", "c", "3"), ("3-5", "d", "4")):
        raw(r, "XADD", "s", id_, f, v)
    return r


def test_xrange_bounds(s4):
    r = s4
    e = {b"1-1": [b"1-1", [b"a", b"1"]], b"1-2": [b"1-2", [b"b", b"2"]],
         b"2-0": [b"2-0", [b"c", b"3"]], b"3-5": [b"3-5", [b"d", b"4"]]}
    all4 = [e[b"1-1"], e[b"1-2"], e[b"2-0"], e[b"3-5"]]
    assert raw(r, "XRANGE", "s", "-", "+") == all4
    assert raw(r, "XREVRANGE", "s", "+", "-") == all4[::-1]
    # Incomplete IDs: start means <ms>-0, end means <ms>-<max>.
    assert raw(r, "XRANGE", "s", "1", "1") == [e[b"1-1"], e[b"1-2"]]
    assert raw(r, "XRANGE", "s", "2", "3") == [e[b"2-0"], e[b"3-5"]]
    assert raw(r, "XREVRANGE", "s", "2", "1") == [e[b"2-0"], e[b"1-2"], e[b"1-1"]]
    assert raw(r, "XRANGE", "s", "1-2", "2-0") == [e[b"1-2"], e[b"2-0"]]
    assert raw(r, "XRANGE", "s", "0", "0") == []
    assert raw(r, "XRANGE", "s", "3-6", "+") == []
    # Start after end: empty, not an error.
    assert raw(r, "XRANGE", "s", "3", "1") == []
    assert raw(r, "XREVRANGE", "s", "1", "3") == []
    assert raw(r, "XRANGE", "missing", "-", "+") == []
    assert raw(r, "XREVRANGE", "missing", "+", "-") == []


def test_xrange_exclusive(s4):
    r = s4
    assert ids(raw(r, "XRANGE", "s", "(1-1", "2")) == [b"1-2", b"2-0"]
    assert ids(raw(r, "XRANGE", "s", "-", "(2-0")) == [b"1-1", b"1-2"]
    assert ids(raw(r, "XRANGE", "s", "(1-1", "(3-5")) == [b"1-2", b"2-0"]
    # An incomplete exclusive ID is completed first: (1 is (1-0.
    assert ids(raw(r, "XRANGE", "s", "(1", "+")) == [b"1-1", b"1-2", b"2-0", b"3-5"]
    assert ids(raw(r, "XRANGE", "s", "-", "(3")) == [b"1-1", b"1-2", b"2-0", b"3-5"]
    assert ids(raw(r, "XREVRANGE", "s", "(2", "(1-1")) == [b"2-0", b"1-2"]
    assert ids(raw(r, "XREVRANGE", "s", "(3-5", "-")) == [b"2-0", b"1-2", b"1-1"]
    assert raw(r, "XRANGE", "s", "(3-5", "+") == []
    assert raw(r, "XRANGE", "s", "(1-1", "(1-2") == []
    top, bottom = f"({U64_MAX}-{U64_MAX}", "(0-0"
    assert err(r, "XRANGE", "s", top, "+") == "invalid start ID for the interval"
    assert err(r, "XRANGE", "s", "-", bottom) == "invalid end ID for the interval"
    assert err(r, "XREVRANGE", "s", "+", top) == "invalid start ID for the interval"
    assert err(r, "XREVRANGE", "s", bottom, "-") == "invalid end ID for the interval"
    # Special IDs cannot be exclusive.
    assert err(r, "XRANGE", "s", "(-", "+") == INVALID_ID
    assert err(r, "XRANGE", "s", "-", "(+") == INVALID_ID


def test_xrange_count(s4):
    r = s4
    assert ids(raw(r, "XRANGE", "s", "-", "+", "COUNT", "2")) == [b"1-1", b"1-2"]
    assert ids(raw(r, "XREVRANGE", "s", "+", "-", "count", "3")) == [b"3-5", b"2-0", b"1-2"]
    assert ids(raw(r, "XRANGE", "s", "-", "+", "COUNT", "100")) == [b"1-1", b"1-2", b"2-0", b"3-5"]
    # The last COUNT wins.
    assert ids(raw(r, "XRANGE", "s", "-", "+", "COUNT", "1", "COUNT", "2")) == [b"1-1", b"1-2"]
    # COUNT 0 or negative: a null reply (nil array in RESP2, null in RESP3).
    assert raw(r, "XRANGE", "s", "-", "+", "COUNT", "0") is None
    assert raw(r, "XRANGE", "s", "-", "+", "COUNT", "-1") is None
    assert raw(r, "XREVRANGE", "s", "+", "-", "COUNT", "0") is None
    # Paging with an exclusive start.
    page = raw(r, "XRANGE", "s", "-", "+", "COUNT", "3")
    rest = raw(r, "XRANGE", "s", b"(" + page[-1][0], "+", "COUNT", "3")
    assert ids(page + rest) == [b"1-1", b"1-2", b"2-0", b"3-5"]


def test_xrange_errors(s4):
    r = s4
    for cmd in ("XRANGE", "XREVRANGE"):
        assert err(r, cmd, "s", "-", "+", "COUNT", "abc") == NOT_INT
        assert err(r, cmd, "s", "-", "+", "COUNT") == "syntax error"
        assert err(r, cmd, "s", "-", "+", "FOO", "1") == "syntax error"
        assert err(r, cmd, "s", "-", "+", "COUNT", "1", "2") == "syntax error"
        assert err(r, cmd, "s", "-") == arity(cmd.lower())
        assert err(r, cmd, "s") == arity(cmd.lower())
        for bad in ("1-x", "abc", "-1", "1-2-3", str(2 ** 64), "$", "*"):
            assert err(r, cmd, "s", bad, "+") == INVALID_ID, (cmd, bad)
            assert err(r, cmd, "s", "-", bad) == INVALID_ID, (cmd, bad)


# ---------------------------------------------------------------- XLEN/XDEL


def test_xlen(r):
    assert raw(r, "XLEN", "missing") == 0
    fill(r, "s", 3, small)
    assert raw(r, "XLEN", "s") == 3
    assert err(r, "XLEN") == arity("xlen")
    assert err(r, "XLEN", "a", "b") == arity("xlen")


def test_xdel(r):
    fill(r, "s", 5, small)
    assert raw(r, "XDEL", "s", "2-0") == 1
    # Missing IDs and repeats count once at most.
    assert raw(r, "XDEL", "s", "2-0", "9-0", "3-0", "3") == 1
    assert raw(r, "XDEL", "s", "4-0", "4-0") == 1
    assert ids(raw(r, "XRANGE", "s", "-", "+")) == [b"1-0", b"5-0"]
    assert raw(r, "XDEL", "missing", "1-0") == 0
    i = info(r, "s")
    assert (i["length"], i["max-deleted-entry-id"], i["last-generated-id"],
            i["entries-added"]) == (2, b"4-0", b"5-0", 5)
    # Deleting a lower ID does not lower max-deleted-entry-id.
    assert raw(r, "XDEL", "s", "1-0") == 1
    assert info(r, "s")["max-deleted-entry-id"] == b"4-0"
    # The last entry gone: the key stays, empty.
    assert raw(r, "XDEL", "s", "5-0") == 1
    assert raw(r, "XLEN", "s") == 0
    assert raw(r, "EXISTS", "s") == 1
    i = info(r, "s")
    assert (i["max-deleted-entry-id"], i["last-generated-id"], i["recorded-first-entry-id"]) == \
        (b"5-0", b"5-0", b"0-0")


def test_xdel_errors(r):
    fill(r, "s", 2, small)
    # All IDs are parsed before anything is deleted.
    assert err(r, "XDEL", "s", "1-0", "bad") == INVALID_ID
    assert err(r, "XDEL", "s", "1-0", "-") == INVALID_ID
    assert err(r, "XDEL", "s", "1-0", "*") == INVALID_ID
    assert raw(r, "XLEN", "s") == 2
    assert err(r, "XDEL", "s") == arity("xdel")


# --------------------------------------------------------------------- XTRIM


def test_xtrim_exact(r):
    fill(r, "s", 10, small)
    assert raw(r, "XTRIM", "s", "MAXLEN", "20") == 0
    assert raw(r, "XTRIM", "s", "MAXLEN", "8") == 2
    assert raw(r, "XTRIM", "s", "maxlen", "=", "6") == 2
    assert first_id(r, "s") == b"5-0"
    assert raw(r, "XTRIM", "s", "MINID", "7") == 2
    assert raw(r, "XTRIM", "s", "MINID", "=", "7-0") == 0
    assert raw(r, "XTRIM", "s", "minid", "7-1") == 1
    assert ids(raw(r, "XRANGE", "s", "-", "+")) == [b"8-0", b"9-0", b"10-0"]
    assert raw(r, "XTRIM", "s", "MINID", "0") == 0
    assert raw(r, "XTRIM", "s", "MAXLEN", "0") == 3
    assert raw(r, "EXISTS", "s") == 1
    i = info(r, "s")
    assert (i["length"], i["last-generated-id"], i["max-deleted-entry-id"], i["entries-added"]) == \
        (0, b"10-0", b"0-0", 10)
    assert raw(r, "XTRIM", "missing", "MAXLEN", "0") == 0
    assert raw(r, "EXISTS", "missing") == 0


def test_xtrim_errors(r):
    fill(r, "s", 3, small)
    assert err(r, "XTRIM", "s", "MAXLEN", "1", "LIMIT", "5") == LIMIT_NEEDS_TILDE
    assert err(r, "XTRIM", "s", "MINID", "=", "1", "LIMIT", "5") == LIMIT_NEEDS_TILDE
    assert err(r, "XTRIM", "s", "LIMIT", "1") == LIMIT_NEEDS_STRATEGY
    assert err(r, "XTRIM", "s", "MAXLEN", "-1") == "The MAXLEN argument must be >= 0."
    assert err(r, "XTRIM", "s", "MAXLEN", "~", "1", "LIMIT", "-1") == \
        "The LIMIT argument must be >= 0."
    assert err(r, "XTRIM", "s", "MAXLEN", "x") == NOT_INT
    assert err(r, "XTRIM", "s", "MINID", "x") == INVALID_ID
    assert err(r, "XTRIM", "s", "MAXLEN", "1", "MINID", "1") == MAXLEN_AND_MINID
    assert err(r, "XTRIM", "s", "FOO", "1") == "syntax error"
    assert err(r, "XTRIM", "s", "MAXLEN", "1", "junk") == "syntax error"
    assert err(r, "XTRIM", "s", "MAXLEN", "~", "1", "LIMIT", "2", "junk") == "syntax error"
    assert err(r, "XTRIM", "s") == arity("xtrim")
    assert err(r, "XTRIM", "s", "MAXLEN") == arity("xtrim")
    assert raw(r, "XLEN", "s") == 3


# -------------------------------------------------------------------- XSETID


def test_xsetid(r):
    raw(r, "XADD", "s", "1-1", "a", "1")
    raw(r, "XADD", "s", "5-0", "b", "2")
    assert err(r, "XSETID", "s", "4-0") == \
        "The ID specified in XSETID is smaller than the target stream top item"
    assert raw(r, "XSETID", "s", "5-0") == b"OK"
    assert raw(r, "XSETID", "s", "10") == b"OK"
    i = info(r, "s")
    assert (i["last-generated-id"], i["entries-added"], i["max-deleted-entry-id"]) == \
        (b"10-0", 2, b"0-0")
    assert err(r, "XADD", "s", "10-0", "f", "v") == NOT_GREATER
    assert raw(r, "XADD", "s", "10-*", "f", "v") == b"10-1"
    assert raw(r, "XSETID", "s", "20-0", "ENTRIESADDED", "7", "MAXDELETEDID", "15-3") == b"OK"
    i = info(r, "s")
    assert (i["last-generated-id"], i["entries-added"], i["max-deleted-entry-id"]) == \
        (b"20-0", 7, b"15-3")
    # The max deleted ID may equal the new last ID.
    assert raw(r, "XSETID", "s", "20-0", "maxdeletedid", "20-0", "entriesadded", "3") == b"OK"
    i = info(r, "s")
    assert (i["entries-added"], i["max-deleted-entry-id"]) == (3, b"20-0")
    assert raw(r, "XLEN", "s") == 3


def test_xsetid_on_an_empty_stream(r):
    raw(r, "XADD", "s", "5-5", "f", "v")
    raw(r, "XDEL", "s", "5-5")
    # With no entries any ID goes, even below the last one.
    assert raw(r, "XSETID", "s", "1-0") == b"OK"
    assert raw(r, "XSETID", "s", "6-0", "ENTRIESADDED", "0") == b"OK"
    i = info(r, "s")
    assert (i["last-generated-id"], i["entries-added"], i["max-deleted-entry-id"]) == \
        (b"6-0", 0, b"5-5")
    assert raw(r, "XADD", "s", "*", "f", "v") != b"6-0"
    assert info(r, "s")["entries-added"] == 1


def test_xsetid_errors(r):
    raw(r, "XADD", "s", "1-1", "a", "1")
    raw(r, "XADD", "s", "5-0", "b", "2")
    assert err(r, "XSETID", "missing", "1-1") == "no such key"
    assert err(r, "XSETID", "s", "10-0", "ENTRIESADDED", "1") == \
        "The entries_added specified in XSETID is smaller than the target stream length"
    assert err(r, "XSETID", "s", "10-0", "ENTRIESADDED", "-1") == "entries_added must be positive"
    assert err(r, "XSETID", "s", "10-0", "ENTRIESADDED", "5", "MAXDELETEDID", "11-0") == \
        "The ID specified in XSETID is smaller than the provided max_deleted_entry_id"
    assert err(r, "XSETID", "s", "10-0", "ENTRIESADDED", "x") == NOT_INT
    assert err(r, "XSETID", "s", "10-0", "MAXDELETEDID", "x") == INVALID_ID
    assert err(r, "XSETID", "s", "10-0", "FOO", "1") == "syntax error"
    assert err(r, "XSETID", "s", "10-0", "ENTRIESADDED") == "syntax error"
    assert err(r, "XSETID", "s", "abc") == INVALID_ID
    assert err(r, "XSETID", "s", "$") == INVALID_ID
    assert err(r, "XSETID", "s") == arity("xsetid")
    assert info(r, "s")["last-generated-id"] == b"5-0"


# --------------------------------------------------------------------- XREAD


def xread_as_list(reply):
    """XREAD's reply as [[key, entries], ...] in either protocol (RESP3 sends
    a map)."""
    if isinstance(reply, dict):
        return [[k, v] for k, v in reply.items()]
    return reply


def test_xread_reply_shape(r, protocol):
    raw(r, "XADD", "s", "1-0", "f", "v")
    reply = raw(r, "XREAD", "STREAMS", "s", "0")
    entries = [[b"1-0", [b"f", b"v"]]]
    if protocol == 3:
        assert reply == {b"s": entries}
    else:
        assert reply == [[b"s", entries]]


def test_xread(r, protocol):
    fill(r, "a", 5, lambda i: ["n", str(i)])
    raw(r, "XADD", "b", "10-0", "x", "y")
    got = xread_as_list(raw(r, "XREAD", "STREAMS", "a", "b", "0", "0"))
    assert [k for k, _ in got] == [b"a", b"b"]
    assert ids(got[0][1]) == [b"1-0", b"2-0", b"3-0", b"4-0", b"5-0"]
    assert got[1][1] == [[b"10-0", [b"x", b"y"]]]
    # IDs are exclusive; incomplete ones mean <ms>-0.
    got = xread_as_list(raw(r, "XREAD", "COUNT", "2", "STREAMS", "a", "b", "2", "10-0"))
    assert got == [[b"a", [[b"3-0", [b"n", b"2"]], [b"4-0", [b"n", b"3"]]]]]
    # Streams with nothing new and missing keys are left out.
    got = xread_as_list(raw(r, "xread", "streams", "missing", "b", "a", "0", "0", "4-0"))
    assert [[k, ids(v)] for k, v in got] == [[b"b", [b"10-0"]], [b"a", [b"5-0"]]]
    # Nothing at all: a null reply.
    assert raw(r, "XREAD", "STREAMS", "a", "b", "5-0", "10-0") is None
    assert raw(r, "XREAD", "STREAMS", "missing", "0") is None
    assert raw(r, "XREAD", "STREAMS", "a", "$") is None
    # The same key twice is read twice (in RESP3 a map with the key twice;
    # redis-py's dict keeps the last).
    got = raw(r, "XREAD", "COUNT", "1", "STREAMS", "a", "a", "0", "3")
    if protocol == 3:
        assert got == {b"a": [[b"4-0", [b"n", b"3"]]]}
    else:
        assert [[k, ids(v)] for k, v in got] == [[b"a", [b"1-0"]], [b"a", [b"4-0"]]]
    # COUNT 0 or negative: no limit.
    for count in ("0", "-5"):
        got = xread_as_list(raw(r, "XREAD", "COUNT", count, "STREAMS", "a", "0"))
        assert len(got[0][1]) == 5


def test_xread_after_deletes(r):
    fill(r, "s", 3, small)
    raw(r, "XDEL", "s", "3-0")
    assert raw(r, "XREAD", "STREAMS", "s", "2-0") is None
    raw(r, "XDEL", "s", "1-0", "2-0")
    assert raw(r, "XREAD", "STREAMS", "s", "0") is None


def test_xread_errors(r):
    raw(r, "XADD", "s", "1-0", "f", "v")
    raw(r, "SET", "str", "x")
    # Redis 7.2 quoted the command's name; the compat Redis is 7.0.
    version = tuple(int(x) for x in str(r.info("server")["redis_version"]).split(".")[:2])
    name = "'xread'" if version >= (7, 2) else "XREAD"
    assert err(r, "XREAD", "STREAMS", "s", "t", "0") == (
        f"Unbalanced {name} list of streams: for each stream key an ID or '$' must be specified.")
    assert err(r, "XREAD", "STREAMS", "s") == arity("xread")
    assert err(r, "XREAD", "COUNT", "1", "s", "0") == "syntax error"
    assert err(r, "XREAD", "FOO", "STREAMS", "s", "0") == "syntax error"
    assert err(r, "XREAD", "COUNT", "x", "STREAMS", "s", "0") == NOT_INT
    assert err(r, "XREAD", "STREAMS", "s", "abc") == INVALID_ID
    assert err(r, "XREAD", "STREAMS", "s", "(0") == INVALID_ID
    assert err(r, "XREAD", "STREAMS", "s", ">") == (
        "The > ID can be specified only when calling XREADGROUP using the GROUP "
        "<group> <consumer> option.")
    assert err(r, "XREAD", "BLOCK", "-1", "STREAMS", "s", "0") == "timeout is negative"
    assert err(r, "XREAD", "BLOCK", "abc", "STREAMS", "s", "0") == \
        "timeout is not an integer or out of range"
    assert err(r, "XREAD", "STREAMS", "str", "0") == WRONGTYPE
    assert err(r, "XREAD", "STREAMS", "s", "str", "0", "0") == WRONGTYPE


@pytest.mark.sluice_only("follows https://redis.io/docs/latest/commands/xread/ "
                         "(the + ID, the last entry of a stream, came in Redis 7.4)")
def test_xread_plus_reads_the_last_entry(r):
    fill(r, "s", 3, lambda i: ["n", str(i)])
    raw(r, "XADD", "t", "7-0", "x", "y")
    got = xread_as_list(raw(r, "XREAD", "STREAMS", "s", "+"))
    assert got == [[b"s", [[b"3-0", [b"n", b"2"]]]]]
    # Only the last entry, whatever COUNT says.
    got = xread_as_list(raw(r, "XREAD", "COUNT", "5", "STREAMS", "s", "+"))
    assert got == [[b"s", [[b"3-0", [b"n", b"2"]]]]]
    got = xread_as_list(raw(r, "XREAD", "STREAMS", "missing", "s", "t", "+", "0", "+"))
    assert [[k, ids(v)] for k, v in got] == [[b"s", [b"1-0", b"2-0", b"3-0"]], [b"t", [b"7-0"]]]
    assert raw(r, "XREAD", "STREAMS", "missing", "+") is None


# ------------------------------------------------- types and generic commands


def test_type_and_wrongtype(r):
    raw(r, "XADD", "s", "1-0", "f", "v")
    assert r.type("s") == b"stream"
    assert raw(r, "OBJECT", "ENCODING", "s") == b"stream"
    # Only commands of types Sluice has (it has no lists, hashes or sets).
    for args in (("GET", "s"), ("INCR", "s"), ("APPEND", "s", "x"), ("STRLEN", "s"),
                 ("SETRANGE", "s", "0", "x"), ("GETDEL", "s")):
        assert err(r, *args) == WRONGTYPE, args
    raw(r, "SET", "str", "x")
    for args in (("XADD", "str", "*", "f", "v"), ("XADD", "str", "NOMKSTREAM", "*", "f", "v"),
                 ("XLEN", "str"), ("XRANGE", "str", "-", "+"), ("XREVRANGE", "str", "+", "-"),
                 ("XDEL", "str", "1-0"), ("XTRIM", "str", "MAXLEN", "0"),
                 ("XSETID", "str", "1-0"), ("XINFO", "STREAM", "str")):
        assert err(r, *args) == WRONGTYPE, args
    assert r.get("str") == b"x"
    # SET replaces a stream.
    assert r.set("s", "now a string") is True
    assert r.type("s") == b"string"


def test_del_exists_rename(r):
    fill(r, "s", 3, small)
    raw(r, "XDEL", "s", "2-0")
    assert r.exists("s") == 1
    assert r.rename("s", "t") is True
    assert r.exists("s") == 0
    i = info(r, "t")
    assert (i["length"], i["last-generated-id"], i["max-deleted-entry-id"], i["entries-added"]) == \
        (2, b"3-0", b"2-0", 3)
    assert err(r, "XADD", "t", "3-0", "f", "v") == NOT_GREATER
    assert r.delete("t") == 1
    assert r.exists("t") == 0
    # A new stream under the same name starts over.
    assert raw(r, "XADD", "t", "1-0", "f", "v") == b"1-0"


def test_copy_keeps_stream_state(r):
    fill(r, "s", 3, small)
    raw(r, "XDEL", "s", "3-0")
    raw(r, "XSETID", "s", "9-0")
    assert r.copy("s", "c") is True
    assert info(r, "c") == info(r, "s")
    assert raw(r, "XRANGE", "c", "-", "+") == raw(r, "XRANGE", "s", "-", "+")
    # The copy is independent.
    raw(r, "XADD", "c", "10-0", "f", "v")
    assert raw(r, "XLEN", "c") == 3
    assert raw(r, "XLEN", "s") == 2
    assert r.copy("s", "c") is False
    assert r.copy("s", "c", replace=True) is True
    assert raw(r, "XLEN", "c") == 2


def test_expire_on_a_stream(r):
    raw(r, "XADD", "s", "1-0", "f", "v")
    assert r.pexpire("s", 100_000) is True
    assert 0 < r.pttl("s") <= 100_000
    # XADD does not clear the TTL.
    raw(r, "XADD", "s", "2-0", "f", "v")
    assert r.pttl("s") > 0
    assert r.pexpire("s", 30) is True
    time.sleep(0.15)
    assert r.exists("s") == 0
    assert raw(r, "XLEN", "s") == 0
    assert raw(r, "XADD", "s", "1-0", "f", "v") == b"1-0"
    assert r.ttl("s") == -1


def test_scan_type_stream(r):
    raw(r, "XADD", "s1", "1-0", "f", "v")
    raw(r, "XADD", "s2", "1-0", "f", "v")
    raw(r, "XADD", "s2", "MAXLEN", "0", "2-0", "f", "v")  # empty streams count too
    r.set("str", "x")
    assert sorted(r.scan_iter(_type="stream")) == [b"s1", b"s2"]
    assert sorted(r.scan_iter(_type="STREAM")) == [b"s1", b"s2"]
    assert list(r.scan_iter(_type="string")) == [b"str"]


def test_multi_exec_with_xadd(r):
    pipe = r.pipeline(transaction=True)
    pipe.execute_command("XADD", "s", "1-0", "f", "v")
    pipe.execute_command("XADD", "s", "2-0", "g", "w")
    pipe.execute_command("XLEN", "s")
    pipe.execute_command("XADD", "s", "1-0", "f", "v")  # fails at EXEC, others stay
    pipe.execute_command("XRANGE", "s", "-", "+")
    replies = pipe.execute(raise_on_error=False)
    assert replies[:3] == [b"1-0", b"2-0", 2]
    assert isinstance(replies[3], redis.ResponseError)
    assert str(replies[3]) == NOT_GREATER
    assert [e[0] for e in replies[4]] == [b"1-0", b"2-0"]
    # A bad arity is caught at queue time and discards the transaction.
    raw(r, "MULTI")
    assert raw(r, "XADD", "s", "3-0", "f", "v") == b"QUEUED"
    with pytest.raises(redis.ResponseError):
        raw(r, "XADD", "s", "4-0", "f")
    # redis-py turns the EXECABORT prefix into the exception class.
    with pytest.raises(redis.exceptions.ExecAbortError) as excinfo:
        raw(r, "EXEC")
    assert str(excinfo.value) == "Transaction discarded because of previous errors."
    assert raw(r, "XLEN", "s") == 2


# ------------------------------------------------------- approximate trimming
#
# Each case below was run against real Redis 7.0; the numbers are what it
# gives.


def test_approx_maxlen_small_entries(r):
    # Small entries: the 100-entries-per-node limit decides.
    pipe = r.pipeline(transaction=False)
    for _ in range(1000):
        pipe.execute_command("XADD", "s", "*", "f", "v")
    pipe.execute()
    assert shape(r, "s") == (1000, 10)
    raw(r, "XADD", "s", "MAXLEN", "~", "555", "*", "f", "v")
    # 1001 entries in 11 nodes (10 x 100, 1): four whole nodes go.
    assert shape(r, "s") == (601, 7)
    assert raw(r, "XTRIM", "s", "MAXLEN", "~", "555") == 0
    assert raw(r, "XTRIM", "s", "MAXLEN", "~", "501") == 100
    assert shape(r, "s") == (501, 6)
    # The tail node goes too when it is whole.
    assert raw(r, "XTRIM", "s", "MAXLEN", "~", "0") == 501
    assert shape(r, "s") == (0, 0)
    assert raw(r, "EXISTS", "s") == 1


def test_approx_xtrim_explicit_ids(r):
    fill(r, "s", 1000, small)
    assert raw(r, "XTRIM", "s", "MAXLEN", "~", "555") == 400
    assert shape(r, "s") == (600, 6)
    assert first_id(r, "s") == b"401-0"
    # Exact trimming splits a node: its node count does not drop.
    assert raw(r, "XTRIM", "s", "MAXLEN", "=", "555") == 45
    assert shape(r, "s") == (555, 6)
    # A partly deleted head node goes as a whole once it fits.
    assert raw(r, "XTRIM", "s", "MAXLEN", "~", "500") == 55
    assert shape(r, "s") == (500, 5)


def test_approx_xadd_with_options(r):
    fill(r, "s", 1000, small)
    assert raw(r, "XADD", "s", "MAXLEN", "~", "555", "LIMIT", "150", "1001-0", "f", "v") == b"1001-0"
    assert shape(r, "s") == (901, 10)
    raw(r, "DEL", "s")
    fill(r, "s", 1000, small)
    assert raw(r, "XADD", "s", "MINID", "~", "555", "1001-0", "f", "v") == b"1001-0"
    assert shape(r, "s") == (501, 6)
    assert first_id(r, "s") == b"501-0"
    raw(r, "DEL", "s")
    fill(r, "s", 1000, small)
    assert raw(r, "XADD", "s", "MAXLEN", "=", "555", "1001-0", "f", "v") == b"1001-0"
    assert shape(r, "s") == (555, 7)


def test_approx_xtrim_limit(r):
    fill(r, "s", 1000, small)
    # LIMIT caps the entries removed; only whole nodes still.
    assert raw(r, "XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "250") == 200
    assert shape(r, "s") == (800, 8)
    assert raw(r, "XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "99") == 0
    assert raw(r, "XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "100") == 100
    assert raw(r, "XTRIM", "s", "MINID", "~", "1000", "LIMIT", "300") == 300
    assert shape(r, "s") == (400, 4)
    # LIMIT 0: no limit.
    assert raw(r, "XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "0") == 400
    assert shape(r, "s") == (0, 0)


def test_approx_minid(r):
    fill(r, "s", 1000, small)
    # Nodes hold 1-100, 101-200, ...: a node goes when all its IDs are below.
    assert raw(r, "XTRIM", "s", "MINID", "~", "500") == 400
    assert shape(r, "s") == (600, 6)
    assert raw(r, "XTRIM", "s", "MINID", "~", "501") == 100
    assert raw(r, "XTRIM", "s", "MINID", "~", "555") == 0
    assert shape(r, "s") == (500, 5)
    assert raw(r, "XTRIM", "s", "MINID", "555") == 54
    assert first_id(r, "s") == b"555-0"
    assert shape(r, "s") == (446, 5)


def test_approx_big_values_bytes_limit(r):
    # 500-byte values: the 4096-byte node limit closes a node after 7.
    fill(r, "s", 100, lambda i: ["f", "x" * 500])
    assert shape(r, "s") == (100, 15)
    assert raw(r, "XTRIM", "s", "MAXLEN", "~", "50") == 49
    assert shape(r, "s") == (51, 8)
    assert first_id(r, "s") == b"50-0"


@pytest.mark.parametrize("name, fields, nodes, trimmed", [
    # 40-byte values, one field name: 81 entries per node.
    ("same-names", lambda i: ["field", "x" * 40], 13, 486),
    # Alternating field names: every other entry stores its names, 77 a node.
    ("alternating-names", lambda i: [f"f{i % 2}", "x" * 40], 13, 462),
    # Names matching the node's first entry only now and then: 70 a node.
    ("mostly-other-names",
     lambda i: ["field", "x" * 40] if i % 10 == 0 else ["other", "x" * 40], 15, 490),
    # Two 19-character text values: 81 a node.
    ("text-19", lambda i: ["a", "q" * 19, "b", "q" * 19], 13, 486),
    # The same lengths as integers are stored in 8 bytes: back to 100 a node.
    ("int-19", lambda i: ["a", str(10 ** 18 + i), "b", str(10 ** 18 + i)], 10, 500),
    ("negative-int", lambda i: ["a", str(-(10 ** 17) - i), "b", str(-(10 ** 17) - i)], 10, 500),
    # Not integers for the listpack: a leading zero, or too big for 64 bits.
    ("leading-zero", lambda i: ["a", "0" + str(10 ** 17 + i), "b", "0" + str(10 ** 17 + i)],
     13, 486),
    ("over-64-bits", lambda i: ["a", str(10 ** 19 + i), "b", str(10 ** 19 + i)], 13, 468),
    # Field names that differ from the node's first entry in two of three.
    ("rotating-names", lambda i: ["a" + str(i % 3), "q" * 19, "b", "q" * 19], 14, 438),
])
def test_approx_node_sizes(r, name, fields, nodes, trimmed):
    fill(r, "s", 1000, fields)
    assert shape(r, "s") == (1000, nodes)
    assert raw(r, "XTRIM", "s", "MAXLEN", "~", "500") == trimmed
    assert raw(r, "XLEN", "s") == 1000 - trimmed


def test_approx_trim_after_xdel(r):
    fill(r, "s", 1000, small)
    assert raw(r, "XDEL", "s", *[f"{i}-0" for i in range(1, 51)]) == 50
    assert shape(r, "s") == (950, 10)
    # The head node has 50 live entries: removing it leaves 900.
    assert raw(r, "XTRIM", "s", "MAXLEN", "~", "901") == 0
    assert raw(r, "XTRIM", "s", "MAXLEN", "~", "900") == 50
    assert shape(r, "s") == (900, 9)
    assert first_id(r, "s") == b"101-0"


def test_xdel_emptied_node_is_removed(r):
    fill(r, "s", 300, small)
    raw(r, "XDEL", "s", *[f"{i}-0" for i in range(101, 201)])
    assert shape(r, "s") == (200, 2)


def test_deleted_entries_still_fill_a_node(r):
    fill(r, "s", 150, small)
    raw(r, "XDEL", "s", *[f"{i}-0" for i in range(1, 31)])
    fill(r, "s", 20, small, first=151)
    # Node 1 holds 100 entries (30 deleted), node 2 the other 70.
    assert shape(r, "s") == (140, 2)
    assert raw(r, "XTRIM", "s", "MAXLEN", "~", "70") == 70
    assert first_id(r, "s") == b"101-0"


def test_approx_trim_node_max_entries_10(kind, start_server):
    srv = start_server(kind)
    r = srv.client()
    try:
        assert r.config_set("stream-node-max-entries", 10) is True
        fill(r, "s", 95, small)
        assert shape(r, "s") == (95, 10)
        assert raw(r, "XTRIM", "s", "MAXLEN", "~", "42") == 50
        assert shape(r, "s") == (45, 5)
        assert first_id(r, "s") == b"51-0"
        # Without LIMIT, ~ removes at most 100 x stream-node-max-entries.
        raw(r, "DEL", "s")
        fill(r, "s", 3000, small)
        assert shape(r, "s") == (3000, 300)
        assert raw(r, "XTRIM", "s", "MAXLEN", "~", "0") == 1000
        assert shape(r, "s") == (2000, 200)
        assert raw(r, "XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "1500") == 1500
        # XADD's own trimming can remove the entry it added.
        assert raw(r, "XADD", "s", "MAXLEN", "~", "0", "4000-0", "f", "v") == b"4000-0"
        assert shape(r, "s") == (0, 0)
        assert info(r, "s")["last-generated-id"] == b"4000-0"
        # Exact trimming has no default limit.
        raw(r, "DEL", "s")
        fill(r, "s", 3000, small)
        assert raw(r, "XTRIM", "s", "MAXLEN", "0") == 3000
    finally:
        r.close()


def test_node_limits_from_config(kind, start_server):
    srv = start_server(kind)
    r = srv.client()
    try:
        assert r.config_set("stream-node-max-bytes", 100) is True
        fill(r, "s", 30, lambda i: ["f", "x" * 30])
        assert shape(r, "s") == (30, 15)
        # 0 lifts the byte limit; the entries limit still applies.
        assert r.config_set("stream-node-max-bytes", 0) is True
        assert r.config_set("stream-node-max-entries", 10) is True
        raw(r, "DEL", "s")
        fill(r, "s", 30, lambda i: ["f", "x" * 300])
        assert shape(r, "s") == (30, 3)
        # And 0 entries lifts that one.
        assert r.config_set("stream-node-max-entries", 0) is True
        assert r.config_set("stream-node-max-bytes", 4096) is True
        raw(r, "DEL", "s")
        fill(r, "s", 300, small)
        assert shape(r, "s") == (300, 1)
    finally:
        r.close()
