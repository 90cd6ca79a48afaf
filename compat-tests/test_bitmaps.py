"""Bitmaps, BITFIELD and LCS against Redis and Sluice: replies on the wire
(RESP2 and RESP3), error texts, edge cases of ranges, offsets and overflow."""

import pytest

from test_stream_groups_util import RawConn, b


class Q:
    def __init__(self, handle, protocol):
        self.protocol = protocol
        self.conn = RawConn(handle, protocol)

    def __call__(self, *args):
        self.conn.send(*args)
        return self.conn.read_reply()

    def close(self):
        self.conn.close()


@pytest.fixture
def q(r, protocol):
    conn = Q(r.handle, protocol)
    yield conn
    conn.close()


def same(q, *commands):
    """Every command's raw reply (the test is run against both servers, so
    the recorded replies are compared across kinds through `expected`)."""
    return [q(*c) for c in commands]


def test_setbit_getbit(q):
    assert q("SETBIT", "k", "7", "1") == b":0\r\n"
    assert q("SETBIT", "k", "7", "1") == b":1\r\n"
    assert q("GET", "k") == b"$1\r\n\x01\r\n"
    assert q("SETBIT", "k", "100", "1") == b":0\r\n"
    assert q("STRLEN", "k") == b":13\r\n"
    assert q("GETBIT", "k", "100") == b":1\r\n"
    assert q("GETBIT", "k", "101") == b":0\r\n"
    assert q("GETBIT", "k", "100000") == b":0\r\n"
    assert q("GETBIT", "nokey", "5") == b":0\r\n"
    assert q("SETBIT", "k", "100", "0") == b":1\r\n"
    q("SET", "s", "a")
    assert q("SETBIT", "s", "6", "1") == b":0\r\n"
    assert q("GET", "s") == b"$1\r\nc\r\n"
    # SETBIT keeps the TTL.
    q("SET", "t", "x", "EX", "100")
    q("SETBIT", "t", "0", "1")
    assert q("TTL", "t") != b":-1\r\n"


@pytest.mark.parametrize(
    "args,text",
    [
        (("SETBIT", "k", "-1", "1"), "ERR bit offset is not an integer or out of range"),
        (("SETBIT", "k", "4294967296", "1"), "ERR bit offset is not an integer or out of range"),
        (("SETBIT", "k", "x", "1"), "ERR bit offset is not an integer or out of range"),
        (("SETBIT", "k", "1", "2"), "ERR bit is not an integer or out of range"),
        (("SETBIT", "k", "1", "-1"), "ERR bit is not an integer or out of range"),
        (("GETBIT", "k", "4294967296"), "ERR bit offset is not an integer or out of range"),
        (("BITPOS", "k", "2"), "ERR The bit argument must be 1 or 0."),
        (("BITPOS", "k", "x"), "ERR value is not an integer or out of range"),
        (("BITCOUNT", "k", "0"), "ERR syntax error"),
        (("BITCOUNT", "k", "0", "1", "FOO"), "ERR syntax error"),
        (("BITCOUNT", "k", "0", "1", "BIT", "x"), "ERR syntax error"),
        (("BITCOUNT", "k", "x", "1"), "ERR value is not an integer or out of range"),
        (("BITPOS", "k", "1", "0", "1", "FOO"), "ERR syntax error"),
        (("BITOP", "FOO", "d", "k"), "ERR syntax error"),
        (("BITOP", "NOT", "d", "k", "k"), "ERR BITOP NOT must be called with a single source key."),
        (("BITOP", "AND", "d"), "ERR wrong number of arguments for 'bitop' command"),
        (("BITFIELD", "k", "GET", "u64", "0"),
         "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."),
        (("BITFIELD", "k", "GET", "i65", "0"),
         "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."),
        (("BITFIELD", "k", "GET", "u8"), "ERR syntax error"),
        (("BITFIELD", "k", "FOO"), "ERR syntax error"),
        (("BITFIELD", "k", "OVERFLOW", "FOO", "GET", "u8", "0"), "ERR Invalid OVERFLOW type specified"),
        (("BITFIELD", "k", "SET", "u8", "x", "y"), "ERR bit offset is not an integer or out of range"),
        (("BITFIELD", "k", "SET", "u8", "0", "y"), "ERR value is not an integer or out of range"),
        (("BITFIELD", "k", "SET", "u8", "#4294967296", "1"), "ERR bit offset is not an integer or out of range"),
        (("BITFIELD", "k", "SET", "u8", "4294967296", "1"), "ERR bit offset is not an integer or out of range"),
        (("BITFIELD_RO", "k", "SET", "u8", "0", "1"), "ERR BITFIELD_RO only supports the GET subcommand"),
        (("BITFIELD_RO", "k", "INCRBY", "u8", "0", "1"), "ERR BITFIELD_RO only supports the GET subcommand"),
        (("LCS", "k", "k", "LEN", "IDX"), "ERR If you want both the length and indexes, please just use IDX."),
        (("LCS", "k", "k", "FOO"), "ERR syntax error"),
        (("LCS", "k", "k", "MINMATCHLEN", "x"), "ERR value is not an integer or out of range"),
    ],
)
def test_errors(q, args, text):
    q("SET", "k", "foobar")
    assert q(*args) == b"-%s\r\n" % b(text), args


