"""Keyspace notifications (`notify-keyspace-events`) against Redis and
Sluice: CONFIG GET/SET of the class string, and the events each command
family raises, on `__keyevent@<db>__:<event>` (key as message) and
`__keyspace@<db>__:<key>` (event as message), in order.

Each command's events are read up to a marker message published after it
from the same connection: pub/sub delivery to one subscriber is in order,
so everything before the marker is what the command raised."""

import time

import pytest
import redis

from rawcmd import raw

MARKER = "__keyevent@0__:zz-marker"


class Recorder:
    def __init__(self, srv, flags, pattern="__key*__:*"):
        self.c = srv.client()
        self.c.config_set("notify-keyspace-events", flags)
        self.sub = srv.client().pubsub()
        # The pattern covers the marker's channel too.
        self.sub.psubscribe(pattern)
        deadline = time.time() + 5
        confirmed = False
        while not confirmed and time.time() < deadline:
            m = self.sub.get_message(timeout=0.5)
            confirmed = bool(m and m["type"] == "psubscribe")
        assert confirmed

    def run(self, *cmd, as_keyspace=False):
        """The events `cmd` raised, as `event(key)` strings (or the raw
        (channel, message) pairs)."""
        try:
            raw(self.c, *cmd)
        except redis.ResponseError:
            pass
        return self.drain(as_keyspace)

    def drain(self, as_keyspace=False):
        raw(self.c, "PUBLISH", MARKER, "m")
        out = []
        deadline = time.time() + 5
        while time.time() < deadline:
            m = self.sub.get_message(timeout=0.5)
            if not m or m["type"] != "pmessage":
                continue
            channel, data = m["channel"].decode(), m["data"].decode()
            if channel == MARKER:
                return out
            if as_keyspace:
                out.append((channel, data))
            else:
                event = channel.split(":", 1)[1] if channel.startswith("__keyevent") else None
                if event is not None:
                    out.append(f"{event}({data})")
        raise AssertionError(f"marker not seen; got {out}")

    def close(self):
        self.sub.close()
        self.c.close()


def test_config_class_string(kind, start_server):
    srv = start_server(kind)
    with srv.client() as c:
        assert c.config_get("notify-keyspace-events") == {"notify-keyspace-events": ""}
        for value, shown in [
            ("KEA", "AKE"),
            ("Kgx$", "g$xK"),
            ("EKmdtexzhsl", "lshzxetdKEm"),
            ("gn", "gn"),
            ("KEAmn", "AKEm"),
            ("", ""),
        ]:
            c.config_set("notify-keyspace-events", value)
            assert c.config_get("notify-keyspace-events") == {"notify-keyspace-events": shown}
        with pytest.raises(redis.ResponseError) as e:
            c.config_set("notify-keyspace-events", "Q")
        assert "Invalid event class character" in str(e.value)


