"""Pub/Sub against Redis and Sluice: SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE and
their UNSUBSCRIBEs, PUBLISH / SPUBLISH, PUBSUB introspection, the RESP2
subscribed mode, RESP3 pushes, CLIENT LIST / INFO fields, and the pub/sub
output-buffer limit.

Exact wire shapes are read through plain sockets (RawConn); redis-py's
``pubsub()`` covers the stock-client path in RESP2 and RESP3. Channel names
are unique per test, since the shared server outlives each test's clients."""

import socket
import time
import uuid

import pytest
import redis

from rawcmd import raw
from test_stream_groups_util import RawConn, wait_until

PUBSUB_PAGE = "https://redis.io/docs/latest/develop/interact/pubsub/"


def b(x):
    return x if isinstance(x, bytes) else str(x).encode()


def bulk(x):
    x = b(x)
    return b"$%d\r\n%s\r\n" % (len(x), x)


def push(protocol, *items):
    """A pub/sub frame: a RESP3 push, or a RESP2 array."""
    head = b">" if protocol == 3 else b"*"
    out = head + b"%d\r\n" % len(items)
    for item in items:
        if item is None:
            out += b"_\r\n" if protocol == 3 else b"$-1\r\n"
        elif isinstance(item, int):
            out += b":%d\r\n" % item
        else:
            out += bulk(item)
    return out


