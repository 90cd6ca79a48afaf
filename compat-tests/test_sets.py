"""Sets against Redis and Sluice: replies (RESP2 arrays, RESP3 sets where
Redis sends them, checked on the wire through a raw socket), error texts,
and the behaviour of every set command. Member order is not part of the
contract, so aggregate replies are compared as (type byte, sorted
elements); intsets list in numeric order in both servers."""

import pytest

from test_stream_groups_util import RawConn, b


class Q:
    def __init__(self, handle, protocol):
        self.protocol = protocol
        self.conn = RawConn(handle, protocol)

    def __call__(self, *args):
        self.conn.send(*args)
        return self.conn.read_reply()

    def items(self, raw):
        """An aggregate reply as (type byte, sorted raw element replies)."""
        kind = raw[:1]
        assert kind in (b"*", b"~"), raw
        header, rest = raw.split(b"\r\n", 1)
        n = int(header[1:])
        elements = []
        while rest:
            # Only flat replies of bulk strings or integers here.
            line, rest = rest.split(b"\r\n", 1)
            if line[:1] == b"$":
                size = int(line[1:])
                elements.append(rest[:size])
                rest = rest[size + 2:]
            else:
                elements.append(line)
        assert len(elements) == n, raw
        return kind, sorted(elements)

    def set_of(self, *members):
        return (b"~" if self.protocol == 3 else b"*", sorted(b(m) for m in members))

    def array_of(self, *members):
        return (b"*", sorted(b(m) for m in members))

    def close(self):
        self.conn.close()


@pytest.fixture
def q(r, protocol):
    conn = Q(r.handle, protocol)
    yield conn
    conn.close()


def null(q):
    return b"_\r\n" if q.protocol == 3 else b"$-1\r\n"


def test_add_remove_and_read(q):
    assert q("SADD", "s", "a", "b", "c", "a") == b":3\r\n"
    assert q("SADD", "s", "a") == b":0\r\n"
    assert q.items(q("SMEMBERS", "s")) == q.set_of("a", "b", "c")
    assert q.items(q("SMEMBERS", "nokey")) == q.set_of()
    assert q("SISMEMBER", "s", "a") == b":1\r\n"
    assert q("SISMEMBER", "s", "z") == b":0\r\n"
    assert q("SISMEMBER", "nokey", "z") == b":0\r\n"
    assert q("SMISMEMBER", "s", "a", "z") == b"*2\r\n:1\r\n:0\r\n"
    assert q("SCARD", "s") == b":3\r\n"
    assert q("SCARD", "nokey") == b":0\r\n"
    assert q("SREM", "s", "a", "z") == b":1\r\n"
    assert q("SREM", "s", "b", "c") == b":2\r\n"
    assert q("EXISTS", "s") == b":0\r\n"
    # Binary-safe members.
    assert q("SADD", "bin", "\x00\xff", "") == b":2\r\n"
    assert q("SISMEMBER", "bin", "") == b":1\r\n"


def test_intsets_list_in_order(q):
    q("SADD", "i", "10", "-3", "2", "100")
    assert q("SMEMBERS", "i").split(b"\r\n", 1)[1] == b"$2\r\n-3\r\n$1\r\n2\r\n$2\r\n10\r\n$3\r\n100\r\n"
    assert q("OBJECT", "ENCODING", "i") == b"$6\r\nintset\r\n"


def test_pop_and_random(q):
    q("SADD", "s", "a", "b", "c", "d")
    one = q("SPOP", "s")
    assert one[:1] == b"$"
    assert q("SCARD", "s") == b":3\r\n"
    kind, popped = q.items(q("SPOP", "s", "2"))
    assert kind == q.set_of()[0] and len(popped) == 2
    assert q.items(q("SPOP", "s", "0")) == q.set_of()
    assert q.items(q("SPOP", "nokey", "5")) == q.set_of()
    assert q("SPOP", "nokey") == null(q)
    kind, rest = q.items(q("SPOP", "s", "10"))
    assert len(rest) == 1
    assert q("EXISTS", "s") == b":0\r\n"

    q("SADD", "r", "a", "b", "c")
    assert q("SRANDMEMBER", "nokey") == null(q)
    assert q.items(q("SRANDMEMBER", "nokey", "3")) == q.array_of()
    assert q.items(q("SRANDMEMBER", "r", "0")) == q.array_of()
    assert q.items(q("SRANDMEMBER", "r", "5")) == q.array_of("a", "b", "c")
    kind, two = q.items(q("SRANDMEMBER", "r", "2"))
    assert kind == b"*" and len(set(two)) == 2
    kind, many = q.items(q("SRANDMEMBER", "r", "-7"))
    assert kind == b"*" and len(many) == 7 and set(many) <= {b"a", b"b", b"c"}


