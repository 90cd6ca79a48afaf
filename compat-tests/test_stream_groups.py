"""Stream consumer groups (XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM,
XAUTOCLAIM, XINFO GROUPS/CONSUMERS), against Redis and Sluice.

Replies are read raw (rawcmd.raw) so their RESP2/RESP3 shapes are checked."""

import time

import pytest

from rawcmd import raw
from test_stream_groups_util import RawConn, as_map, entry, errorstat, streams, xinfo_consumers, xinfo_groups

MISSING_KEY = ("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you "
               "may want to use the MKSTREAM option to create an empty stream automatically.")


def fill(r, key, n, start=1):
    for i in range(start, start + n):
        r.xadd(key, {"f": f"v{i}"}, id=f"{i}-0")


def err(r, *args):
    """The exact error line the server sends (redis-py would drop "ERR ")."""
    conn = RawConn(r.handle, r.get_connection_kwargs()["protocol"])
    try:
        conn.send(*args)
        reply = conn.read_reply()
    finally:
        conn.close()
    assert reply.startswith(b"-"), reply
    return reply[1:-2].decode()


def pending(r, key, group, *extra):
    """XPENDING extended form as [(id, consumer, deliveries)], idle dropped."""
    rows = raw(r, "XPENDING", key, group, *extra)
    for row in rows:
        assert len(row) == 4 and isinstance(row[2], int) and row[2] >= 0, row
    return [(row[0], row[1], row[3]) for row in rows]


# ------------------------------------------------------------------ XGROUP

def test_xgroup_create_and_busygroup(r):
    fill(r, "s", 2)
    assert raw(r, "XGROUP", "CREATE", "s", "g", "0") == b"OK"
    assert err(r, "XGROUP", "CREATE", "s", "g", "0") == "BUSYGROUP Consumer Group name already exists"
    assert err(r, "XGROUP", "CREATE", "s", "g", "$", "MKSTREAM") == \
        "BUSYGROUP Consumer Group name already exists"
    assert raw(r, "XGROUP", "create", "s", "G", "0") == b"OK"  # group names are case-sensitive
    assert sorted(xinfo_groups(r, r.get_connection_kwargs()["protocol"], "s")) == [b"G", b"g"]


def test_xgroup_create_missing_key_and_mkstream(r):
    assert err(r, "XGROUP", "CREATE", "nokey", "g", "$") == MISSING_KEY
    assert r.exists("nokey") == 0
    assert raw(r, "XGROUP", "CREATE", "nokey", "g", "$", "MKSTREAM") == b"OK"
    assert r.type("nokey") == b"stream"
    assert r.xlen("nokey") == 0
    r.set("str", "x")
    assert err(r, "XGROUP", "CREATE", "str", "g", "0").startswith("WRONGTYPE")
    assert err(r, "XGROUP", "CREATE", "str", "g", "0", "MKSTREAM").startswith("WRONGTYPE")


def test_xgroup_create_argument_errors(r):
    fill(r, "s", 1)
    assert err(r, "XGROUP", "CREATE", "s", "g", "bad") == \
        "ERR Invalid stream ID specified as stream command argument"
    assert err(r, "XGROUP", "CREATE", "s", "g", "0", "ENTRIESREAD", "-5") == \
        "ERR value for ENTRIESREAD must be positive or -1"
    assert err(r, "XGROUP", "CREATE", "s", "g", "0", "ENTRIESREAD", "x") == \
        "ERR value is not an integer or out of range"
    assert raw(r, "XINFO", "GROUPS", "s") == []


def test_xgroup_create_dollar_and_entriesread(r, protocol):
    fill(r, "s", 3)
    assert raw(r, "XGROUP", "CREATE", "s", "dollar", "$") == b"OK"
    assert raw(r, "XGROUP", "CREATE", "s", "zero", "0") == b"OK"
    assert raw(r, "XGROUP", "CREATE", "s", "er", "2-0", "ENTRIESREAD", "2") == b"OK"
    groups = xinfo_groups(r, protocol, "s")
    assert groups[b"dollar"]["last-delivered-id"] == b"3-0"
    assert groups[b"dollar"]["lag"] == 0
    assert groups[b"zero"]["last-delivered-id"] == b"0-0"
    assert groups[b"zero"]["entries-read"] is None
    assert groups[b"zero"]["lag"] == 3
    assert groups[b"er"]["last-delivered-id"] == b"2-0"
    assert groups[b"er"]["entries-read"] == 2
    assert groups[b"er"]["lag"] == 1
    # "$" delivers only what is added later.
    assert raw(r, "XREADGROUP", "GROUP", "dollar", "c", "STREAMS", "s", ">") is None
    r.xadd("s", {"f": "v4"}, id="4-0")
    got = streams(raw(r, "XREADGROUP", "GROUP", "dollar", "c", "STREAMS", "s", ">"), protocol)
    assert got == [(b"s", [entry("4-0", "f", "v4")])]