def name(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def read_frames(conn, n):
    return [conn.read_reply() for _ in range(n)]


def get_message(p, timeout=5.0):
    """The next message (subscription confirmations included) or fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = p.get_message(timeout=0.2)
        if m is not None:
            return m
    raise AssertionError("no pub/sub message within %ss" % timeout)


def numsub(r, channel):
    return dict(r.pubsub_numsub(channel))[b(channel)]


# ---------------------------------------------------------------- shapes


def test_unsubscribe_with_nothing_subscribed(server, protocol):
    c = RawConn(server, protocol)
    try:
        for cmd in ("UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE"):
            c.send(cmd)
            assert c.read_reply() == push(protocol, cmd.lower(), None, 0)
        # Not in subscribed mode afterwards.
        c.send("PING")
        assert c.read_reply() == b"+PONG\r\n"
    finally:
        c.close()


def test_subscribe_confirmations_and_counts(server, protocol):
    ch1, ch2, pat, sh = name("c"), name("c"), name("p") + "*", name("s")
    c = RawConn(server, protocol)
    try:
        c.send("SUBSCRIBE", ch1, ch2, ch1)
        assert read_frames(c, 3) == [
            push(protocol, "subscribe", ch1, 1),
            push(protocol, "subscribe", ch2, 2),
            push(protocol, "subscribe", ch1, 2),
        ]
        # Patterns count together with channels ...
        c.send("PSUBSCRIBE", pat)
        assert c.read_reply() == push(protocol, "psubscribe", pat, 3)
        # ... shard channels on their own.
        c.send("SSUBSCRIBE", sh)
        assert c.read_reply() == push(protocol, "ssubscribe", sh, 1)
        c.send("UNSUBSCRIBE", ch2, "never-subscribed")
        assert read_frames(c, 2) == [
            push(protocol, "unsubscribe", ch2, 2),
            push(protocol, "unsubscribe", "never-subscribed", 2),
        ]
        c.send("SUNSUBSCRIBE")
        assert c.read_reply() == push(protocol, "sunsubscribe", sh, 0)
        c.send("PUNSUBSCRIBE", pat)
        assert c.read_reply() == push(protocol, "punsubscribe", pat, 1)
        c.send("UNSUBSCRIBE")
        assert c.read_reply() == push(protocol, "unsubscribe", ch1, 0)
        c.send("PING")
        assert c.read_reply() == b"+PONG\r\n"
    finally:
        c.close()


def test_message_shapes(server, protocol):
    ch, sh = name("news"), name("shard")
    pat = ch[:6] + "*"
    c = RawConn(server, protocol)
    r = server.client()
    try:
        c.send("SUBSCRIBE", ch)
        c.send("PSUBSCRIBE", pat)
        c.send("SSUBSCRIBE", sh)
        read_frames(c, 3)
        assert r.publish(ch, "hello") == 2
        assert read_frames(c, 2) == [
            push(protocol, "message", ch, "hello"),
            push(protocol, "pmessage", pat, ch, "hello"),
        ]
        assert r.execute_command("SPUBLISH", sh, "sharded") == 1
        assert c.read_reply() == push(protocol, "smessage", sh, "sharded")
        # Binary-safe payloads.
        payload = b"\x00\r\n\xff" * 3
        assert r.publish(ch, payload) == 2
        assert c.read_reply() == push(protocol, "message", ch, payload)
        c.read_reply()
    finally:
        c.close()
        r.close()


def test_shard_channels_are_not_pattern_matched(server):
    sh = name("shard")
    c = RawConn(server, 2)
    r = server.client()
    try:
        c.send("PSUBSCRIBE", "*")
        c.read_reply()
        assert r.execute_command("SPUBLISH", sh, "x") == 0
        c.send("SSUBSCRIBE", sh)
        c.read_reply()
        assert r.execute_command("SPUBLISH", sh, "x") == 1
        # A channel and a shard channel of the same name are different.
        assert r.publish(sh, "y") == 1  # the '*' pattern only
        assert c.read_reply() == push(2, "smessage", sh, "x")
        assert c.read_reply() == push(2, "pmessage", "*", sh, "y")
    finally:
        c.close()
        r.close()


def test_ssubscribe_across_slots_without_cluster(server):
    # Without cluster mode there is no CROSSSLOT check: "a" and "b" hash to
    # different slots.
    a, bb = name("a"), name("b")
    c = RawConn(server, 2)
    try:
        c.send("SSUBSCRIBE", a, bb)
        assert read_frames(c, 2) == [
            push(2, "ssubscribe", a, 1),
            push(2, "ssubscribe", bb, 2),
        ]
    finally:
        c.close()


# ---------------------------------------------------------------- modes


def test_resp2_subscribed_mode_errors(server):
    c = RawConn(server, 2)
    try:
        c.send("SUBSCRIBE", name("c"))
        c.read_reply()
        for cmd, full in [
            (("GET", "x"), "get"),
            (("SET", "x", "1"), "set"),
            (("CLIENT", "LIST"), "client|list"),
            (("PUBSUB", "NUMPAT"), "pubsub|numpat"),
            (("HELLO", "3"), "hello"),
            (("MULTI",), "multi"),
            (("PUBLISH", "x", "y"), "publish"),
        ]:
            c.send(*cmd)
            assert c.read_reply() == (
                b"-ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE"
                b" / PING / QUIT / RESET are allowed in this context\r\n" % b(full)
            )
        # Arity and unknown-command errors come first.
        c.send("GET")
        assert c.read_reply() == b"-ERR wrong number of arguments for 'get' command\r\n"
        c.send("PING")
        assert c.read_reply() == b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
        c.send("PING", "hi")
        assert c.read_reply() == b"*2\r\n$4\r\npong\r\n$2\r\nhi\r\n"
        c.send("QUIT")
        assert c.read_reply() == b"+OK\r\n"
    finally:
        c.close()


def test_shard_subscription_alone_keeps_subscribed_mode(server):
    c = RawConn(server, 2)
    try:
        c.send("SSUBSCRIBE", name("s"))
        c.read_reply()
        c.send("UNSUBSCRIBE")
        assert c.read_reply() == push(2, "unsubscribe", None, 0)
        c.send("GET", "x")
        assert c.read_reply().startswith(b"-ERR Can't execute 'get'")
        c.send("SUNSUBSCRIBE")
        c.read_reply()
        c.send("GET", "x")
        assert c.read_reply() == b"$-1\r\n"
    finally:
        c.close()


def test_resp3_subscriber_may_run_any_command(server):
    ch = name("c")
    c = RawConn(server, 3)
    try:
        c.send("SUBSCRIBE", ch)
        c.read_reply()
        c.send("SET", ch, "v")
        assert c.read_reply() == b"+OK\r\n"
        c.send("GET", ch)
        assert c.read_reply() == b"$1\r\nv\r\n"
        c.send("PING")
        assert c.read_reply() == b"+PONG\r\n"
        c.send("PUBSUB", "NUMSUB", ch)
        assert c.read_reply() == b"*2\r\n" + bulk(ch) + b":1\r\n"
        # HELLO 2 while subscribed: the RESP2 rules apply from then on.
        c.send("HELLO", "2")
        assert c.read_reply().startswith(b"*14\r\n")
        c.send("GET", ch)
        assert c.read_reply().startswith(b"-ERR Can't execute 'get'")
    finally:
        c.close()


def test_reset_leaves_every_subscription(server, protocol):
    ch, sh = name("c"), name("s")
    c = RawConn(server, protocol)
    r = server.client()
    try:
        c.send("SUBSCRIBE", ch)
        c.send("PSUBSCRIBE", ch + "*")
        c.send("SSUBSCRIBE", sh)
        read_frames(c, 3)
        c.send("RESET")
        assert c.read_reply() == b"+RESET\r\n"
        assert numsub(r, ch) == 0
        assert r.publish(ch, "x") == 0
        assert r.execute_command("SPUBLISH", sh, "x") == 0
        c.send("GET", "x")
        assert c.read_reply() == b"$-1\r\n"
    finally:
        c.close()
        r.close()


def test_disconnect_unsubscribes(server):
    ch = name("c")
    r = server.client()
    c = RawConn(server, 2)
    c.send("SUBSCRIBE", ch)
    c.send("PSUBSCRIBE", ch + "*")
    read_frames(c, 2)
    assert numsub(r, ch) == 1
    c.close()
    assert wait_until(lambda: numsub(r, ch) == 0 and r.publish(ch, "x") == 0)
    r.close()


def test_subscribe_inside_multi(server):
    ch = name("c")
    c = RawConn(server, 2)
    try:
        c.send("MULTI")
        c.read_reply()
        c.send("SUBSCRIBE", ch)
        assert c.read_reply() == b"+QUEUED\r\n"
        c.send("SSUBSCRIBE", ch)
        assert c.read_reply() == b"+QUEUED\r\n"
        c.send("EXEC")
        assert c.read_reply() == (
            b"*2\r\n" + push(2, "subscribe", ch, 1)
            + b"-ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client\r\n"
        )
        c.send("GET", "x")
        assert c.read_reply().startswith(b"-ERR Can't execute 'get'")
    finally:
        c.close()


@pytest.mark.sluice_only(
    "Redis 7.2+ writes a client's own message after the reply of the command "
    "that published it (7.0 wrote it before, even inside EXEC's array); "
    + PUBSUB_PAGE
)
def test_own_message_follows_the_publish_reply(server):
    ch = name("c")
    c = RawConn(server, 3)
    try:
        c.send("SUBSCRIBE", ch)
        c.read_reply()
        c.send("PUBLISH", ch, "one")
        c.send("PING")
        assert read_frames(c, 3) == [
            b":1\r\n",
            push(3, "message", ch, "one"),
            b"+PONG\r\n",
        ]
        c.send("MULTI")
        c.read_reply()
        c.send("PUBLISH", ch, "two")
        c.read_reply()
        c.send("EXEC")
        assert read_frames(c, 2) == [b"*1\r\n:1\r\n", push(3, "message", ch, "two")]
    finally:
        c.close()


# ---------------------------------------------------------------- redis-py


def test_redis_py_pubsub(r, protocol):
    ch = name("jobs")
    pat = ch[:4] + "*"
    p = r.pubsub()
    try:
        p.subscribe(ch)
        p.psubscribe(pat)
        assert get_message(p) == {"type": "subscribe", "pattern": None, "channel": b(ch), "data": 1}
        assert get_message(p) == {"type": "psubscribe", "pattern": None, "channel": b(pat), "data": 2}
        assert r.publish(ch, "work") == 2
        assert get_message(p) == {"type": "message", "pattern": None, "channel": b(ch), "data": b"work"}
        assert get_message(p) == {"type": "pmessage", "pattern": b(pat), "channel": b(ch), "data": b"work"}
        p.unsubscribe(ch)
        assert get_message(p)["type"] == "unsubscribe"
        assert r.publish(ch, "more") == 1
        assert get_message(p)["type"] == "pmessage"
        p.punsubscribe()
        assert get_message(p) == {"type": "punsubscribe", "pattern": None, "channel": b(pat), "data": 0}
    finally:
        p.close()


def test_redis_py_sharded_pubsub(r, protocol):
    sh = name("orders")
    p = r.pubsub()
    try:
        p.ssubscribe(sh)
        assert get_message(p) == {"type": "ssubscribe", "pattern": None, "channel": b(sh), "data": 1}
        assert r.spublish(sh, "o1") == 1
        assert get_message(p) == {"type": "smessage", "pattern": None, "channel": b(sh), "data": b"o1"}
        p.sunsubscribe(sh)
        assert get_message(p)["type"] == "sunsubscribe"
    finally:
        p.close()


def test_many_subscribers(server, protocol):
    ch = name("fan")
    r = server.client(protocol=protocol)
    subs = []
    try:
        for i in range(30):
            p = server.client(protocol=protocol).pubsub()
            p.subscribe(ch)
            if i % 3 == 0:
                p.psubscribe(ch[:3] + "*")
            subs.append(p)
        for i, p in enumerate(subs):
            get_message(p)
            if i % 3 == 0:
                get_message(p)
        assert numsub(r, ch) == 30
        assert r.pubsub_numpat() >= 1
        assert r.publish(ch, "m1") == 40
        for i, p in enumerate(subs):
            got = [get_message(p) for _ in range(2 if i % 3 == 0 else 1)]
            assert sorted(m["type"] for m in got) == (
                ["message", "pmessage"] if i % 3 == 0 else ["message"]
            )
            assert all(m["data"] == b"m1" for m in got)
    finally:
        for p in subs:
            p.close()
        r.close()


@pytest.mark.parametrize(
    "pattern, hits, misses",
    [
        (r"a\*b", ["a*b"], ["axb", "ab", "a\\*b"]),
        ("h?llo", ["hello", "hallo"], ["hllo", "heello"]),
        ("h[ae]llo", ["hello", "hallo"], ["hillo"]),
        ("h[^e]llo", ["hallo", "hbllo"], ["hello"]),
        ("h[a-c]llo", ["hallo", "hcllo"], ["hdllo"]),
        (r"h\[llo", ["h[llo"], ["hallo"]),
        ("*", ["anything"], [""]),  # Redis's matcher: '*' never matches ''
    ],
)
def test_pattern_matching(server, pattern, hits, misses):
    # The channel names here are generic: count only this connection's
    # deliveries, by reading what arrives.
    c = RawConn(server, 2)
    r = server.client()
    try:
        c.send("PSUBSCRIBE", pattern)
        c.read_reply()
        for ch in hits + misses:
            r.publish(ch, "probe")
        r.publish("--end--", "x")
        c.send("PUNSUBSCRIBE")  # a marker after the deliveries
        got = []
        while True:
            frame = c.read_reply()
            if frame.startswith(b"*3\r\n$12\r\npunsubscribe"):
                break
            got.append(frame)
        delivered = [f for f in got if f.endswith(bulk("probe"))]
        expected = [push(2, "pmessage", pattern, ch, "probe") for ch in hits]
        assert delivered == expected
    finally:
        c.close()
        r.close()


# ---------------------------------------------------------------- introspection


def test_pubsub_introspection(server):
    tag = name("intro")
    c1, c2, sh = tag + ":c1", tag + ":c2", tag + ":s1"
    a = RawConn(server, 2)
    bconn = RawConn(server, 3)
    r = server.client()
    try:
        a.send("SUBSCRIBE", c1, c2)
        a.send("PSUBSCRIBE", tag + ":p*")
        a.send("SSUBSCRIBE", sh)
        read_frames(a, 4)
        bconn.send("SUBSCRIBE", c1)
        bconn.send("PSUBSCRIBE", tag + ":p*", tag + ":q*")
        read_frames(bconn, 3)
        assert sorted(r.pubsub_channels(tag + "*")) == [b(c1), b(c2)]
        assert r.pubsub_channels(tag + ":c2") == [b(c2)]
        assert r.execute_command("PUBSUB", "NUMSUB", c1, c2, "nope" + tag) == [
            b(c1), 2, b(c2), 1, b"nope" + b(tag), 0,
        ]
        assert r.execute_command("PUBSUB", "NUMSUB") == []
        assert r.execute_command("PUBSUB", "SHARDCHANNELS", tag + "*") == [b(sh)]
        assert r.execute_command("PUBSUB", "SHARDNUMSUB", sh, c1) == [b(sh), 1, b(c1), 0]
        numpat = r.pubsub_numpat()
        assert numpat >= 2
        info = r.info("stats")
        assert info["pubsub_patterns"] == numpat
        assert info["pubsub_channels"] >= 2
        assert info["pubsubshard_channels"] >= 1
        clients = {c["id"]: c for c in r.client_list()}
        a_id = [c for c in clients.values() if c["sub"] == "2" and c["ssub"] == "1"]
        assert len(a_id) == 1
        assert a_id[0]["psub"] == "1" and a_id[0]["flags"] == "P"
        pubsub_ids = {c["id"] for c in r.client_list(_type="pubsub")}
        assert a_id[0]["id"] in pubsub_ids
        assert r.client_id() not in {int(i) for i in pubsub_ids}
        a.send("UNSUBSCRIBE")
        a.send("PUNSUBSCRIBE")
        a.send("SUNSUBSCRIBE")
        read_frames(a, 4)
        me = [c for c in r.client_list() if c["id"] == a_id[0]["id"]][0]
        assert (me["sub"], me["psub"], me["ssub"], me["flags"]) == ("0", "0", "0", "N")
    finally:
        a.close()
        bconn.close()
        r.close()


def test_pubsub_errors_and_help(r):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("PUBSUB", "CHANNELS", "a", "b")
    assert str(e.value) == (
        "unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP."
    )
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("PUBSUB", "SHARDCHANNELS", "a", "b")
    assert "for 'SHARDCHANNELS'. Try PUBSUB HELP." in str(e.value)
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("PUBSUB", "NUMPAT", "x")
    assert str(e.value) == "wrong number of arguments for 'pubsub|numpat' command"
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("PUBSUB", "FOO")
    assert str(e.value) == "unknown subcommand 'FOO'. Try PUBSUB HELP."
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("PUBLISH", "x")
    assert str(e.value) == "wrong number of arguments for 'publish' command"
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("SUBSCRIBE")
    assert str(e.value) == "wrong number of arguments for 'subscribe' command"
    lines = r.execute_command("PUBSUB", "HELP")
    assert lines[0].startswith(b"PUBSUB")
    for sub in (b"CHANNELS", b"NUMPAT", b"NUMSUB", b"SHARDCHANNELS", b"SHARDNUMSUB", b"HELP"):
        assert any(line.startswith(sub) for line in lines)


def test_command_info(r):
    reply = raw(r, "COMMAND", "INFO", "ssubscribe", "spublish", "publish", "pubsub")
    by_name = {entry[0]: entry for entry in reply}

    def shape(cmd):
        e = by_name[cmd]
        return (e[1], sorted(e[2]), e[3], e[4], e[5])

    assert shape(b"ssubscribe") == (-2, [b"loading", b"noscript", b"pubsub", b"stale"], 1, -1, 1)
    assert shape(b"spublish") == (3, [b"fast", b"loading", b"pubsub", b"stale"], 1, 1, 1)
    assert shape(b"publish") == (3, [b"fast", b"loading", b"pubsub", b"stale"], 0, 0, 0)
    assert shape(b"pubsub") == (-2, [], 0, 0, 0)


@pytest.mark.sluice_only("INFO clients pubsub_clients is new in Redis 7.4: https://redis.io/docs/latest/commands/info/")
def test_info_pubsub_clients(server):
    r = server.client()
    before = r.info("clients")["pubsub_clients"]
    c = RawConn(server, 2)
    try:
        c.send("SUBSCRIBE", name("c"))
        c.send("SSUBSCRIBE", name("s"))
        read_frames(c, 2)
        assert r.info("clients")["pubsub_clients"] == before + 1
    finally:
        c.close()
    assert wait_until(lambda: r.info("clients")["pubsub_clients"] == before)
    r.close()


# ---------------------------------------------------------------- output buffer


def test_client_output_buffer_limit_config(kind, start_server):
    srv = start_server(kind)
    r = srv.client()
    assert r.config_get("client-output-buffer-limit") == {
        "client-output-buffer-limit": "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
    }
    r.config_set("client-output-buffer-limit", "pubsub 1mb 2k 5 replica 1 2 3")
    assert r.config_get("client-output-buffer-limit")["client-output-buffer-limit"] == (
        "normal 0 0 0 slave 1 2 3 pubsub 1048576 2000 5"
    )
    for value, reason in [
        ("pubsub 1 2", "Wrong number of arguments in buffer limit configuration."),
        ("master 1 2 3", "Invalid client class specified in buffer limit configuration."),
        ("pubsub x 1 1", "Error in hard, soft or soft_seconds setting in buffer limit configuration."),
    ]:
        with pytest.raises(redis.ResponseError) as e:
            r.config_set("client-output-buffer-limit", value)
        assert str(e.value) == (
            "CONFIG SET failed (possibly related to argument "
            "'client-output-buffer-limit') - " + reason
        )
    r.config_set("client-output-buffer-limit", "")
    assert r.config_get("client-output-buffer-limit")["client-output-buffer-limit"] == (
        "normal 0 0 0 slave 1 2 3 pubsub 1048576 2000 5"
    )


def stalled_subscriber(srv, channel):
    """A subscriber with a small receive buffer that never reads again."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(5)
    s.connect((srv.host, srv.port))
    s.sendall(b"CLIENT ID\r\n*2\r\n$9\r\nSUBSCRIBE\r\n" + bulk(channel))
    buf = b""
    while not buf.endswith(bulk(channel) + b":1\r\n"):
        chunk = s.recv(4096)
        assert chunk, "closed while subscribing"
        buf += chunk
    return s, int(buf[1:buf.index(b"\r\n")])


def drop_stalled_subscriber(srv):
    r = srv.client()
    r.config_set("client-output-buffer-limit", "pubsub 1mb 0 0")
    ch = name("firehose")
    stalled, stalled_id = stalled_subscriber(srv, ch)
    healthy = srv.client().pubsub()
    healthy.subscribe(ch)
    get_message(healthy)
    payload = b"p" * (64 * 1024)
    for _ in range(1024):  # at most 64 MB
        receivers = r.publish(ch, payload)
        # The healthy subscriber reads everything as it comes.
        m = get_message(healthy)
        assert m["type"] == "message" and m["data"] == payload
        if receivers == 1:
            break
    else:
        raise AssertionError("the stalled subscriber was never dropped")
    assert wait_until(lambda: numsub(r, ch) == 1)
    assert wait_until(lambda: stalled_id not in {int(c["id"]) for c in r.client_list()})
    healthy.close()
    assert srv.client().ping()
    stalled.close()
    return r


def test_output_buffer_hard_limit_drops_stalled_subscriber(kind, start_server):
    srv = start_server(kind)
    drop_stalled_subscriber(srv).close()


@pytest.mark.sluice_only(
    "INFO stats client_output_buffer_limit_disconnections is new in Redis 7.4: "
    "https://redis.io/docs/latest/commands/info/"
)
def test_output_buffer_disconnections_counted(kind, start_server):
    srv = start_server(kind)
    r = drop_stalled_subscriber(srv)
    assert r.info("stats")["client_output_buffer_limit_disconnections"] == 1
    r.close()