def test_smove(q):
    q("SADD", "a", "x", "y")
    q("SET", "str", "v")
    assert q("SMOVE", "a", "b", "x") == b":1\r\n"
    assert q("SMOVE", "a", "b", "zz") == b":0\r\n"
    assert q("SMOVE", "a", "a", "y") == b":1\r\n"
    assert q("SMOVE", "a", "a", "zz") == b":0\r\n"
    assert q("SMOVE", "nokey", "str", "x") == b":0\r\n"
    assert q("SMOVE", "a", "str", "y").startswith(b"-WRONGTYPE")
    assert q("SMOVE", "a", "b", "y") == b":1\r\n"
    assert q("EXISTS", "a") == b":0\r\n"
    assert q.items(q("SMEMBERS", "b")) == q.set_of("x", "y")


def test_algebra(q):
    q("SADD", "p", "1", "2", "3", "4")
    q("SADD", "q", "3", "4", "5")
    q("SADD", "w", "a", "3")
    assert q.items(q("SINTER", "p", "q")) == q.set_of("3", "4")
    assert q.items(q("SINTER", "p", "q", "w")) == q.set_of("3")
    assert q.items(q("SINTER", "p", "nokey")) == q.set_of()
    assert q.items(q("SUNION", "p", "q", "nokey")) == q.set_of("1", "2", "3", "4", "5")
    assert q.items(q("SDIFF", "p", "q")) == q.set_of("1", "2")
    assert q.items(q("SDIFF", "nokey", "p")) == q.set_of()
    assert q.items(q("SDIFF", "p", "nokey")) == q.set_of("1", "2", "3", "4")
    assert q("SINTERCARD", "2", "p", "q") == b":2\r\n"
    assert q("SINTERCARD", "2", "p", "q", "LIMIT", "1") == b":1\r\n"
    assert q("SINTERCARD", "2", "p", "q", "LIMIT", "0") == b":2\r\n"
    assert q("SINTERSTORE", "d", "p", "q") == b":2\r\n"
    assert q.items(q("SMEMBERS", "d")) == q.set_of("3", "4")
    assert q("SUNIONSTORE", "d", "p", "w") == b":5\r\n"
    assert q("SDIFFSTORE", "d", "p", "q") == b":2\r\n"
    assert q.items(q("SMEMBERS", "d")) == q.set_of("1", "2")
    assert q("SINTERSTORE", "d", "p", "nokey") == b":0\r\n"
    assert q("EXISTS", "d") == b":0\r\n"
    q("SET", "str", "v")
    assert q("SUNIONSTORE", "str", "p") == b":4\r\n"
    assert q("TYPE", "str") == b"+set\r\n"
    q("SET", "str", "v")
    for args in (("SINTER", "nokey", "str"), ("SUNION", "p", "str"), ("SDIFF", "nokey", "str"),
                 ("SINTERSTORE", "d", "p", "str"), ("SINTERCARD", "2", "p", "str")):
        assert q(*args).startswith(b"-WRONGTYPE"), args


