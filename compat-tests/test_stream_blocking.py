"""Blocking XREAD / XREADGROUP with a second client, against Redis and Sluice.

Blocked readers are plain sockets (RawConn) in threads, so the exact bytes of
each reply (RESP2 or RESP3) are checked. Every wait is bounded."""

import threading
import time

import pytest

from test_stream_groups_util import RawConn, b, errorstat, wait_until

JOIN = 3.0  # seconds: the longest any blocked reader is waited for


def bulk(x):
    x = b(x)
    return b"$%d\r\n%s\r\n" % (len(x), x)


def xread_reply(protocol, per_key):
    """Wire bytes of an XREAD(GROUP) reply: per_key is [(key, [(id, [field, value...])])]."""
    out = [(b"%%%d\r\n" if protocol == 3 else b"*%d\r\n") % len(per_key)]
    for key, entries in per_key:
        if protocol == 2:
            out.append(b"*2\r\n")
        out.append(bulk(key))
        out.append(b"*%d\r\n" % len(entries))
        for id_, fields in entries:
            out.append(b"*2\r\n" + bulk(id_) + b"*%d\r\n" % len(fields))
            out.extend(bulk(f) for f in fields)
    return b"".join(out)


def null_array(protocol):
    return b"_\r\n" if protocol == 3 else b"*-1\r\n"


def info_clients(r):
    return r.info("clients")


def blocked_count(r):
    return info_clients(r)["blocked_clients"]


class Blocked:
    """A reader that sends one command on its own connection in a thread."""

    def __init__(self, handle, protocol, *command):
        self.conn = RawConn(handle, protocol, timeout=JOIN + 2)
        self.reply = None
        self.error = None
        self.started = time.monotonic()
        self.elapsed = None
        self.thread = threading.Thread(target=self._run, args=(command,), daemon=True)
        self.thread.start()

    def _run(self, command):
        try:
            self.conn.send(*command)
            self.reply = self.conn.read_reply()
        except Exception as exc:  # reported by result()
            self.error = exc
        self.elapsed = time.monotonic() - self.started

    def result(self, timeout=JOIN):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the blocked reader was not answered in time"
        assert self.error is None, self.error
        return self.reply

    def still_waiting(self, wait=0.2):
        self.thread.join(wait)
        return self.thread.is_alive()

    def close(self):
        self.conn.close()
        self.thread.join(JOIN)


def block(r, protocol, *command, expect_blocked):
    """Starts a blocked reader and waits until the server counts it blocked."""
    reader = Blocked(r.handle, protocol, *command)
    assert wait_until(lambda: blocked_count(r) >= expect_blocked), \
        f"{command} did not block (blocked_clients {blocked_count(r)})"
    return reader


@pytest.fixture
def readers():
    started = []
    yield started
    for reader in started:
        reader.close()


def test_block_timeout_is_a_null_array(r, protocol):
    r.xadd("s", {"f": "v"}, id="1-0")
    r.xgroup_create("s", "g", "$")
    for command in (("XREAD", "BLOCK", "150", "STREAMS", "s", "$"),
                    ("XREAD", "BLOCK", "150", "STREAMS", "nokey", "0"),
                    ("XREADGROUP", "GROUP", "g", "c", "BLOCK", "150", "STREAMS", "s", ">")):
        reader = Blocked(r.handle, protocol, *command)
        assert reader.result() == null_array(protocol), command
        assert 0.14 <= reader.elapsed < JOIN, (command, reader.elapsed)
        reader.close()
    assert blocked_count(r) == 0


def test_non_blocking_paths_do_not_block(r, protocol):
    r.xadd("s", {"f": "v"}, id="1-0")
    r.xgroup_create("s", "g", "0")
    # Data already there: served at once even with BLOCK 0.
    reader = Blocked(r.handle, protocol, "XREAD", "BLOCK", "0", "STREAMS", "s", "0")
    assert reader.result() == xread_reply(protocol, [("s", [("1-0", ["f", "v"])])])
    reader.close()
    # An explicit ID with XREADGROUP reads the consumer's history: never blocks.
    reader = Blocked(r.handle, protocol, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0",
                     "STREAMS", "s", "0")
    assert reader.result() == xread_reply(protocol, [("s", [])])
    reader.close()


def test_xread_block_0_woken_by_xadd(r, protocol, readers):
    r.xadd("s", {"f": "old"}, id="1-0")
    readers.append(block(r, protocol, "XREAD", "BLOCK", "0", "STREAMS", "s", "$", expect_blocked=1))
    assert readers[0].still_waiting()
    r.xadd("s", {"f": "new"}, id="2-0")
    # "$" is the last ID at the time of blocking: only the new entry comes back.
    assert readers[0].result() == xread_reply(protocol, [("s", [("2-0", ["f", "new"])])])
    assert wait_until(lambda: blocked_count(r) == 0)