def test_generic_and_string_events(kind, start_server):
    rec = Recorder(start_server(kind), "KEA")
    try:
        cases = [
            (("SET", "s", "1"), ["set(s)"]),
            (("SET", "s", "3", "NX"), []),
            (("SET", "s", "3", "XX", "EX", "100"), ["set(s)", "expire(s)"]),
            (("SETEX", "s3", "100", "v"), ["set(s3)", "expire(s3)"]),
            (("GETSET", "s", "5"), ["set(s)"]),
            (("GETEX", "s", "PX", "5000"), ["expire(s)"]),
            (("GETEX", "s", "PERSIST"), ["persist(s)"]),
            (("MSET", "a", "1", "b", "2"), ["set(a)", "set(b)"]),
            (("INCR", "n"), ["incrby(n)"]),
            (("DECRBY", "n", "2"), ["incrby(n)"]),
            (("INCRBYFLOAT", "n", "1.5"), ["incrbyfloat(n)"]),
            (("APPEND", "s", "x"), ["append(s)"]),
            (("SETRANGE", "s", "1", "yy"), ["setrange(s)"]),
            (("GET", "nosuchkey"), []),
            (("DEL", "a", "b", "nosuch"), ["del(a)", "del(b)"]),
            (("GETDEL", "s3"), ["del(s3)"]),
            (("EXPIRE", "n", "100"), ["expire(n)"]),
            (("PERSIST", "n"), ["persist(n)"]),
            (("PERSIST", "n"), []),
            (("EXPIRE", "n", "-1"), ["del(n)"]),
            (("SET", "e", "1"), ["set(e)"]),
            (("RENAME", "e", "e2"), ["rename_from(e)", "rename_to(e2)"]),
            (("COPY", "e2", "e3"), ["copy_to(e3)"]),
            (("MOVE", "e3", "1"), ["move_from(e3)", "move_to(e3)"]),
            (("FLUSHDB",), []),
        ]
        for cmd, expected in cases:
            assert rec.run(*cmd) == expected, cmd
        # Both channels, with what each carries.
        assert rec.run("SET", "k", "v", as_keyspace=True) == [
            ("__keyspace@0__:k", "set"),
            ("__keyevent@0__:set", "k"),
        ]
    finally:
        rec.close()


def test_expired_new_and_keymiss_events(kind, start_server):
    rec = Recorder(start_server(kind), "KEA")
    try:
        assert rec.run("SET", "f", "1", "PX", "1") == ["set(f)", "expire(f)"]
        time.sleep(0.05)
        # The key expires lazily on access, or by the active sweep first.
        assert rec.run("GET", "f") == ["expired(f)"]
        rec.c.config_set("notify-keyspace-events", "KEnm")
        assert rec.run("SET", "k", "v") == ["new(k)"]
        assert rec.run("SET", "k", "v2") == []
        assert rec.run("GET", "missing") == ["keymiss(missing)"]
        assert rec.run("MGET", "m1", "m2") == ["keymiss(m1)", "keymiss(m2)"]
        assert rec.run("ZADD", "z", "1", "a") == ["new(z)"]
    finally:
        rec.close()


def test_sorted_set_events(kind, start_server):
    rec = Recorder(start_server(kind), "KEA")
    try:
        cases = [
            (("ZADD", "z", "1", "a", "2", "b"), ["zadd(z)"]),
            (("ZADD", "z", "3", "a"), ["zadd(z)"]),
            (("ZADD", "z", "3", "a"), []),
            (("ZINCRBY", "z", "1", "b"), ["zincr(z)"]),
            (("ZREM", "z", "a"), ["zrem(z)"]),
            (("ZREM", "z", "nosuch"), []),
            (("ZADD", "z", "1", "x", "2", "y"), ["zadd(z)"]),
            (("ZREMRANGEBYRANK", "z", "0", "0"), ["zremrangebyrank(z)"]),
            (("ZREMRANGEBYSCORE", "z", "100", "200"), []),
            (("ZREMRANGEBYLEX", "z", "-", "+"), ["zremrangebylex(z)", "del(z)"]),
            (("ZADD", "z", "1", "a", "2", "b", "3", "c"), ["zadd(z)"]),
            (("ZPOPMIN", "z"), ["zpopmin(z)"]),
            (("ZPOPMAX", "z"), ["zpopmax(z)"]),
            (("ZMPOP", "1", "z", "MIN"), ["zpopmin(z)", "del(z)"]),
            (("ZADD", "z1", "1", "a"), ["zadd(z1)"]),
            (("ZADD", "z2", "1", "a", "2", "b"), ["zadd(z2)"]),
            (("ZUNIONSTORE", "zd", "2", "z1", "z2"), ["zunionstore(zd)"]),
            (("ZINTERSTORE", "zd", "2", "z1", "z2"), ["zinterstore(zd)"]),
            (("ZDIFFSTORE", "zd", "2", "z2", "z1"), ["zdiffstore(zd)"]),
            (("ZDIFFSTORE", "zd", "2", "z1", "z2"), ["del(zd)"]),
            (("ZRANGESTORE", "zr", "z2", "0", "-1"), ["zrangestore(zr)"]),
            (("ZRANGESTORE", "zr", "z2", "5", "6"), ["del(zr)"]),
        ]
        for cmd, expected in cases:
            assert rec.run(*cmd) == expected, cmd
    finally:
        rec.close()