@pytest.mark.parametrize(
    "args,text",
    [
        (("SADD", "s"), "ERR wrong number of arguments for 'sadd' command"),
        (("SPOP", "s", "-1"), "ERR value is out of range, must be positive"),
        (("SPOP", "s", "x"), "ERR value is out of range, must be positive"),
        (("SPOP", "s", "1", "2"), "ERR syntax error"),
        (("SRANDMEMBER", "s", "x"), "ERR value is not an integer or out of range"),
        (("SRANDMEMBER", "s", "1", "2"), "ERR syntax error"),
        (("SRANDMEMBER", "s", "-9223372036854775808"),
         "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"),
        (("SINTERCARD", "0", "s"), "ERR numkeys should be greater than 0"),
        (("SINTERCARD", "x", "s"), "ERR numkeys should be greater than 0"),
        (("SINTERCARD", "3", "s"), "ERR Number of keys can't be greater than number of args"),
        (("SINTERCARD", "1", "s", "LIMIT", "-1"), "ERR LIMIT can't be negative"),
        (("SINTERCARD", "1", "s", "LIMIT", "x"), "ERR LIMIT can't be negative"),
        (("SINTERCARD", "1", "s", "LIMIT"), "ERR syntax error"),
        (("SSCAN", "s", "x"), "ERR invalid cursor"),
        (("SSCAN", "s", "0", "COUNT", "0"), "ERR syntax error"),
        (("SSCAN", "s", "0", "FOO"), "ERR syntax error"),
    ],
)
def test_errors(q, args, text):
    q("SADD", "s", "a")
    assert q(*args) == b"-%s\r\n" % b(text), args


def test_wrongtype(q):
    q("SET", "str", "v")
    for args in (("SADD", "str", "a"), ("SREM", "str", "a"), ("SMEMBERS", "str"),
                 ("SISMEMBER", "str", "a"), ("SMISMEMBER", "str", "a"), ("SCARD", "str"),
                 ("SPOP", "str"), ("SPOP", "str", "0"), ("SRANDMEMBER", "str"),
                 ("SRANDMEMBER", "str", "1"), ("SSCAN", "str", "0")):
        assert q(*args).startswith(b"-WRONGTYPE"), args
    q("SADD", "s", "a")
    assert q("GET", "s").startswith(b"-WRONGTYPE")
    assert q("TYPE", "s") == b"+set\r\n"


def test_sscan(q):
    q("SADD", "small", "a", "b", "c")
    assert q("SSCAN", "small", "0", "MATCH", "a*").endswith(b"*1\r\n$1\r\na\r\n")
    big = ["m%d" % i for i in range(300)]
    q("SADD", "big", *big)
    seen = set()
    cursor = b"0"
    for _ in range(1000):
        raw = q("SSCAN", "big", cursor, "COUNT", "20")
        head, rest = raw.split(b"\r\n", 1)
        assert head == b"*2"
        line, rest = rest.split(b"\r\n", 1)
        cursor, rest = rest.split(b"\r\n", 1)
        _, members = q.items(rest)
        seen.update(members)
        if cursor == b"0":
            break
    assert seen == {b(m) for m in big}


@pytest.mark.sluice_only("follows https://redis.io/docs/latest/develop/data-types/sets/ (listpack sets are 7.2+)")
def test_listpack_encoding(q):
    q("SADD", "s", "a", "b")
    assert q("OBJECT", "ENCODING", "s") == b"$8\r\nlistpack\r\n"
    q("SADD", "s", *["m%d" % i for i in range(200)])
    assert q("OBJECT", "ENCODING", "s") == b"$9\r\nhashtable\r\n"


def test_sorted_set_algebra_takes_plain_sets(q):
    q("SADD", "s", "a", "b", "c")
    q("ZADD", "z", "1", "b", "5", "c", "7", "d")
    assert q("ZUNIONSTORE", "out", "2", "s", "z", "WEIGHTS", "2", "3") == b":4\r\n"
    q.conn.send("ZRANGE", "out", "0", "-1", "WITHSCORES")
    raw = q.conn.read_reply()
    assert b"$1\r\na\r\n" in raw and b"$1\r\nd\r\n" in raw
    assert q("ZSCORE", "out", "c") in (b"$2\r\n17\r\n", b",17\r\n")
    assert q("ZINTERSTORE", "out", "2", "s", "z") == b":2\r\n"
    assert q("ZSCORE", "out", "b") in (b"$1\r\n2\r\n", b",2\r\n")
    assert q("ZDIFFSTORE", "out", "2", "s", "z") == b":1\r\n"
    assert q("ZINTERCARD", "2", "s", "z") == b":2\r\n"
    q("SET", "str", "x")
    assert q("ZUNIONSTORE", "out", "2", "s", "str").startswith(b"-WRONGTYPE")