def test_wrongtype(q):
    q("SADD", "set", "a")
    for args in (("SETBIT", "set", "0", "1"), ("GETBIT", "set", "0"), ("BITCOUNT", "set"),
                 ("BITPOS", "set", "1"), ("BITOP", "AND", "d", "set"), ("BITFIELD", "set", "GET", "u8", "0"),
                 ("BITFIELD_RO", "set", "GET", "u8", "0")):
        assert q(*args).startswith(b"-WRONGTYPE"), args
    assert q("LCS", "set", "x") == b"-ERR The specified keys must contain string values\r\n"


def test_bitcount(q):
    q("SET", "k", "foobar")
    assert q("BITCOUNT", "k") == b":26\r\n"
    assert q("BITCOUNT", "k", "0", "0") == b":4\r\n"
    assert q("BITCOUNT", "k", "1", "1") == b":6\r\n"
    assert q("BITCOUNT", "k", "1", "1", "BYTE") == b":6\r\n"
    assert q("BITCOUNT", "k", "5", "30", "BIT") == b":17\r\n"
    assert q("BITCOUNT", "k", "-2", "-1") == b":7\r\n"
    assert q("BITCOUNT", "k", "-1", "-2") == b":0\r\n"
    assert q("BITCOUNT", "k", "2", "1") == b":0\r\n"
    assert q("BITCOUNT", "k", "0", "1000") == b":26\r\n"
    assert q("BITCOUNT", "k", "-1000", "1000", "BIT") == b":26\r\n"
    assert q("BITCOUNT", "nokey") == b":0\r\n"
    assert q("BITCOUNT", "nokey", "0", "1") == b":0\r\n"


def test_bitpos(q):
    q("SET", "k", b"\xff\xf0\x00")
    assert q("BITPOS", "k", "0") == b":12\r\n"
    assert q("BITPOS", "k", "1") == b":0\r\n"
    assert q("BITPOS", "k", "1", "2") == b":-1\r\n"
    assert q("BITPOS", "k", "0", "0", "0") == b":-1\r\n"
    assert q("BITPOS", "k", "0", "2", "-1") == b":16\r\n"
    assert q("BITPOS", "k", "1", "7", "15", "BIT") == b":7\r\n"
    assert q("BITPOS", "k", "0", "7", "15", "BIT") == b":12\r\n"
    assert q("BITPOS", "k", "1", "-1", "-1", "BIT") == b":-1\r\n"
    q("SET", "ones", b"\xff\xff")
    assert q("BITPOS", "ones", "0") == b":16\r\n"
    assert q("BITPOS", "ones", "0", "0") == b":16\r\n"
    assert q("BITPOS", "ones", "0", "0", "-1") == b":-1\r\n"
    assert q("BITPOS", "ones", "0", "3", "-1", "BIT") == b":-1\r\n"
    assert q("BITPOS", "nokey", "0") == b":0\r\n"
    assert q("BITPOS", "nokey", "1") == b":-1\r\n"
    q("SET", "z", b"\x00\x00\x01")
    assert q("BITPOS", "z", "1") == b":23\r\n"
    assert q("BITPOS", "z", "1", "1", "1") == b":-1\r\n"


def test_bitop(q):
    q("SET", "a", b"\xff\x0f")
    q("SET", "b", b"\x0f")
    assert q("BITOP", "AND", "d", "a", "b") == b":2\r\n"
    assert q("GET", "d") == b"$2\r\n\x0f\x00\r\n"
    assert q("BITOP", "OR", "d", "a", "b", "nokey") == b":2\r\n"
    assert q("GET", "d") == b"$2\r\n\xff\x0f\r\n"
    assert q("BITOP", "XOR", "d", "a", "b") == b":2\r\n"
    assert q("GET", "d") == b"$2\r\n\xf0\x0f\r\n"
    assert q("BITOP", "NOT", "d", "a") == b":2\r\n"
    assert q("GET", "d") == b"$2\r\n\x00\xf0\r\n"
    assert q("BITOP", "AND", "d", "a", "nokey") == b":2\r\n"
    assert q("GET", "d") == b"$2\r\n\x00\x00\r\n"
    assert q("BITOP", "AND", "d", "nokey", "nokey2") == b":0\r\n"
    assert q("EXISTS", "d") == b":0\r\n"
    q("SET", "d", "x", "EX", "100")
    assert q("BITOP", "NOT", "d", "a") == b":2\r\n"
    assert q("TTL", "d") == b":-1\r\n"


