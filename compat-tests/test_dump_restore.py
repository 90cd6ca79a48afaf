"""DUMP and RESTORE against Redis and Sluice, and between them.

Payloads cross both ways: a value DUMPed by the real redis-server (7.0,
RDB version 10) RESTOREs into Sluice, and a value DUMPed by Sluice
RESTOREs into redis-server, which checks it with `sanitize-dump-payload
yes` (its deep validation of every listpack and stream). Each case then
reads the value back through the ordinary commands of its type.

Lists, sets and hashes: the cases run as soon as Sluice has the type (they
skip themselves while `COMMAND INFO` does not know the type's commands).
"""

import time

import pytest


# ------------------------------------------------------------ same server

def test_round_trip_and_options(r):
    r.set("foo", "bar")
    payload = r.dump("foo")
    assert r.dump("nonexisting") is None
    with pytest.raises(Exception, match="Target key name already exists"):
        r.restore("foo", 0, payload)
    assert r.restore("foo", 5000, payload, replace=True)
    assert 3000 <= r.pttl("foo") <= 5000
    now = int(time.time() * 1000)
    assert r.restore("foo", now + 60000, payload, replace=True, absttl=True)
    assert 50000 <= r.pttl("foo") <= 60000
    # ABSTTL in the past: REPLACE deletes, nothing is created.
    assert r.restore("foo", now - 3000, payload, replace=True, absttl=True)
    assert r.exists("foo") == 0
    assert r.restore("gone", now - 3000, payload, absttl=True)
    assert r.exists("gone") == 0
    assert r.restore("idle", 0, payload, idletime=1000)
    assert 1000 <= r.object("idletime", "idle") <= 1010
    assert r.restore("freq", 0, payload, frequency=100)
    assert r.get("freq") == b"bar"


@pytest.mark.parametrize("args,error", [
    (["foo", "0", "P", "bogus"], "ERR syntax error"),
    (["foo", "0", "P"], "BUSYKEY Target key name already exists."),
    (["foo", "-1", "P", "IDLETIME", "-1"], "ERR Invalid IDLETIME value, must be >= 0"),
    (["nokey", "0", "P", "IDLETIME", "x"], "ERR value is not an integer or out of range"),
    (["nokey", "0", "P", "FREQ", "256"], "ERR Invalid FREQ value, must be >= 0 and <= 255"),
    (["nokey", "0", "P", "IDLETIME", "1", "FREQ", "1"], "ERR syntax error"),
    (["nokey", "0", "P", "IDLETIME"], "ERR syntax error"),
    (["nokey", "-1", "P"], "ERR Invalid TTL value, must be >= 0"),
    (["nokey", "x", "P"], "ERR value is not an integer or out of range"),
    (["nokey", "0", "xx"], "ERR DUMP payload version or checksum are wrong"),
    (["nokey", "0", "BADCRC"], "ERR DUMP payload version or checksum are wrong"),
])
def test_errors(server, args, error):
    c = server.client()
    c.set("foo", "bar")
    payload = c.dump("foo")
    args = [payload if a == "P" else payload[:-1] + bytes([payload[-1] ^ 0xFF])
            if a == "BADCRC" else a for a in args]
    with pytest.raises(Exception) as e:
        c.execute_command("RESTORE", *args)
    assert f"{type(e.value).__name__}" and error.split(" ", 1)[1] in str(e.value)
    raw = server.cli("RESTORE", "foo", "0", "x", "bogus", raw=True)
    assert "syntax error" in raw.stdout