def test_xread_block_on_missing_key_then_created(r, protocol, readers):
    readers.append(block(r, protocol, "XREAD", "COUNT", "5", "BLOCK", "0", "STREAMS", "a", "b", "$", "$",
                         expect_blocked=1))
    r.xadd("b", {"x": "1"}, id="3-1")
    assert readers[0].result() == xread_reply(protocol, [("b", [("3-1", ["x", "1"])])])


def test_xreadgroup_block_0_woken_by_xadd(r, protocol, readers):
    r.xgroup_create("s", "g", "$", mkstream=True)
    readers.append(block(r, protocol, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">",
                         expect_blocked=1))
    r.xadd("s", {"f": "v"}, id="5-0")
    assert readers[0].result() == xread_reply(protocol, [("s", [("5-0", ["f", "v"])])])
    # Delivered to the woken consumer: pending for it, group moved on.
    assert r.xpending("s", "g")["consumers"] == [{"name": b"c", "pending": 1}]
    assert r.xinfo_groups("s")[0]["last-delivered-id"] == b"5-0"


def test_several_xread_clients_all_get_the_entry(r, protocol, readers):
    r.xadd("s", {"f": "v"}, id="1-0")
    for n in range(1, 4):
        readers.append(block(r, protocol, "XREAD", "COUNT", "1", "BLOCK", "0", "STREAMS", "s", "$",
                             expect_blocked=n))
    r.xadd("s", {"f": "w"}, id="2-0")
    r.xadd("s", {"f": "x"}, id="3-0")
    expected = xread_reply(protocol, [("s", [("2-0", ["f", "w"])])])
    assert [reader.result() for reader in readers] == [expected] * 3
    assert wait_until(lambda: blocked_count(r) == 0)


def test_xreadgroup_first_blocked_consumer_gets_the_entry(r, protocol, readers):
    r.xgroup_create("s", "g", "$", mkstream=True)
    first = block(r, protocol, "XREADGROUP", "GROUP", "g", "c1", "BLOCK", "0", "STREAMS", "s", ">",
                  expect_blocked=1)
    readers.append(first)
    second = block(r, protocol, "XREADGROUP", "GROUP", "g", "c2", "COUNT", "5", "BLOCK", "0",
                   "STREAMS", "s", ">", expect_blocked=2)
    readers.append(second)
    r.xadd("s", {"n": "1"}, id="1-0")
    assert first.result() == xread_reply(protocol, [("s", [("1-0", ["n", "1"])])])
    assert second.still_waiting(0.3)
    assert blocked_count(r) == 1
    r.xadd("s", {"n": "2"}, id="2-0")
    assert second.result() == xread_reply(protocol, [("s", [("2-0", ["n", "2"])])])
    rows = r.xpending_range("s", "g", "-", "+", 10)
    assert [(row["message_id"], row["consumer"]) for row in rows] == [(b"1-0", b"c1"), (b"2-0", b"c2")]


def test_xreadgroup_block_timeout_with_nothing_new(r, protocol):
    r.xadd("s", {"f": "v"}, id="1-0")
    r.xgroup_create("s", "g", "0")
    r.xreadgroup("g", "c", {"s": ">"})
    reader = Blocked(r.handle, protocol, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "100", "STREAMS", "s", ">")
    assert reader.result() == null_array(protocol)
    reader.close()


def test_xgroup_destroy_wakes_blocked_xreadgroup_with_nogroup(r, protocol, readers):
    r.xadd("s", {"f": "v"}, id="1-0")
    r.xgroup_create("s", "g", "$")
    readers.append(block(r, protocol, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">",
                         expect_blocked=1))
    assert r.xgroup_destroy("s", "g") == 1
    reply = readers[0].result()
    # Redis 7.0 says "-NOGROUP the consumer group this client was blocked on no
    # longer exists"; 7.2+ re-runs the command (see the sluice_only case below).
    assert reply.startswith(b"-NOGROUP ") and reply.endswith(b"\r\n"), reply
    assert wait_until(lambda: blocked_count(r) == 0)


@pytest.mark.sluice_only("follows Redis 7.2+ (redis#11012): a client unblocked on a key re-runs its "
                         "command, so XGROUP DESTROY yields XREADGROUP's own NOGROUP error "
                         "(https://redis.io/docs/latest/commands/xreadgroup/)")
def test_xgroup_destroy_wakes_blocked_xreadgroup_exact_text(r, protocol, readers):
    r.xadd("s", {"f": "v"}, id="1-0")
    r.xgroup_create("s", "g", "$")
    readers.append(block(r, protocol, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">",
                         expect_blocked=1))
    r.xgroup_destroy("s", "g")
    assert readers[0].result() == \
        b"-NOGROUP No such key 's' or consumer group 'g' in XREADGROUP with GROUP option\r\n"


def test_del_wakes_blocked_xreadgroup_with_unblocked_error(r, protocol, readers):
    r.xadd("s", {"f": "v"}, id="1-0")
    r.xgroup_create("s", "g", "$")
    before = errorstat(r, "UNBLOCKED")
    readers.append(block(r, protocol, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">",
                         expect_blocked=1))
    assert r.delete("s") == 1
    assert readers[0].result() == b"-UNBLOCKED the stream key no longer exists\r\n"
    assert errorstat(r, "UNBLOCKED") == before + 1
    assert wait_until(lambda: blocked_count(r) == 0)