def test_bitfield(q):
    assert q("BITFIELD", "k", "SET", "u8", "0", "255", "GET", "u8", "0") == b"*2\r\n:0\r\n:255\r\n"
    assert q("BITFIELD", "k", "INCRBY", "u8", "0", "10") == b"*1\r\n:9\r\n"
    assert q("BITFIELD", "k", "OVERFLOW", "SAT", "INCRBY", "u8", "0", "300") == b"*1\r\n:255\r\n"
    null = b"_\r\n" if q.protocol == 3 else b"$-1\r\n"
    assert q("BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "1") == b"*1\r\n" + null
    assert q("BITFIELD", "k", "SET", "i8", "0", "-128", "INCRBY", "i8", "0", "-1") == b"*2\r\n:-1\r\n:127\r\n"
    assert q("BITFIELD", "k", "OVERFLOW", "SAT", "SET", "i8", "0", "1000", "GET", "i8", "0") == b"*2\r\n:127\r\n:127\r\n"
    assert q("BITFIELD", "k", "SET", "u8", "#2", "7", "GET", "u8", "16", "GET", "u4", "#5") == b"*3\r\n:0\r\n:7\r\n:7\r\n"
    assert q("STRLEN", "k") == b":3\r\n"
    assert q("BITFIELD", "w", "SET", "i64", "3", "-1", "GET", "i64", "3", "GET", "u63", "3") == \
        b"*3\r\n:0\r\n:-1\r\n:9223372036854775807\r\n"
    assert q("BITFIELD", "w", "OVERFLOW", "WRAP", "INCRBY", "i64", "3", "-9223372036854775808") == \
        b"*1\r\n:9223372036854775807\r\n"
    assert q("BITFIELD", "k", "SET", "u5", "13", "31", "GET", "u5", "13", "GET", "i5", "13") == b"*3\r\n:0\r\n:31\r\n:-1\r\n"
    # A failed write still grows the string to cover its field.
    assert q("BITFIELD", "g", "OVERFLOW", "FAIL", "SET", "u2", "100", "7") == b"*1\r\n" + null
    assert q("STRLEN", "g") == b":13\r\n"
    assert q("BITFIELD", "nokey", "GET", "u8", "0") == b"*1\r\n:0\r\n"
    assert q("EXISTS", "nokey") == b":0\r\n"
    assert q("BITFIELD", "nokey") == b"*0\r\n"
    assert q("BITFIELD_RO", "k", "GET", "u8", "0", "OVERFLOW", "SAT") == b"*1\r\n:127\r\n"


def test_lcs(q):
    q("SET", "a", "ohmytext")
    q("SET", "b", "mynewtext")
    assert q("LCS", "a", "b") == b"$6\r\nmytext\r\n"
    assert q("LCS", "a", "b", "LEN") == b":6\r\n"
    assert q("LCS", "a", "nokey") == b"$0\r\n\r\n"
    head = b"%2\r\n" if q.protocol == 3 else b"*4\r\n"
    assert q("LCS", "a", "b", "IDX") == head + (
        b"$7\r\nmatches\r\n*2\r\n"
        b"*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n"
        b"*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n"
        b"$3\r\nlen\r\n:6\r\n")
    assert q("LCS", "a", "b", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN") == head + (
        b"$7\r\nmatches\r\n*1\r\n"
        b"*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n"
        b"$3\r\nlen\r\n:6\r\n")
    assert q("LCS", "a", "nokey", "IDX") == head + b"$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n"


@pytest.mark.sluice_only("follows https://redis.io/docs/latest/commands/bitop/ (DIFF, DIFF1, ANDOR, ONE are 8.2)")
def test_bitop_82_operations(q):
    q("SET", "x", b"\xf0\xff")
    q("SET", "y1", b"\x30")
    q("SET", "y2", b"\x0c\x01\x01")
    assert q("BITOP", "DIFF", "d", "x", "y1", "y2") == b":3\r\n"
    assert q("GET", "d") == b"$3\r\n\xc0\xfe\x00\r\n"
    assert q("BITOP", "DIFF1", "d", "x", "y1", "y2") == b":3\r\n"
    assert q("GET", "d") == b"$3\r\n\x0c\x00\x01\r\n"
    assert q("BITOP", "ANDOR", "d", "x", "y1", "y2") == b":3\r\n"
    assert q("GET", "d") == b"$3\r\n\x30\x01\x00\r\n"
    assert q("BITOP", "ONE", "d", "x", "y1", "y2") == b":3\r\n"
    assert q("GET", "d") == b"$3\r\n\xcc\xfe\x01\r\n"
    assert q("BITOP", "ONE", "d", "x") == b":2\r\n"
    for op in ("DIFF", "DIFF1", "ANDOR"):
        assert q("BITOP", op, "d", "x") == b"-ERR BITOP %s must be called with at least two source keys.\r\n" % b(op)
    assert q("BITOP", "diff", "d", "x") == b"-ERR BITOP DIFF must be called with at least two source keys.\r\n"