def test_stream_events(kind, start_server):
    rec = Recorder(start_server(kind), "KEA")
    try:
        cases = [
            (("XADD", "x", "1-1", "f", "v"), ["xadd(x)"]),
            (("XADD", "x", "MAXLEN", "1", "2-1", "f", "v"), ["xadd(x)", "xtrim(x)"]),
            (("XADD", "x", "MAXLEN", "5", "2-2", "f", "v"), ["xadd(x)"]),
            (("XTRIM", "x", "MAXLEN", "5"), []),
            (("XTRIM", "x", "MAXLEN", "0"), ["xtrim(x)"]),
            (("XADD", "x", "3-1", "f", "v"), ["xadd(x)"]),
            (("XDEL", "x", "3-1"), ["xdel(x)"]),
            (("XDEL", "x", "9-9"), []),
            (("XADD", "nox", "NOMKSTREAM", "3-1", "f", "v"), []),
            (("XGROUP", "CREATE", "x", "g", "$"), ["xgroup-create(x)"]),
            (("XGROUP", "CREATE", "x2", "g", "$", "MKSTREAM"), ["xgroup-create(x2)"]),
            (("XGROUP", "SETID", "x", "g", "0"), ["xgroup-setid(x)"]),
            (("XGROUP", "CREATECONSUMER", "x", "g", "c"), ["xgroup-createconsumer(x)"]),
            (("XADD", "x", "4-1", "f", "v"), ["xadd(x)"]),
            (("XREADGROUP", "GROUP", "g", "c2", "STREAMS", "x", ">"), ["xgroup-createconsumer(x)"]),
            (("XREADGROUP", "GROUP", "g", "c2", "STREAMS", "x", ">"), []),
            (("XCLAIM", "x", "g", "c3", "0", "4-1"), ["xgroup-createconsumer(x)"]),
            (("XAUTOCLAIM", "x", "g", "c4", "0", "0"), ["xgroup-createconsumer(x)"]),
            (("XACK", "x", "g", "4-1"), []),
            (("XGROUP", "DELCONSUMER", "x", "g", "c"), ["xgroup-delconsumer(x)"]),
            (("XGROUP", "DESTROY", "x", "g"), ["xgroup-destroy(x)"]),
            (("XSETID", "x", "5-0"), ["xsetid(x)"]),
        ]
        for cmd, expected in cases:
            assert rec.run(*cmd) == expected, cmd
    finally:
        rec.close()


def test_a_class_left_out_raises_nothing(kind, start_server):
    rec = Recorder(start_server(kind), "KEz")
    try:
        assert rec.run("SET", "s", "1") == []
        assert rec.run("ZADD", "z", "1", "a", as_keyspace=True) == [
            ("__keyspace@0__:z", "zadd"),
            ("__keyevent@0__:zadd", "z"),
        ]
        assert rec.run("DEL", "z") == []
    finally:
        rec.close()


def test_restore_events(kind, start_server):
    rec = Recorder(start_server(kind), "KEA")
    try:
        rec.run("SET", "src", "v")
        payload = rec.c.dump("src")
        rec.drain()
        rec.c.restore("new", 0, payload)
        assert rec.drain() == ["restore(new)"]
        rec.c.restore("new", 0, payload, replace=True)
        assert rec.drain() == ["restore(new)"]
        rec.c.restore("new", 1, payload, replace=True, absttl=True)
        assert rec.drain() == ["del(new)"]
        rec.c.restore("new2", 1, payload, absttl=True)
        assert rec.drain() == []
    finally:
        rec.close()


