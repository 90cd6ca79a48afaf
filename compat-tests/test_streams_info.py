"""XINFO STREAM (plain and FULL) and XINFO HELP, against Redis and Sluice.

Replies are read with rawcmd.raw(): RESP2 sends XINFO STREAM as a flat
field/value list, RESP3 as a map; both are checked in order. radix-tree-keys
is the number of listpack nodes and is asserted exactly; radix-tree-nodes
counts Redis's internal radix tree nodes, which Sluice does not promise to
match, so only its type and growth are checked. Consumer groups appear only
through XGROUP CREATE (no consumers, nothing pending), and only the group
fields whose values Redis 7.0 and 7.4 agree on are asserted.
"""

import pytest
import redis

from rawcmd import raw

PLAIN_FIELDS = [
    b"length", b"radix-tree-keys", b"radix-tree-nodes", b"last-generated-id",
    b"max-deleted-entry-id", b"entries-added", b"recorded-first-entry-id", b"groups",
    b"first-entry", b"last-entry",
]
FULL_FIELDS = [
    b"length", b"radix-tree-keys", b"radix-tree-nodes", b"last-generated-id",
    b"max-deleted-entry-id", b"entries-added", b"recorded-first-entry-id", b"entries",
    b"groups",
]
GROUP_FIELDS = [
    b"name", b"last-delivered-id", b"entries-read", b"lag", b"pel-count", b"pending",
    b"consumers",
]


def err(r, *args):
    with pytest.raises(redis.ResponseError) as excinfo:
        raw(r, *args)
    return str(excinfo.value)


def pairs(reply, protocol):
    """A field/value reply as an ordered list of (field, value), checking it
    has the protocol's shape (flat list in RESP2, map in RESP3)."""
    if protocol == 3:
        assert isinstance(reply, dict), reply
        return list(reply.items())
    assert isinstance(reply, list) and len(reply) % 2 == 0, reply
    return list(zip(reply[::2], reply[1::2]))


def xinfo(r, protocol, *args):
    items = pairs(raw(r, "XINFO", "STREAM", *args), protocol)
    return [k for k, _ in items], dict(items)


def fill(r, key, n, first=1):
    pipe = r.pipeline(transaction=False)
    for i in range(first, first + n):
        pipe.execute_command("XADD", key, f"{i}-0", "f", f"v{i}")
    pipe.execute()


def entry(i):
    return [f"{i}-0".encode(), [b"f", f"v{i}".encode()]]


def test_xinfo_stream_plain(r, protocol):
    fill(r, "s", 5)
    fields, i = xinfo(r, protocol, "s")
    assert fields == PLAIN_FIELDS
    assert isinstance(i[b"radix-tree-nodes"], int) and i[b"radix-tree-nodes"] > 0
    del i[b"radix-tree-nodes"]
    assert i == {
        b"length": 5,
        b"radix-tree-keys": 1,
        b"last-generated-id": b"5-0",
        b"max-deleted-entry-id": b"0-0",
        b"entries-added": 5,
        b"recorded-first-entry-id": b"1-0",
        b"groups": 0,
        b"first-entry": entry(1),
        b"last-entry": entry(5),
    }


def test_xinfo_stream_tracks_deletes_and_trims(r, protocol):
    fill(r, "s", 5)
    raw(r, "XDEL", "s", "1-0")
    _, i = xinfo(r, protocol, "s")
    assert (i[b"length"], i[b"max-deleted-entry-id"], i[b"recorded-first-entry-id"],
            i[b"first-entry"], i[b"last-entry"]) == (4, b"1-0", b"2-0", entry(2), entry(5))
    raw(r, "XDEL", "s", "5-0")
    _, i = xinfo(r, protocol, "s")
    assert (i[b"length"], i[b"last-generated-id"], i[b"max-deleted-entry-id"],
            i[b"entries-added"], i[b"last-entry"]) == (3, b"5-0", b"5-0", 5, entry(4))
    # Trimming moves the first entry but is not a deletion.
    assert raw(r, "XTRIM", "s", "MAXLEN", "1") == 2
    _, i = xinfo(r, protocol, "s")
    assert (i[b"length"], i[b"max-deleted-entry-id"], i[b"recorded-first-entry-id"],
            i[b"first-entry"], i[b"last-entry"]) == (1, b"5-0", b"4-0", entry(4), entry(4))
    raw(r, "XADD", "s", "8-0", "f", "v8")
    _, i = xinfo(r, protocol, "s")
    assert (i[b"length"], i[b"entries-added"], i[b"last-generated-id"], i[b"last-entry"]) == \
        (2, 6, b"8-0", entry(8))


def test_xinfo_stream_empty(r, protocol):
    raw(r, "XADD", "s", "MAXLEN", "0", "3-0", "f", "v")
    fields, i = xinfo(r, protocol, "s")
    assert fields == PLAIN_FIELDS
    assert (i[b"length"], i[b"radix-tree-keys"], i[b"last-generated-id"],
            i[b"max-deleted-entry-id"], i[b"entries-added"], i[b"recorded-first-entry-id"],
            i[b"groups"], i[b"first-entry"], i[b"last-entry"]) == \
        (0, 0, b"3-0", b"0-0", 1, b"0-0", 0, None, None)
    assert isinstance(i[b"radix-tree-nodes"], int) and i[b"radix-tree-nodes"] > 0
    fields, i = xinfo(r, protocol, "s", "FULL")
    assert fields == FULL_FIELDS
    assert (i[b"length"], i[b"entries"], i[b"groups"]) == (0, [], [])