def test_type_change_wakes_blocked_xreadgroup(r, protocol, readers):
    r.xadd("s", {"f": "v"}, id="1-0")
    r.xgroup_create("s", "g", "$")
    readers.append(block(r, protocol, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">",
                         expect_blocked=1))
    r.set("s", "now a string")
    assert readers[0].result() == b"-UNBLOCKED the stream key no longer exists\r\n"


def test_del_does_not_wake_blocked_xread(r, protocol, readers):
    r.xadd("s", {"f": "v"}, id="1-0")
    readers.append(block(r, protocol, "XREAD", "BLOCK", "0", "STREAMS", "s", "$", expect_blocked=1))
    r.delete("s")
    assert readers[0].still_waiting(0.3)
    assert blocked_count(r) == 1
    # Recreated: the ID "$" stood for at block time (1-0) still applies.
    r.xadd("s", {"f": "again"}, id="1-5")
    assert readers[0].result() == xread_reply(protocol, [("s", [("1-5", ["f", "again"])])])


def test_blocked_clients_counted_in_info(r, protocol, readers):
    r.xgroup_create("s", "g", "$", mkstream=True)
    assert blocked_count(r) == 0
    readers.append(block(r, protocol, "XREAD", "BLOCK", "0", "STREAMS", "a", "b", "$", "$", expect_blocked=1))
    readers.append(block(r, protocol, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">",
                         expect_blocked=2))
    assert blocked_count(r) == 2
    r.xadd("a", {"f": "v"}, id="1-0")
    readers[0].result()
    assert wait_until(lambda: blocked_count(r) == 1)
    r.xadd("s", {"f": "v"}, id="1-0")
    readers[1].result()
    assert wait_until(lambda: blocked_count(r) == 0)


@pytest.mark.sluice_only("follows https://redis.io/docs/latest/commands/info/ (total_blocking_keys and "
                         "total_blocking_keys_on_nokey were added to INFO clients in 7.2)")
def test_total_blocking_keys_in_info(r, protocol, readers):
    r.xgroup_create("s", "g", "$", mkstream=True)
    info = info_clients(r)
    assert (info["total_blocking_keys"], info["total_blocking_keys_on_nokey"]) == (0, 0)
    readers.append(block(r, protocol, "XREAD", "BLOCK", "0", "STREAMS", "a", "b", "$", "$", expect_blocked=1))
    readers.append(block(r, protocol, "XREAD", "BLOCK", "0", "STREAMS", "a", "$", expect_blocked=2))
    info = info_clients(r)
    assert (info["blocked_clients"], info["total_blocking_keys"], info["total_blocking_keys_on_nokey"]) == \
        (2, 2, 0)
    # XREADGROUP asks to be woken when its key is deleted.
    readers.append(block(r, protocol, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">",
                         expect_blocked=3))
    info = info_clients(r)
    assert (info["total_blocking_keys"], info["total_blocking_keys_on_nokey"]) == (3, 1)
    r.xadd("a", {"f": "v"}, id="1-0")
    readers[0].result()
    readers[1].result()
    assert wait_until(lambda: info_clients(r)["blocked_clients"] == 1)
    info = info_clients(r)
    assert (info["total_blocking_keys"], info["total_blocking_keys_on_nokey"]) == (1, 1)


def test_disconnected_blocked_client_is_dropped(r, protocol):
    r.xgroup_create("s", "g", "$", mkstream=True)
    reader = block(r, protocol, "XREADGROUP", "GROUP", "g", "gone", "BLOCK", "0", "STREAMS", "s", ">",
                   expect_blocked=1)
    reader.close()
    assert wait_until(lambda: blocked_count(r) == 0), "the disconnected client still counts as blocked"
    # The entry goes to nobody: it stays undelivered for the next reader.
    r.xadd("s", {"f": "v"}, id="1-0")
    g = r.xinfo_groups("s")[0]
    assert (g["pending"], g["last-delivered-id"]) == (0, b"0-0")


def test_client_unblock(r, protocol, readers):
    r.xgroup_create("s", "g", "$", mkstream=True)
    for mode, expected in ((None, null_array(protocol)),
                           ("ERROR", b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n")):
        reader = block(r, protocol, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">",
                       expect_blocked=1)
        readers.append(reader)
        ids = [c["id"] for c in r.client_list() if "b" in c["flags"]]
        assert len(ids) == 1
        args = ("CLIENT", "UNBLOCK", ids[0]) + ((mode,) if mode else ())
        assert r.execute_command(*args) == 1
        assert reader.result() == expected
        assert wait_until(lambda: blocked_count(r) == 0)
    assert r.execute_command("CLIENT", "UNBLOCK", ids[0]) == 0  # no longer blocked