def test_set_events(kind, start_server):
    rec = Recorder(start_server(kind), "KEA")
    try:
        cases = [
            (("SADD", "s", "a", "b"), ["sadd(s)"]),
            (("SADD", "s", "a"), []),
            (("SREM", "s", "a"), ["srem(s)"]),
            (("SREM", "s", "nosuch"), []),
            (("SPOP", "s"), ["spop(s)", "del(s)"]),
            (("SADD", "s", "x", "y", "z"), ["sadd(s)"]),
            (("SPOP", "s", "2"), ["spop(s)"]),
            (("SADD", "s2", "1", "2"), ["sadd(s2)"]),
            (("SMOVE", "s2", "s3", "1"), ["srem(s2)", "sadd(s3)"]),
            (("SMOVE", "s2", "s3", "2"), ["srem(s2)", "del(s2)", "sadd(s3)"]),
            (("SADD", "a1", "1", "2"), ["sadd(a1)"]),
            (("SADD", "a2", "2", "3"), ["sadd(a2)"]),
            (("SINTERSTORE", "d", "a1", "a2"), ["sinterstore(d)"]),
            (("SUNIONSTORE", "d", "a1", "a2"), ["sunionstore(d)"]),
            (("SDIFFSTORE", "d", "a1", "a2"), ["sdiffstore(d)"]),
            (("SINTERSTORE", "d", "a1", "nosuch"), ["del(d)"]),
        ]
        for cmd, expected in cases:
            assert rec.run(*cmd) == expected, cmd
    finally:
        rec.close()


def test_bitmap_events(kind, start_server):
    rec = Recorder(start_server(kind), "KEA")
    try:
        cases = [
            (("SETBIT", "b", "7", "1"), ["setbit(b)"]),
            (("SETBIT", "b", "7", "1"), []),
            (("BITOP", "OR", "bd", "b", "b"), ["set(bd)"]),
            (("BITOP", "AND", "bd", "nosuch", "nosuch2"), ["del(bd)"]),
            (("BITFIELD", "bf", "SET", "u8", "0", "255"), ["setbit(bf)"]),
            (("BITFIELD", "bf", "GET", "u8", "0"), []),
            (("BITFIELD", "bf", "INCRBY", "u8", "0", "1"), ["setbit(bf)"]),
        ]
        for cmd, expected in cases:
            assert rec.run(*cmd) == expected, cmd
    finally:
        rec.close()


def test_hash_events(kind, start_server):
    rec = Recorder(start_server(kind), "KEA")
    try:
        cases = [
            (("HSET", "h", "f", "v"), ["hset(h)"]),
            (("HSET", "h", "f", "v"), ["hset(h)"]),
            (("HSETNX", "h", "g", "v"), ["hset(h)"]),
            (("HSETNX", "h", "g", "v"), []),
            (("HMSET", "h", "a", "1"), ["hset(h)"]),
            (("HINCRBY", "h", "n", "1"), ["hincrby(h)"]),
            (("HINCRBYFLOAT", "h", "fl", "1.5"), ["hincrbyfloat(h)"]),
            (("HDEL", "h", "f"), ["hdel(h)"]),
            (("HDEL", "h", "nosuch"), []),
            (("HDEL", "h", "g", "a", "n", "fl"), ["hdel(h)", "del(h)"]),
        ]
        for cmd, expected in cases:
            assert rec.run(*cmd) == expected, cmd
    finally:
        rec.close()


@pytest.mark.sluice_only("hash field expiry is Redis 7.4; the compat Redis is 7.0")
def test_hash_field_expiry_events(kind, start_server):
    rec = Recorder(start_server(kind), "KEA")
    try:
        assert rec.run("HSET", "h", "a", "1", "b", "2") == ["hset(h)"]
        rec.run("HPEXPIRE", "h", "1", "FIELDS", "2", "a", "b")
        time.sleep(0.05)
        assert rec.run("HGET", "h", "a") == ["hexpired(h)", "del(h)"]
    finally:
        rec.close()
