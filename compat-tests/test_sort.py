"""SORT and SORT_RO against Redis and Sluice: numeric and ALPHA order,
DESC, LIMIT, BY and GET patterns (strings, hash fields, `#`, missing keys),
BY nosort, sorted sets, STORE as a list, errors and WRONGTYPE."""

import pytest
import redis

from rawcmd import raw


@pytest.fixture
def c(server):
    client = server.client()
    client.flushall()
    yield client
    client.close()


def test_numeric_alpha_desc_limit(c):
    raw(c, "RPUSH", "l", "3", "1", "2", "10", "-1.5")
    assert raw(c, "SORT", "l") == [b"-1.5", b"1", b"2", b"3", b"10"]
    assert raw(c, "SORT", "l", "DESC") == [b"10", b"3", b"2", b"1", b"-1.5"]
    assert raw(c, "SORT", "l", "ALPHA") == [b"-1.5", b"1", b"10", b"2", b"3"]
    assert raw(c, "SORT", "l", "LIMIT", "1", "2") == [b"1", b"2"]
    assert raw(c, "SORT", "l", "LIMIT", "-5", "2") == [b"-1.5", b"1"]
    assert raw(c, "SORT", "l", "LIMIT", "3", "-1") == [b"3", b"10"]
    assert raw(c, "SORT", "l", "LIMIT", "9", "2") == []
    assert raw(c, "SORT_RO", "l", "DESC", "LIMIT", "0", "1") == [b"10"]
    raw(c, "RPUSH", "words", "b", "a", "c")
    with pytest.raises(redis.ResponseError) as e:
        raw(c, "SORT", "words")
    assert str(e.value) == "One or more scores can't be converted into double"
    assert raw(c, "SORT", "words", "ALPHA", "DESC") == [b"c", b"b", b"a"]
    assert raw(c, "SORT", "missing") == []


def test_sets_and_sorted_sets(c):
    raw(c, "SADD", "s", "5", "3", "9")
    assert raw(c, "SORT", "s") == [b"3", b"5", b"9"]
    raw(c, "ZADD", "z", "1", "c", "2", "a", "3", "b")
    assert raw(c, "SORT", "z", "ALPHA") == [b"a", b"b", b"c"]
    # BY nosort keeps a sorted set's score order (DESC reverses it).
    assert raw(c, "SORT", "z", "BY", "nosort") == [b"c", b"a", b"b"]
    assert raw(c, "SORT", "z", "BY", "nosort", "DESC") == [b"b", b"a", b"c"]
    assert raw(c, "SORT", "z", "BY", "nosort", "LIMIT", "1", "1") == [b"a"]
    # Score order, not insertion order.
    for score, member in [(1, "a"), (5, "b"), (2, "c"), (10, "d"), (3, "e")]:
        raw(c, "ZADD", "z2", score, member)
    assert raw(c, "SORT", "z2", "BY", "nosort") == [b"a", b"c", b"e", b"b", b"d"]
    assert raw(c, "SORT", "z2", "BY", "nosort", "DESC", "LIMIT", "0", "1") == [b"d"]


def test_command_getkeys(c):
    assert raw(c, "COMMAND", "GETKEYS", "SORT", "abc", "STORE", "def") == [b"abc", b"def"]
    # Only the last STORE counts.
    assert raw(c, "COMMAND", "GETKEYS", "SORT", "abc", "BY", "w_*", "STORE", "d1", "STORE", "d2") == [
        b"abc", b"d2",
    ]
    assert raw(c, "COMMAND", "GETKEYS", "SORT_RO", "abc") == [b"abc"]
    assert raw(c, "COMMAND", "GETKEYS", "ZUNIONSTORE", "d", "2", "a", "b") == [b"d", b"a", b"b"]