def test_sanitize_config(start_server, kind):
    s = start_server(kind)
    c = s.client()
    assert c.config_get("sanitize-dump-payload") == {"sanitize-dump-payload": "no"}
    assert c.config_set("sanitize-dump-payload", "clients")
    assert c.config_get("sanitize-dump-payload") == {"sanitize-dump-payload": "clients"}
    with pytest.raises(Exception, match="no, yes, clients"):
        c.config_set("sanitize-dump-payload", "maybe")
    # A zset listpack whose first backlen is wrong is refused only with it.
    zset = bytes.fromhex("111a1a0000000600816303dffd0281610283312e35048162020201ff")
    payload = seal(zset, 10)
    with pytest.raises(Exception, match="Bad data format"):
        c.restore("z", 0, payload)
    # Under "clients", a user with skip-sanitize-payload is not checked.
    c.execute_command("ACL", "SETUSER", "trusted", "on", ">pw", "~*", "+@all",
                      "skip-sanitize-payload")
    c.execute_command("ACL", "SETUSER", "checked", "on", ">pw", "~*", "+@all",
                      "sanitize-payload")
    assert b"skip-sanitize-payload" in c.execute_command("ACL", "GETUSER", "trusted")[1]
    lines = c.execute_command("ACL", "LIST")
    assert b"user checked on sanitize-payload #" in b"\n".join(lines)
    checked = s.client(username="checked", password="pw")
    with pytest.raises(Exception, match="Bad data format"):
        checked.restore("z", 0, payload)
    trusted = s.client(username="trusted", password="pw")
    assert trusted.restore("z", 0, payload)
    assert trusted.zcard("z") == 3
    c.delete("z")
    c.config_set("sanitize-dump-payload", "no")
    assert c.restore("z", 0, payload)
    assert c.zcard("z") == 3


def seal(obj, version):
    """A payload: object, RDB version, CRC-64/Jones."""
    body = obj + version.to_bytes(2, "little")
    return body + crc64(body).to_bytes(8, "little")


def crc64(data):
    poly = 0x95AC9329AC4BC9B5
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
    return crc


# ------------------------------------------------------------ both servers

@pytest.fixture
def pair(start_server):
    redis_server = start_server("redis", "--sanitize-dump-payload", "yes")
    sluice = start_server("sluice")
    return redis_server.client(), sluice.client()


def has_type(client, command):
    """Whether the server has the commands of a type (lists, sets, hashes
    are being added on other branches)."""
    try:
        client.execute_command(command, "__probe__")
    except Exception as e:  # noqa: BLE001 - any error text will do
        return "unknown command" not in str(e)
    return True


def stream_view(c, key):
    """What a client sees of a stream, without times that move."""
    info = c.xinfo_stream(key)
    groups = sorted(c.xinfo_groups(key), key=lambda g: g["name"])
    view = {
        "entries": c.xrange(key),
        "info": {k: info.get(k) for k in (
            "length", "last-generated-id", "max-deleted-entry-id",
            "entries-added", "recorded-first-entry-id")},
        "groups": [{k: g[k] for k in (
            "name", "consumers", "pending", "last-delivered-id",
            "entries-read", "lag")} for g in groups],
    }
    for g in groups:
        name = g["name"]
        pending = c.xpending_range(key, name, "-", "+", 1000)
        view[f"pel {name}"] = [(p["message_id"], p["consumer"], p["times_delivered"])
                               for p in pending]
        view[f"consumers {name}"] = sorted(
            (x["name"], x["pending"]) for x in c.xinfo_consumers(key, name))
    return view


def make_values(c):
    """One key of each type Sluice has, in several encodings."""
    c.set("s-embstr", "hello")
    c.set("s-int", "12345")
    c.set("s-neg", "-70000")
    c.set("s-long", "a" * 1000)          # LZF-compressed by Redis
    c.set("s-bin", bytes(range(256)) * 3)
    c.zadd("z-small", {"a": 1.5, "b": float("-inf"), "c": 3})
    c.zadd("z-big", {f"m{i}": i / 7 for i in range(300)})
    for i in range(1, 251):
        c.xadd("x", {"field": str(i), "other": "x" * (i % 7)}, id=f"{i}-1")
    c.xadd("x", {"different": "fields"}, id="300-0")
    c.xdel("x", "5-1")
    c.xgroup_create("x", "g1", id="0")
    c.xgroup_create("x", "g2", id="$")
    c.xreadgroup("g1", "alice", {"x": ">"}, count=3)
    c.xreadgroup("g1", "bob", {"x": ">"}, count=2)
    c.xack("x", "g1", "1-1")
    c.xgroup_createconsumer("x", "g2", "carol")
    c.xadd("x-empty", {"f": "v"}, id="5-5")
    c.xdel("x-empty", "5-5")


def same_values(a, b):
    for key in ("s-embstr", "s-int", "s-neg", "s-long", "s-bin"):
        assert a.get(key) == b.get(key), key
    for key in ("z-small", "z-big"):
        assert a.zrange(key, 0, -1, withscores=True) == b.zrange(key, 0, -1, withscores=True)
        assert a.object("encoding", key) == b.object("encoding", key)
    for key in ("x", "x-empty"):
        assert stream_view(a, key) == stream_view(b, key), key