def test_xinfo_stream_after_xsetid(r, protocol):
    fill(r, "s", 2)
    raw(r, "XSETID", "s", "9-9", "ENTRIESADDED", "40", "MAXDELETEDID", "7-0")
    _, i = xinfo(r, protocol, "s")
    assert (i[b"last-generated-id"], i[b"entries-added"], i[b"max-deleted-entry-id"],
            i[b"last-entry"]) == (b"9-9", 40, b"7-0", entry(2))


def test_xinfo_stream_groups_count(r, protocol):
    fill(r, "s", 3)
    assert raw(r, "XGROUP", "CREATE", "s", "g1", "0") == b"OK"
    assert raw(r, "XGROUP", "CREATE", "s", "g2", "$") == b"OK"
    _, i = xinfo(r, protocol, "s")
    assert i[b"groups"] == 2


def test_xinfo_stream_full(r, protocol):
    fill(r, "s", 25)
    fields, i = xinfo(r, protocol, "s", "FULL")
    assert fields == FULL_FIELDS
    # Ten entries unless COUNT says otherwise.
    assert i[b"entries"] == [entry(n) for n in range(1, 11)]
    assert (i[b"length"], i[b"radix-tree-keys"], i[b"last-generated-id"],
            i[b"max-deleted-entry-id"], i[b"entries-added"], i[b"recorded-first-entry-id"],
            i[b"groups"]) == (25, 1, b"25-0", b"0-0", 25, b"1-0", [])
    _, i = xinfo(r, protocol, "s", "FULL", "COUNT", "3")
    assert i[b"entries"] == [entry(1), entry(2), entry(3)]
    _, i = xinfo(r, protocol, "s", "full", "count", "0")
    assert i[b"entries"] == [entry(n) for n in range(1, 26)]
    _, i = xinfo(r, protocol, "s", "FULL", "COUNT", "100")
    assert len(i[b"entries"]) == 25
    # Deleted entries are skipped.
    raw(r, "XDEL", "s", "2-0", "3-0")
    _, i = xinfo(r, protocol, "s", "FULL", "COUNT", "3")
    assert i[b"entries"] == [entry(1), entry(4), entry(5)]


def test_xinfo_stream_full_groups(r, protocol):
    fill(r, "s", 5)
    raw(r, "XGROUP", "CREATE", "s", "late", "$")
    raw(r, "XGROUP", "CREATE", "s", "counted", "0", "ENTRIESREAD", "2")
    _, i = xinfo(r, protocol, "s", "FULL")
    groups = [pairs(g, protocol) for g in i[b"groups"]]
    assert [[k for k, _ in g] for g in groups] == [GROUP_FIELDS, GROUP_FIELDS]
    # Groups come in name order, not creation order.
    counted, late = (dict(g) for g in groups)
    assert (late[b"name"], late[b"last-delivered-id"], late[b"lag"], late[b"pel-count"],
            late[b"pending"], late[b"consumers"]) == (b"late", b"5-0", 0, 0, [], [])
    assert counted == {
        b"name": b"counted", b"last-delivered-id": b"0-0", b"entries-read": 2, b"lag": 3,
        b"pel-count": 0, b"pending": [], b"consumers": [],
    }


def test_radix_tree_nodes_grows_with_nodes(r):
    def nodes(key):
        reply = raw(r, "XINFO", "STREAM", key)
        if isinstance(reply, list):
            reply = dict(zip(reply[::2], reply[1::2]))
        return reply[b"radix-tree-keys"], reply[b"radix-tree-nodes"]

    fill(r, "one", 50)
    fill(r, "many", 1000)
    keys_one, nodes_one = nodes("one")
    keys_many, nodes_many = nodes("many")
    assert (keys_one, keys_many) == (1, 10)
    assert isinstance(nodes_one, int) and isinstance(nodes_many, int)
    assert 0 < nodes_one < nodes_many
    # Trimming whole nodes away shrinks it again.
    raw(r, "XTRIM", "many", "MAXLEN", "~", "100")
    keys_after, nodes_after = nodes("many")
    assert keys_after == 1
    assert 0 < nodes_after < nodes_many


def test_xinfo_errors(r):
    fill(r, "s", 2)
    raw(r, "SET", "str", "x")
    assert err(r, "XINFO", "STREAM", "missing") == "no such key"
    assert err(r, "XINFO", "STREAM", "missing", "FULL") == "no such key"
    assert err(r, "XINFO", "STREAM", "str") == \
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    # Bad trailing arguments echo the subcommand as typed.
    bad_args = "unknown subcommand or wrong number of arguments for '{}'. Try XINFO HELP."
    assert err(r, "XINFO", "STREAM", "s", "FOO") == bad_args.format("STREAM")
    assert err(r, "XINFO", "Stream", "s", "FULL", "COUNT") == bad_args.format("Stream")
    assert err(r, "XINFO", "stream", "s", "FULL", "COUNT", "1", "extra") == \
        bad_args.format("stream")
    assert err(r, "XINFO", "STREAM", "s", "FULL", "COUNT", "x") == \
        "value is not an integer or out of range"
    assert err(r, "XINFO", "STREAM") == "wrong number of arguments for 'xinfo|stream' command"
    assert err(r, "XINFO") == "wrong number of arguments for 'xinfo' command"
    assert err(r, "XINFO", "foo") == "unknown subcommand 'foo'. Try XINFO HELP."


def test_xinfo_help(r):
    reply = raw(r, "XINFO", "HELP")
    assert isinstance(reply, list) and len(reply) > 1
    assert all(isinstance(line, bytes) and line for line in reply)
    assert any(b"STREAM" in line for line in reply)
    assert raw(r, "xinfo", "help") == reply