def test_xgroup_setid(r, protocol):
    fill(r, "s", 5)
    r.xgroup_create("s", "g", "0")
    assert raw(r, "XGROUP", "SETID", "s", "g", "3-0") == b"OK"
    g = xinfo_groups(r, protocol, "s")[b"g"]
    assert (g["last-delivered-id"], g["entries-read"], g["lag"]) == (b"3-0", None, None)
    assert raw(r, "XGROUP", "SETID", "s", "g", "3-0", "ENTRIESREAD", "3") == b"OK"
    g = xinfo_groups(r, protocol, "s")[b"g"]
    assert (g["last-delivered-id"], g["entries-read"], g["lag"]) == (b"3-0", 3, 2)
    got = streams(raw(r, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"), protocol)
    assert got == [(b"s", [entry("4-0", "f", "v4"), entry("5-0", "f", "v5")])]
    g = xinfo_groups(r, protocol, "s")[b"g"]
    assert (g["entries-read"], g["lag"]) == (5, 0)
    assert raw(r, "XGROUP", "SETID", "s", "g", "0") == b"OK"
    g = xinfo_groups(r, protocol, "s")[b"g"]
    assert (g["last-delivered-id"], g["lag"]) == (b"0-0", 5)
    assert raw(r, "XGROUP", "SETID", "s", "g", "$") == b"OK"
    g = xinfo_groups(r, protocol, "s")[b"g"]
    assert (g["last-delivered-id"], g["lag"]) == (b"5-0", 0)
    assert g["pending"] == 2  # SETID leaves the PEL alone
    assert err(r, "XGROUP", "SETID", "s", "nog", "0") == "NOGROUP No such consumer group 'nog' for key name 's'"
    assert err(r, "XGROUP", "SETID", "nokey", "g", "0") == MISSING_KEY


def test_xgroup_destroy(r):
    fill(r, "s", 2)
    r.xgroup_create("s", "g", "0")
    r.xreadgroup("g", "c", {"s": ">"})
    assert raw(r, "XGROUP", "DESTROY", "s", "g") == 1
    assert raw(r, "XGROUP", "DESTROY", "s", "g") == 0
    assert raw(r, "XINFO", "GROUPS", "s") == []
    assert r.xlen("s") == 2  # the stream itself stays
    assert err(r, "XGROUP", "DESTROY", "nokey", "g") == MISSING_KEY
    assert err(r, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">") == \
        "NOGROUP No such key 's' or consumer group 'g' in XREADGROUP with GROUP option"


def test_xgroup_createconsumer_delconsumer(r, protocol):
    fill(r, "s", 3)
    r.xgroup_create("s", "g", "0")
    assert raw(r, "XGROUP", "CREATECONSUMER", "s", "g", "alice") == 1
    assert raw(r, "XGROUP", "CREATECONSUMER", "s", "g", "alice") == 0
    assert raw(r, "XGROUP", "CREATECONSUMER", "s", "g", "bob") == 1
    consumers = xinfo_consumers(r, protocol, "s", "g")
    assert sorted(consumers) == [b"alice", b"bob"]
    assert consumers[b"alice"]["pending"] == 0
    assert xinfo_groups(r, protocol, "s")[b"g"]["consumers"] == 2
    raw(r, "XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "s", ">")
    assert raw(r, "XGROUP", "DELCONSUMER", "s", "g", "alice") == 2
    assert raw(r, "XGROUP", "DELCONSUMER", "s", "g", "alice") == 0
    assert raw(r, "XGROUP", "DELCONSUMER", "s", "g", "nobody") == 0
    assert raw(r, "XGROUP", "DELCONSUMER", "s", "g", "bob") == 0
    g = xinfo_groups(r, protocol, "s")[b"g"]
    # Deleting a consumer drops its pending entries from the group's PEL.
    assert (g["consumers"], g["pending"], g["last-delivered-id"]) == (0, 0, b"2-0")
    assert raw(r, "XPENDING", "s", "g", "-", "+", "10") == []
    assert err(r, "XGROUP", "CREATECONSUMER", "s", "nog", "c") == \
        "NOGROUP No such consumer group 'nog' for key name 's'"
    assert err(r, "XGROUP", "DELCONSUMER", "s", "nog", "c") == \
        "NOGROUP No such consumer group 'nog' for key name 's'"
    assert err(r, "XGROUP", "CREATECONSUMER", "nokey", "g", "c") == MISSING_KEY


def test_xgroup_help_shape(r):
    lines = raw(r, "XGROUP", "HELP")
    assert isinstance(lines, list) and len(lines) > 10
    assert all(isinstance(line, bytes) for line in lines)
    text = b"\n".join(lines).upper()
    for word in (b"CREATE", b"SETID", b"DESTROY", b"CREATECONSUMER", b"DELCONSUMER", b"MKSTREAM",
                 b"ENTRIESREAD", b"HELP"):
        assert word in text


# ------------------------------------------------------------------ XREADGROUP

def test_xreadgroup_new_entries_count_and_consumers_created(r, protocol):
    fill(r, "s", 5)
    r.xgroup_create("s", "g", "0")
    got = streams(raw(r, "XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "s", ">"), protocol)
    assert got == [(b"s", [entry("1-0", "f", "v1"), entry("2-0", "f", "v2")])]
    got = streams(raw(r, "XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"), protocol)
    assert got == [(b"s", [entry(f"{i}-0", "f", f"v{i}") for i in (3, 4, 5)])]
    # Nothing new: a null reply.
    assert raw(r, "XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">") is None
    consumers = xinfo_consumers(r, protocol, "s", "g")
    assert {name: c["pending"] for name, c in consumers.items()} == {b"alice": 2, b"bob": 3}
    g = xinfo_groups(r, protocol, "s")[b"g"]
    assert (g["consumers"], g["pending"], g["last-delivered-id"], g["entries-read"], g["lag"]) == \
        (2, 5, b"5-0", 5, 0)


def test_xreadgroup_multiple_streams(r, protocol):
    fill(r, "a", 2)
    fill(r, "b", 1, start=7)
    r.xgroup_create("a", "g", "0")
    r.xgroup_create("b", "g", "0")
    got = streams(raw(r, "XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "a", "b", ">", ">"),
                  protocol)
    assert got == [(b"a", [entry("1-0", "f", "v1")]), (b"b", [entry("7-0", "f", "v7")])]
    got = streams(raw(r, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "a", "b", ">", ">"), protocol)
    assert got == [(b"a", [entry("2-0", "f", "v2")])]  # b has nothing new: left out
    # History of one stream and new entries of the other in one call.
    got = streams(raw(r, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "b", "a", "0", ">"), protocol)
    assert got == [(b"b", [entry("7-0", "f", "v7")])]
    r.xadd("a", {"f": "v3"}, id="3-0")
    got = streams(raw(r, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "b", "a", "0", ">"), protocol)
    assert got == [(b"b", [entry("7-0", "f", "v7")]), (b"a", [entry("3-0", "f", "v3")])]
    # A group missing on one of the streams fails the whole call.
    r.xadd("c", {"f": "x"}, id="1-0")
    assert err(r, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "a", "c", ">", ">") == \
        "NOGROUP No such key 'c' or consumer group 'g' in XREADGROUP with GROUP option"


def test_xreadgroup_noack(r, protocol):
    fill(r, "s", 3)
    r.xgroup_create("s", "g", "0")
    got = streams(raw(r, "XREADGROUP", "GROUP", "g", "c", "COUNT", "2", "NOACK", "STREAMS", "s", ">"),
                  protocol)
    assert got == [(b"s", [entry("1-0", "f", "v1"), entry("2-0", "f", "v2")])]
    g = xinfo_groups(r, protocol, "s")[b"g"]
    assert (g["pending"], g["last-delivered-id"], g["entries-read"], g["lag"]) == (0, b"2-0", 2, 1)
    assert xinfo_consumers(r, protocol, "s", "g")[b"c"]["pending"] == 0
    # Nothing in the consumer's history either.
    assert streams(raw(r, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "0"), protocol) == [(b"s", [])]


def test_xreadgroup_history_with_explicit_id(r, protocol):
    fill(r, "s", 4)
    r.xgroup_create("s", "g", "0")
    raw(r, "XREADGROUP", "GROUP", "g", "alice", "COUNT", "3", "STREAMS", "s", ">")
    raw(r, "XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">")
    got = streams(raw(r, "XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0"), protocol)
    assert got == [(b"s", [entry(f"{i}-0", "f", f"v{i}") for i in (1, 2, 3)])]
    # Exclusive start, COUNT, only the consumer's own entries.
    got = streams(raw(r, "XREADGROUP", "GROUP", "g", "alice", "COUNT", "1", "STREAMS", "s", "1-0"), protocol)
    assert got == [(b"s", [entry("2-0", "f", "v2")])]
    got = streams(raw(r, "XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", "0-0"), protocol)
    assert got == [(b"s", [entry("4-0", "f", "v4")])]
    # Unknown consumer: empty history, not a null reply; the consumer is created.
    got = streams(raw(r, "XREADGROUP", "GROUP", "g", "carol", "STREAMS", "s", "0"), protocol)
    assert got == [(b"s", [])]
    assert b"carol" in xinfo_consumers(r, protocol, "s", "g")
    # Reading history counts as another delivery; XACK takes it out of the history.
    assert pending(r, "s", "g", "-", "+", "10", "alice") == \
        [(b"1-0", b"alice", 2), (b"2-0", b"alice", 3), (b"3-0", b"alice", 2)]
    assert raw(r, "XACK", "s", "g", "2-0") == 1
    got = streams(raw(r, "XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0"), protocol)
    assert [e[0] for e in got[0][1]] == [b"1-0", b"3-0"]


def test_xreadgroup_history_of_deleted_entries_is_nil(r, protocol):
    fill(r, "s", 3)
    r.xgroup_create("s", "g", "0")
    raw(r, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">")
    assert r.xdel("s", "2-0") == 1
    got = streams(raw(r, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "0"), protocol)
    assert got == [(b"s", [entry("1-0", "f", "v1"), [b"2-0", None], entry("3-0", "f", "v3")])]
    # The deleted entry stays pending until acknowledged.
    assert [row[0] for row in pending(r, "s", "g", "-", "+", "10")] == [b"1-0", b"2-0", b"3-0"]
    assert raw(r, "XACK", "s", "g", "2-0") == 1
    assert [row[0] for row in pending(r, "s", "g", "-", "+", "10")] == [b"1-0", b"3-0"]


def test_xreadgroup_errors(r):
    fill(r, "s", 1)
    r.xgroup_create("s", "g", "0")
    assert err(r, "XREADGROUP", "GROUP", "x", "c", "STREAMS", "s", ">") == \
        "NOGROUP No such key 's' or consumer group 'x' in XREADGROUP with GROUP option"
    assert err(r, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "x", ">") == \
        "NOGROUP No such key 'x' or consumer group 'g' in XREADGROUP with GROUP option"
    assert r.exists("x") == 0
    r.set("str", "v")
    assert err(r, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "str", ">").startswith("WRONGTYPE")


def test_nogroup_and_busygroup_are_counted_in_errorstats(r):
    fill(r, "s", 1)
    r.xgroup_create("s", "g", "0")
    nogroup, busy = errorstat(r, "NOGROUP"), errorstat(r, "BUSYGROUP")
    err(r, "XREADGROUP", "GROUP", "x", "c", "STREAMS", "s", ">")
    assert errorstat(r, "NOGROUP") == nogroup + 1
    err(r, "XPENDING", "s", "x")
    assert errorstat(r, "NOGROUP") == nogroup + 2
    err(r, "XGROUP", "CREATE", "s", "g", "0")
    assert errorstat(r, "BUSYGROUP") == busy + 1
    assert errorstat(r, "NOGROUP") == nogroup + 2


# ------------------------------------------------------------------ XACK

def test_xack_counts(r):
    fill(r, "s", 4)
    r.xgroup_create("s", "g", "0")
    raw(r, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">")
    assert raw(r, "XACK", "s", "g", "1-0", "3-0", "9-0") == 2
    assert raw(r, "XACK", "s", "g", "1-0", "3-0") == 0
    assert raw(r, "XACK", "s", "g", "2-0", "2-0") == 1  # a repeated ID counts once
    assert raw(r, "XACK", "s", "nog", "4-0") == 0
    assert raw(r, "XACK", "nokey", "g", "4-0") == 0
    assert err(r, "XACK", "s", "g", "bad") == "ERR Invalid stream ID specified as stream command argument"
    assert raw(r, "XACK", "s", "g", "4") == 1  # "4" means 4-0
    assert raw(r, "XPENDING", "s", "g", "-", "+", "10") == []


# ------------------------------------------------------------------ XPENDING

def test_xpending_summary(r):
    fill(r, "s", 5)
    r.xgroup_create("s", "g", "0")
    assert raw(r, "XPENDING", "s", "g") == [0, None, None, None]
    raw(r, "XREADGROUP", "GROUP", "g", "bob", "COUNT", "2", "STREAMS", "s", ">")
    raw(r, "XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">")
    raw(r, "XGROUP", "CREATECONSUMER", "s", "g", "idle")
    # Consumers with pending entries only, sorted by name, counts as bulk strings.
    assert raw(r, "XPENDING", "s", "g") == [5, b"1-0", b"5-0", [[b"alice", b"3"], [b"bob", b"2"]]]
    assert err(r, "XPENDING", "s", "nog") == "NOGROUP No such key 's' or consumer group 'nog'"
    assert err(r, "XPENDING", "nokey", "g") == "NOGROUP No such key 'nokey' or consumer group 'g'"


def test_xpending_extended(r):
    fill(r, "s", 6)
    r.xgroup_create("s", "g", "0")
    raw(r, "XREADGROUP", "GROUP", "g", "alice", "COUNT", "3", "STREAMS", "s", ">")
    raw(r, "XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">")
    rows = raw(r, "XPENDING", "s", "g", "-", "+", "10")
    assert [(x[0], x[1], x[3]) for x in rows] == \
        [(f"{i}-0".encode(), b"alice" if i <= 3 else b"bob", 1) for i in range(1, 7)]
    assert all(0 <= x[2] < 5000 for x in rows)
    assert pending(r, "s", "g", "-", "+", "2") == [(b"1-0", b"alice", 1), (b"2-0", b"alice", 1)]
    assert pending(r, "s", "g", "2-0", "4-0", "10") == \
        [(b"2-0", b"alice", 1), (b"3-0", b"alice", 1), (b"4-0", b"bob", 1)]
    assert pending(r, "s", "g", "(2-0", "(5-0", "10") == [(b"3-0", b"alice", 1), (b"4-0", b"bob", 1)]
    assert pending(r, "s", "g", "-", "+", "10", "bob") == \
        [(b"4-0", b"bob", 1), (b"5-0", b"bob", 1), (b"6-0", b"bob", 1)]
    assert pending(r, "s", "g", "-", "+", "10", "nobody") == []
    assert pending(r, "s", "g", "5", "+", "10", "alice") == []
    assert pending(r, "s", "g", "-", "+", "0") == []
    # IDLE: only entries idle for at least that long.
    assert pending(r, "s", "g", "IDLE", "3600000", "-", "+", "10") == []
    raw(r, "XCLAIM", "s", "g", "carol", "0", "2-0", "5-0", "IDLE", "7200000", "JUSTID")
    rows = raw(r, "XPENDING", "s", "g", "IDLE", "3600000", "-", "+", "10")
    assert [(x[0], x[1], x[3]) for x in rows] == [(b"2-0", b"carol", 1), (b"5-0", b"carol", 1)]
    assert all(7200000 <= x[2] < 7205000 for x in rows)
    assert pending(r, "s", "g", "IDLE", "3600000", "-", "+", "10", "bob") == []
    assert err(r, "XPENDING", "s", "g", "-", "+") == "ERR syntax error"
    assert err(r, "XPENDING", "s", "g", "-", "+", "x") == "ERR value is not an integer or out of range"
    assert err(r, "XPENDING", "s", "nog", "-", "+", "10") == "NOGROUP No such key 's' or consumer group 'nog'"


# ------------------------------------------------------------------ XCLAIM

def setup_claims(r, n=6):
    fill(r, "s", n)
    r.xgroup_create("s", "g", "0")
    raw(r, "XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">")


def test_xclaim_min_idle_time_and_reply(r):
    setup_claims(r)
    # Not idle long enough: nothing claimed.
    assert raw(r, "XCLAIM", "s", "g", "bob", "3600000", "1-0") == []
    got = raw(r, "XCLAIM", "s", "g", "bob", "0", "1-0", "2-0", "9-0")
    assert got == [entry("1-0", "f", "v1"), entry("2-0", "f", "v2")]
    assert pending(r, "s", "g", "-", "+", "3") == \
        [(b"1-0", b"bob", 2), (b"2-0", b"bob", 2), (b"3-0", b"alice", 1)]
    rows = raw(r, "XPENDING", "s", "g", "-", "+", "2")
    assert all(0 <= x[2] < 5000 for x in rows)  # claiming resets the idle time


def test_xclaim_options(r):
    setup_claims(r)
    # JUSTID: IDs only, delivery count untouched.
    assert raw(r, "XCLAIM", "s", "g", "bob", "0", "1-0", "JUSTID") == [b"1-0"]
    assert pending(r, "s", "g", "1-0", "1-0", "1") == [(b"1-0", b"bob", 1)]
    # IDLE and RETRYCOUNT set the PEL entry as given.
    assert raw(r, "XCLAIM", "s", "g", "bob", "0", "2-0", "IDLE", "500000", "RETRYCOUNT", "7", "JUSTID") == \
        [b"2-0"]
    row = raw(r, "XPENDING", "s", "g", "2-0", "2-0", "1")[0]
    assert row[:2] == [b"2-0", b"bob"] and row[3] == 7 and 500000 <= row[2] < 505000
    # TIME is an absolute Unix time in ms.
    now_ms = int(r.time()[0]) * 1000
    assert raw(r, "XCLAIM", "s", "g", "bob", "0", "3-0", "TIME", str(now_ms - 100000), "JUSTID") == [b"3-0"]
    row = raw(r, "XPENDING", "s", "g", "3-0", "3-0", "1")[0]
    assert 99000 <= row[2] < 106000
    # LASTID moves the group's last-delivered-id forward only.
    assert raw(r, "XCLAIM", "s", "g", "bob", "0", "4-0", "LASTID", "20-0", "JUSTID") == [b"4-0"]
    assert raw(r, "XCLAIM", "s", "g", "bob", "0", "5-0", "LASTID", "2-0", "JUSTID") == [b"5-0"]
    protocol = r.get_connection_kwargs()["protocol"]
    assert xinfo_groups(r, protocol, "s")[b"g"]["last-delivered-id"] == b"20-0"


def test_xclaim_force(r):
    fill(r, "s", 3)
    r.xgroup_create("s", "g", "0")
    # Not pending anywhere: only FORCE claims it, and only if the entry exists.
    assert raw(r, "XCLAIM", "s", "g", "bob", "0", "2-0") == []
    assert raw(r, "XCLAIM", "s", "g", "bob", "0", "2-0", "9-0", "FORCE") == [entry("2-0", "f", "v2")]
    assert pending(r, "s", "g", "-", "+", "10") == [(b"2-0", b"bob", 2)]
    assert raw(r, "XCLAIM", "s", "g", "bob", "0", "3-0", "FORCE", "JUSTID") == [b"3-0"]
    assert pending(r, "s", "g", "-", "+", "10") == [(b"2-0", b"bob", 2), (b"3-0", b"bob", 1)]


def test_xclaim_deleted_entries_leave_the_pel(r):
    setup_claims(r, 4)
    r.xdel("s", "2-0", "3-0")
    assert raw(r, "XCLAIM", "s", "g", "bob", "0", "1-0", "2-0", "3-0", "4-0") == \
        [entry("1-0", "f", "v1"), entry("4-0", "f", "v4")]
    assert pending(r, "s", "g", "-", "+", "10") == [(b"1-0", b"bob", 2), (b"4-0", b"bob", 2)]
    protocol = r.get_connection_kwargs()["protocol"]
    consumers = xinfo_consumers(r, protocol, "s", "g")
    assert (consumers[b"alice"]["pending"], consumers[b"bob"]["pending"]) == (0, 2)


def test_xclaim_errors(r):
    setup_claims(r, 2)
    assert err(r, "XCLAIM", "s", "nog", "bob", "0", "1-0") == "NOGROUP No such key 's' or consumer group 'nog'"
    assert err(r, "XCLAIM", "nokey", "g", "bob", "0", "1-0") == \
        "NOGROUP No such key 'nokey' or consumer group 'g'"
    assert err(r, "XCLAIM", "s", "g", "bob", "x", "1-0") == \
        "ERR Invalid min-idle-time argument for XCLAIM"
    assert err(r, "XCLAIM", "s", "g", "bob", "0", "1-0", "IDLE", "x") == \
        "ERR Invalid IDLE option argument for XCLAIM"
    assert err(r, "XCLAIM", "s", "g", "bob", "0", "1-0", "RETRYCOUNT", "x") == \
        "ERR Invalid RETRYCOUNT option argument for XCLAIM"
    assert err(r, "XCLAIM", "s", "g", "bob", "0", "1-0", "BOGUS") == \
        "ERR Unrecognized XCLAIM option 'BOGUS'"
    assert pending(r, "s", "g", "-", "+", "10") == [(b"1-0", b"alice", 1), (b"2-0", b"alice", 1)]


# ------------------------------------------------------------------ XAUTOCLAIM

def test_xautoclaim(r):
    setup_claims(r, 6)
    r.xdel("s", "2-0", "5-0")
    got = raw(r, "XAUTOCLAIM", "s", "g", "bob", "0", "0", "COUNT", "2")
    assert got == [b"3-0", [entry("1-0", "f", "v1")], [b"2-0"]]
    got = raw(r, "XAUTOCLAIM", "s", "g", "bob", "0", "3-0", "COUNT", "2", "JUSTID")
    assert got == [b"5-0", [b"3-0", b"4-0"], []]
    got = raw(r, "XAUTOCLAIM", "s", "g", "bob", "0", "0")
    assert got == [b"0-0", [entry(f"{i}-0", "f", f"v{i}") for i in (1, 3, 4, 6)], [b"5-0"]]
    # Deleted entries are gone from the PEL; JUSTID did not count a delivery.
    assert pending(r, "s", "g", "-", "+", "10") == \
        [(b"1-0", b"bob", 3), (b"3-0", b"bob", 2), (b"4-0", b"bob", 2), (b"6-0", b"bob", 2)]
    # Nothing idle long enough.
    assert raw(r, "XAUTOCLAIM", "s", "g", "carol", "3600000", "0") == [b"0-0", [], []]
    assert err(r, "XAUTOCLAIM", "s", "g", "bob", "0", "0", "COUNT", "0") == "ERR COUNT must be > 0"
    assert err(r, "XAUTOCLAIM", "s", "nog", "bob", "0", "0") == \
        "NOGROUP No such key 's' or consumer group 'nog'"
    protocol = r.get_connection_kwargs()["protocol"]
    consumers = xinfo_consumers(r, protocol, "s", "g")
    assert (consumers[b"alice"]["pending"], consumers[b"bob"]["pending"]) == (0, 4)


def test_xautoclaim_cursor_is_exclusive_of_nothing(r):
    # The start is inclusive: the cursor returned is the next ID to look at.
    setup_claims(r, 3)
    got = raw(r, "XAUTOCLAIM", "s", "g", "bob", "0", "2-0", "COUNT", "1", "JUSTID")
    assert got == [b"3-0", [b"2-0"], []]
    got = raw(r, "XAUTOCLAIM", "s", "g", "bob", "0", "(2-0", "COUNT", "5", "JUSTID")
    assert got == [b"0-0", [b"3-0"], []]


# ------------------------------------------------------------------ XINFO

def test_xinfo_groups_fields_and_shape(r, protocol):
    fill(r, "s", 3)
    r.xgroup_create("s", "g", "0")
    raw(r, "XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "s", ">")
    reply = raw(r, "XINFO", "GROUPS", "s")
    assert isinstance(reply, list) and len(reply) == 1
    g = as_map(reply[0], protocol)
    assert list(g) == ["name", "consumers", "pending", "last-delivered-id", "entries-read", "lag"]
    assert g == {"name": b"g", "consumers": 1, "pending": 1, "last-delivered-id": b"1-0",
                 "entries-read": 1, "lag": 2}
    assert err(r, "XINFO", "GROUPS", "nokey") == "ERR no such key"


def test_xinfo_groups_lag(r, protocol):
    fill(r, "s", 5)
    r.xgroup_create("s", "g", "0")
    r.xgroup_create("s", "other", "0")
    raw(r, "XREADGROUP", "GROUP", "g", "c", "COUNT", "2", "STREAMS", "s", ">")
    g = xinfo_groups(r, protocol, "s")
    assert (g[b"g"]["entries-read"], g[b"g"]["lag"]) == (2, 3)
    assert (g[b"other"]["entries-read"], g[b"other"]["lag"]) == (None, 5)
    # An XDEL after the group's position makes the lag unknown.
    r.xdel("s", "4-0")
    g = xinfo_groups(r, protocol, "s")
    assert (g[b"g"]["entries-read"], g[b"g"]["lag"]) == (2, None)
    assert g[b"other"]["lag"] is None
    raw(r, "XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "s", ">")
    g = xinfo_groups(r, protocol, "s")[b"g"]
    assert (g["last-delivered-id"], g["entries-read"], g["lag"]) == (b"3-0", None, None)
    # Reaching the last entry makes it known again.
    raw(r, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">")
    g = xinfo_groups(r, protocol, "s")[b"g"]
    assert (g["last-delivered-id"], g["entries-read"], g["lag"]) == (b"5-0", 5, 0)
    r.xadd("s", {"f": "v6"}, id="6-0")
    g = xinfo_groups(r, protocol, "s")[b"g"]
    assert (g["entries-read"], g["lag"]) == (5, 1)


def test_xinfo_groups_lag_xdel_before_group_position(r, protocol):
    fill(r, "s", 4)
    r.xgroup_create("s", "g", "0")
    raw(r, "XREADGROUP", "GROUP", "g", "c", "COUNT", "2", "STREAMS", "s", ">")
    r.xdel("s", "1-0")  # before the group's position: lag still known
    g = xinfo_groups(r, protocol, "s")[b"g"]
    assert (g["entries-read"], g["lag"]) == (2, 2)


def test_xinfo_groups_lag_after_xsetid(r, protocol):
    fill(r, "s", 3)
    r.xgroup_create("s", "g", "0")
    raw(r, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">")
    g = xinfo_groups(r, protocol, "s")[b"g"]
    assert (g["entries-read"], g["lag"]) == (3, 0)
    assert raw(r, "XSETID", "s", "3-0", "ENTRIESADDED", "10") == b"OK"
    g = xinfo_groups(r, protocol, "s")[b"g"]
    assert (g["entries-read"], g["lag"]) == (3, 7)
    assert raw(r, "XSETID", "s", "3-0", "ENTRIESADDED", "10", "MAXDELETEDID", "3-0") == b"OK"
    g = xinfo_groups(r, protocol, "s")[b"g"]
    assert (g["entries-read"], g["lag"]) == (3, 0)
    r.xadd("s", {"f": "v4"}, id="4-0")
    g = xinfo_groups(r, protocol, "s")[b"g"]
    assert (g["entries-read"], g["lag"]) == (3, None)


def test_xinfo_groups_empty_stream(r, protocol):
    raw(r, "XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    g = xinfo_groups(r, protocol, "s")[b"g"]
    assert g == {"name": b"g", "consumers": 0, "pending": 0, "last-delivered-id": b"0-0",
                 "entries-read": None, "lag": 0}
    fill(r, "s", 3)
    g = xinfo_groups(r, protocol, "s")[b"g"]
    assert (g["entries-read"], g["lag"]) == (None, 3)


def test_xinfo_consumers(r, protocol):
    fill(r, "s", 3)
    r.xgroup_create("s", "g", "0")
    raw(r, "XREADGROUP", "GROUP", "g", "bob", "COUNT", "2", "STREAMS", "s", ">")
    raw(r, "XGROUP", "CREATECONSUMER", "s", "g", "alice")
    reply = raw(r, "XINFO", "CONSUMERS", "s", "g")
    assert isinstance(reply, list) and len(reply) == 2
    consumers = [as_map(c, protocol) for c in reply]
    assert [c["name"] for c in consumers] == [b"alice", b"bob"]  # sorted by name
    assert [c["pending"] for c in consumers] == [0, 2]
    for c in consumers:
        assert {"name", "pending", "idle"} <= set(c)
        assert 0 <= c["idle"] < 5000
    assert err(r, "XINFO", "CONSUMERS", "s", "nog") == "NOGROUP No such consumer group 'nog' for key name 's'"
    assert err(r, "XINFO", "CONSUMERS", "nokey", "g") == "ERR no such key"


@pytest.mark.sluice_only("follows https://redis.io/docs/latest/commands/xinfo-consumers/ (since 7.2 "
                         "XREADGROUP creates the consumer even when it serves nothing, so its idle "
                         "time can count the attempt)")
def test_xreadgroup_creates_consumer_even_when_nothing_is_served(r, protocol):
    fill(r, "s", 1)
    r.xgroup_create("s", "g", "$")
    assert raw(r, "XREADGROUP", "GROUP", "g", "carol", "STREAMS", "s", ">") is None
    consumers = xinfo_consumers(r, protocol, "s", "g")
    assert list(consumers) == [b"carol"] and consumers[b"carol"]["pending"] == 0
    assert xinfo_groups(r, protocol, "s")[b"g"]["consumers"] == 1


@pytest.mark.sluice_only("follows https://redis.io/docs/latest/commands/xinfo-consumers/ (7.2 added "
                         "inactive; idle became time since the last attempted interaction)")
def test_xinfo_consumers_inactive(r, protocol):
    fill(r, "s", 2)
    r.xgroup_create("s", "g", "0")
    raw(r, "XGROUP", "CREATECONSUMER", "s", "g", "fresh")
    raw(r, "XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">")
    raw(r, "XCLAIM", "s", "g", "bob", "0", "1-0", "IDLE", "0", "JUSTID")
    consumers = [as_map(c, protocol) for c in raw(r, "XINFO", "CONSUMERS", "s", "g")]
    assert [list(c) for c in consumers] == [["name", "pending", "idle", "inactive"]] * 2
    fresh, bob = consumers[1], consumers[0]
    assert (bob["name"], fresh["name"]) == (b"bob", b"fresh")
    # Never read or claimed anything: inactive is -1.
    assert fresh["inactive"] == -1 and 0 <= fresh["idle"] < 5000
    assert 0 <= bob["inactive"] < 5000 and 0 <= bob["idle"] < 5000
    # An attempt that delivers nothing refreshes idle but not inactive.
    time.sleep(0.3)
    assert raw(r, "XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">") is None
    bob = {c["name"]: c for c in (as_map(x, protocol) for x in raw(r, "XINFO", "CONSUMERS", "s", "g"))}[b"bob"]
    assert bob["idle"] < 250 <= bob["inactive"] < 5000


# ------------------------------------------------------------------ key lifecycle

def test_del_drops_groups_rename_keeps_them(r, protocol):
    fill(r, "s", 2)
    r.xgroup_create("s", "g", "0")
    raw(r, "XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "s", ">")
    assert r.rename("s", "t") is True
    g = xinfo_groups(r, protocol, "t")[b"g"]
    assert (g["pending"], g["last-delivered-id"], g["consumers"]) == (1, b"1-0", 1)
    got = streams(raw(r, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "t", ">"), protocol)
    assert got == [(b"t", [entry("2-0", "f", "v2")])]
    assert r.delete("t") == 1
    fill(r, "t", 2)
    assert raw(r, "XINFO", "GROUPS", "t") == []
    assert err(r, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "t", ">") == \
        "NOGROUP No such key 't' or consumer group 'g' in XREADGROUP with GROUP option"


def test_xtrim_keeps_pel_entries(r, protocol):
    fill(r, "s", 4)
    r.xgroup_create("s", "g", "0")
    raw(r, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">")
    assert r.xtrim("s", maxlen=1, approximate=False) == 3
    assert [row[0] for row in pending(r, "s", "g", "-", "+", "10")] == [b"1-0", b"2-0", b"3-0", b"4-0"]
    got = streams(raw(r, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "0"), protocol)
    assert got == [(b"s", [[b"1-0", None], [b"2-0", None], [b"3-0", None], entry("4-0", "f", "v4")])]