@pytest.mark.parametrize("direction", ["redis-to-sluice", "sluice-to-redis"])
def test_every_type_crosses(pair, direction):
    redis_client, sluice_client = pair
    src, dst = (redis_client, sluice_client) if direction == "redis-to-sluice" \
        else (sluice_client, redis_client)
    make_values(src)
    for key in src.keys("*"):
        payload = src.dump(key)
        assert dst.restore(key, 0, payload) in (True, b"OK"), key
        assert dst.type(key) == src.type(key)
    same_values(src, dst)
    # The restored stream goes on working.
    assert dst.xack("x", "g1", "2-1", "3-1") == 2
    assert int(dst.xadd("x", {"f": "v"}).split(b"-")[0]) > 300


def test_ttl_crosses(pair):
    redis_client, sluice_client = pair
    redis_client.set("k", "v")
    assert sluice_client.restore("k", 100000, redis_client.dump("k"))
    assert 90000 < sluice_client.pttl("k") <= 100000
    assert redis_client.restore("k2", 100000, sluice_client.dump("k"))
    assert 90000 < redis_client.pttl("k2") <= 100000


def test_lists_cross(pair):
    redis_client, sluice_client = pair
    if not has_type(sluice_client, "llen"):
        pytest.skip("Sluice has no lists on this branch yet")
    redis_client.rpush("l-small", "a", "b", "1", "-5", "300")
    redis_client.rpush("l-big", *[f"item-{i}" for i in range(1000)])
    redis_client.rpush("l-huge-element", "x" * 20000, "y")
    for key in ("l-small", "l-big", "l-huge-element"):
        sluice_client.restore(key, 0, redis_client.dump(key))
        assert sluice_client.lrange(key, 0, -1) == redis_client.lrange(key, 0, -1)
        redis_client.restore(key + "-back", 0, sluice_client.dump(key))
        assert redis_client.lrange(key + "-back", 0, -1) == redis_client.lrange(key, 0, -1)


def test_sets_cross(pair):
    redis_client, sluice_client = pair
    if not has_type(sluice_client, "scard"):
        pytest.skip("Sluice has no sets on this branch yet")
    redis_client.sadd("st-int", 1, 2, 3, -100, 70000)
    redis_client.sadd("st-str", "a", "b", "c")
    redis_client.sadd("st-big", *range(1000))
    for key in ("st-int", "st-str", "st-big"):
        sluice_client.restore(key, 0, redis_client.dump(key))
        assert sluice_client.smembers(key) == redis_client.smembers(key)
        redis_client.restore(key + "-back", 0, sluice_client.dump(key))
        assert redis_client.smembers(key + "-back") == redis_client.smembers(key)


def test_hashes_cross(pair):
    redis_client, sluice_client = pair
    if not has_type(sluice_client, "hlen"):
        pytest.skip("Sluice has no hashes on this branch yet")
    redis_client.hset("h-small", mapping={"f1": "v1", "f2": "2"})
    redis_client.hset("h-big", mapping={f"f{i}": "v" * (i % 100) for i in range(1000)})
    for key in ("h-small", "h-big"):
        sluice_client.restore(key, 0, redis_client.dump(key))
        assert sluice_client.hgetall(key) == redis_client.hgetall(key)
        redis_client.restore(key + "-back", 0, sluice_client.dump(key))
        assert redis_client.hgetall(key + "-back") == redis_client.hgetall(key)


@pytest.mark.sluice_only("payloads of encodings Redis 7.0 no longer writes")
def test_old_encodings(r):
    # RDB 6 (Redis 2.8): a list as a ziplist (type 10) and a zset with
    # text scores (type 3); Sluice reads them, as Redis does.
    zl = bytes([0x11, 0, 0, 0, 0x0E, 0, 0, 0, 2, 0, 0, 0x02, 0x61, 0x62, 4, 0xF6, 0xFF])
    ztext = bytes([3, 2, 1, 0x61, 3]) + b"1.5" + bytes([1, 0x62, 254])
    assert r.restore("z", 0, seal(ztext, 6))
    got = [tuple(p) for p in r.zrange("z", 0, -1, withscores=True)]
    assert got == [(b"a", 1.5), (b"b", float("inf"))]
    if has_type(r, "llen"):
        assert r.restore("l", 0, seal(bytes([10, len(zl)]) + zl, 6))
        assert r.lrange("l", 0, -1) == [b"ab", b"5"]