def test_by_and_get_patterns(c):
    raw(c, "RPUSH", "ids", "1", "2", "3")
    raw(c, "MSET", "w_1", "30", "w_2", "10", "w_3", "20")
    raw(c, "MSET", "name_1", "one", "name_2", "two")
    raw(c, "HSET", "obj_1", "f", "x1")
    raw(c, "HSET", "obj_3", "f", "x3")
    assert raw(c, "SORT", "ids", "BY", "w_*") == [b"2", b"3", b"1"]
    assert raw(c, "SORT", "ids", "BY", "w_*", "DESC") == [b"1", b"3", b"2"]
    assert raw(c, "SORT", "ids", "BY", "w_*", "GET", "name_*") == [b"two", None, b"one"]
    assert raw(c, "SORT", "ids", "BY", "w_*", "GET", "#", "GET", "obj_*->f") == [
        b"2", None, b"3", b"x3", b"1", b"x1",
    ]
    # A missing weight counts as 0; ties fall back to the elements.
    assert raw(c, "SORT", "ids", "BY", "nokey_*") == [b"1", b"2", b"3"]
    # BY a hash field, ALPHA.
    raw(c, "HSET", "obj_2", "f", "x0")
    assert raw(c, "SORT", "ids", "BY", "obj_*->f", "ALPHA") == [b"2", b"1", b"3"]
    # A pattern without * names nothing.
    assert raw(c, "SORT", "ids", "GET", "const") == [None, None, None]
    raw(c, "SET", "w_2", "abc")
    with pytest.raises(redis.ResponseError):
        raw(c, "SORT", "ids", "BY", "w_*")


def test_store(c):
    raw(c, "RPUSH", "l", "3", "1", "2")
    raw(c, "SET", "name_1", "one")
    assert raw(c, "SORT", "l", "STORE", "dst") == 3
    assert raw(c, "LRANGE", "dst", "0", "-1") == [b"1", b"2", b"3"]
    assert raw(c, "TYPE", "dst") == b"list"
    # Missing GET values are stored as empty strings.
    assert raw(c, "SORT", "l", "GET", "name_*", "STORE", "dst") == 3
    assert raw(c, "LRANGE", "dst", "0", "-1") == [b"one", b"", b""]
    # An empty result deletes the destination.
    assert raw(c, "SORT", "missing", "STORE", "dst") == 0
    assert raw(c, "EXISTS", "dst") == 0
    # A set stored BY nosort comes out alphabetically.
    raw(c, "SADD", "s", "b", "c", "a")
    assert raw(c, "SORT", "s", "BY", "nosort", "STORE", "dst") == 3
    assert raw(c, "LRANGE", "dst", "0", "-1") == [b"a", b"b", b"c"]


def test_errors(c):
    raw(c, "SET", "str", "x")
    raw(c, "RPUSH", "l", "1")
    with pytest.raises(redis.ResponseError) as e:
        raw(c, "SORT", "str")
    assert str(e.value).startswith("WRONGTYPE")
    for args in (("l", "LIMIT", "1"), ("l", "BOGUS"), ("l", "BY"), ("l", "GET")):
        with pytest.raises(redis.ResponseError) as e:
            raw(c, "SORT", *args)
        assert str(e.value) == "syntax error"
    with pytest.raises(redis.ResponseError) as e:
        raw(c, "SORT_RO", "l", "STORE", "x")
    assert str(e.value) == "syntax error"
    with pytest.raises(redis.ResponseError) as e:
        raw(c, "SORT", "l", "LIMIT", "a", "1")
    assert str(e.value) == "value is not an integer or out of range"


def test_by_and_get_need_every_key(kind, start_server):
    srv = start_server(kind)
    with srv.client() as admin:
        raw(admin, "ACL", "SETUSER", "u", "on", ">pw", "~l*", "+@all")
        raw(admin, "RPUSH", "l", "2", "1")
    with srv.client(username="u", password="pw") as u:
        assert raw(u, "SORT", "l") == [b"1", b"2"]
        with pytest.raises(redis.ResponseError) as e:
            raw(u, "SORT", "l", "BY", "w_*")
        assert str(e.value) == "BY option of SORT denied due to insufficient ACL permissions."
        with pytest.raises(redis.ResponseError) as e:
            raw(u, "SORT", "l", "GET", "w_*")
        assert str(e.value) == "GET option of SORT denied due to insufficient ACL permissions."
        # Any GET, even `#`, as Redis checks it.
        with pytest.raises(redis.ResponseError) as e:
            raw(u, "SORT", "l", "GET", "#")
        assert str(e.value) == "GET option of SORT denied due to insufficient ACL permissions."
        assert raw(u, "SORT", "l", "BY", "nosort") == [b"2", b"1"]
        with pytest.raises(redis.exceptions.NoPermissionError):
            raw(u, "SORT", "l", "STORE", "other")
