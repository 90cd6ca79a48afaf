"""Persistence commands and durability: SAVE, BGSAVE, BGREWRITEAOF, LASTSAVE,
INFO persistence, DEBUG RELOAD, DEBUG LOADAOF, and data surviving a restart
on the same data directory, against both real Redis and Sluice.

Redis (the oracle) is started with ``--appendonly no`` by the harness, so the
tests that need data to outlive the process pass ``--appendonly yes``; Sluice
always journals and only warns about that flag. Anything that changes
server-wide state (the last save time, a reload, a restart) runs on a
dedicated server from ``start_server``.
"""

import socket
import time

import pytest
import redis

from conftest import fresh_string_encoding
from rawcmd import raw

POLL_TIMEOUT = 10.0
POLL_STEP = 0.02


def wait_for(condition, what, timeout=POLL_TIMEOUT):
    """Polls condition() until it returns something truthy (returned), or
    fails after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(POLL_STEP)


def wire(handle, *args):
    """Sends one command over a fresh RESP2 connection and returns the raw
    bytes of its single-line reply (simple string, error or integer)."""
    payload = b"*%d\r\n" % len(args)
    for arg in args:
        arg = arg if isinstance(arg, bytes) else str(arg).encode()
        payload += b"$%d\r\n%s\r\n" % (len(arg), arg)
    with socket.create_connection((handle.host, handle.port), timeout=10) as sock:
        sock.sendall(payload)
        reply = b""
        while not reply.endswith(b"\r\n"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
    return reply


def persistence(client):
    return client.info("persistence")


def idle(client):
    """True once no background save or rewrite is running or scheduled."""
    info = persistence(client)
    return (info["rdb_bgsave_in_progress"] == 0
            and info["aof_rewrite_in_progress"] == 0
            and info.get("aof_rewrite_scheduled", 0) == 0)


def wait_idle(client):
    wait_for(lambda: idle(client), "background persistence work to finish")


def wait_for_next_second(client, after):
    """Waits until the server clock (TIME) is 50 ms past the end of the unix
    second `after`. The margin is there because a server may stamp saves with
    a coarse clock (time(2)) that lags TIME's by a few milliseconds."""
    target = (after + 1) * 1_000_000 + 50_000
    wait_for(lambda: (lambda t: t[0] * 1_000_000 + t[1])(client.time()) >= target,
             f"the server clock to pass {after}", timeout=3)


def lastsave(client):
    return raw(client, "LASTSAVE")  # redis-py would make it a datetime


def error_text(excinfo):
    return str(excinfo.value)


# ---------------------------------------------------------------- SAVE / LASTSAVE


def test_save_reply(kind, start_server):
    handle = start_server(kind)
    assert wire(handle, "SAVE") == b"+OK\r\n"
    for protocol in (2, 3):
        with handle.client(protocol=protocol) as c:
            assert raw(c, "SAVE") == b"OK"
            assert raw(c, "save") == b"OK"


@pytest.mark.parametrize("args", [("SAVE", "x"), ("LASTSAVE", "x"), ("BGREWRITEAOF", "x")])
def test_persistence_commands_arity(r, args):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command(*args)
    assert error_text(e) == f"wrong number of arguments for '{args[0].lower()}' command"


def test_lastsave_is_unix_seconds(kind, start_server):
    handle = start_server(kind)
    assert wire(handle, "LASTSAVE").startswith(b":")
    with handle.client() as c:
        when = lastsave(c)
        assert isinstance(when, int)
        now = int(c.time()[0])
        # A fresh server reports roughly its start time.
        assert now - 60 <= when <= now
        assert persistence(c)["rdb_last_save_time"] == when


def test_lastsave_moves_on_save(kind, start_server):
    handle = start_server(kind)
    with handle.client() as c:
        c.set("k", "v")
        before = lastsave(c)
        wait_for_next_second(c, before)
        assert raw(c, "SAVE") == b"OK"
        after = lastsave(c)
        assert after > before
        assert after <= int(c.time()[0])
        assert persistence(c)["rdb_last_save_time"] == after
        assert persistence(c)["rdb_last_bgsave_status"] == "ok"


# ---------------------------------------------------------------- BGSAVE


def test_bgsave_reply_and_completion(kind, start_server):
    handle = start_server(kind)
    with handle.client() as c:
        c.set("k", "v")
        before = lastsave(c)
        wait_for_next_second(c, before)
        wait_idle(c)
    assert wire(handle, "BGSAVE") == b"+Background saving started\r\n"
    with handle.client() as c:
        # LASTSAVE moves once the background save has finished.
        wait_for(lambda: lastsave(c) > before, "LASTSAVE to move after BGSAVE")
        wait_idle(c)
        info = persistence(c)
        assert info["rdb_last_bgsave_status"] == "ok"
        assert info["rdb_last_save_time"] == lastsave(c)
        assert c.get("k") == b"v"


@pytest.mark.parametrize("word", ["SCHEDULE", "schedule"])
def test_bgsave_schedule_when_idle_starts_at_once(kind, start_server, word):
    handle = start_server(kind)
    with handle.client() as c:
        wait_idle(c)
    assert wire(handle, "BGSAVE", word) == b"+Background saving started\r\n"
    for protocol in (2, 3):
        with handle.client(protocol=protocol) as c:
            wait_idle(c)
            assert raw(c, "BGSAVE") == b"Background saving started"
    with handle.client() as c:
        wait_idle(c)
        assert persistence(c)["rdb_last_bgsave_status"] == "ok"


def test_bgsave_back_to_back(kind, start_server):
    """A second BGSAVE right after the first either starts another save (the
    first one already finished) or is refused with Redis's error text; BGSAVE
    SCHEDULE does not queue behind a running BGSAVE either."""
    handle = start_server(kind)
    with handle.client() as c:
        wait_idle(c)
        assert c.execute_command("BGSAVE") in (True, b"Background saving started")
        for args in (("BGSAVE",), ("BGSAVE", "SCHEDULE")):
            try:
                reply = raw(c, *args)
            except redis.ResponseError as err:
                assert str(err) == "Background save already in progress"
            else:
                assert reply == b"Background saving started"
        wait_idle(c)
        assert persistence(c)["rdb_last_bgsave_status"] == "ok"


@pytest.mark.parametrize("args", [("foo",), ("SCHEDULE", "x"), ("SCHEDULE", "SCHEDULE")])
def test_bgsave_syntax_errors(r, args):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("BGSAVE", *args)
    assert error_text(e) == "syntax error"


# ---------------------------------------------------------------- BGREWRITEAOF


@pytest.mark.parametrize("appendonly", ["no", "yes"])
def test_bgrewriteaof_reply_and_completion(kind, start_server, appendonly):
    handle = start_server(kind, "--appendonly", appendonly)
    with handle.client() as c:
        c.set("k", "v")
        wait_idle(c)
    assert wire(handle, "BGREWRITEAOF") == b"+Background append only file rewriting started\r\n"
    with handle.client() as c:
        wait_idle(c)
        info = persistence(c)
        assert info["aof_last_bgrewrite_status"] == "ok"
        assert info["aof_last_write_status"] == "ok"
        assert c.get("k") == b"v"
        for protocol in (2, 3):
            with handle.client(protocol=protocol) as p:
                assert raw(p, "BGREWRITEAOF") == b"Background append only file rewriting started"
                wait_idle(p)


# ---------------------------------------------------------------- INFO persistence


def test_info_persistence_fields(r):
    info = persistence(r)
    for field in ("loading", "rdb_bgsave_in_progress", "aof_rewrite_in_progress",
                  "aof_enabled", "rdb_last_save_time"):
        assert isinstance(info[field], int), field
    for field in ("loading", "rdb_bgsave_in_progress", "aof_rewrite_in_progress",
                  "aof_enabled"):
        assert info[field] in (0, 1), field
    assert info["loading"] == 0
    assert info["aof_last_write_status"] == "ok"
    assert info["rdb_last_bgsave_status"] == "ok"
    assert info["aof_last_bgrewrite_status"] == "ok"
    now = int(r.time()[0])
    assert 0 < info["rdb_last_save_time"] <= now


def test_info_persistence_wire_format(kind, server):
    text = server.cli("INFO", "persistence", raw=True).stdout
    lines = text.split("\r\n")
    assert lines[0] == "# Persistence"
    fields = dict(line.split(":", 1) for line in lines[1:] if line)
    for field in ("aof_enabled", "rdb_last_save_time", "aof_last_write_status",
                  "aof_rewrite_in_progress", "rdb_bgsave_in_progress"):
        assert field in fields, field


def test_info_persistence_with_appendonly(kind, start_server):
    handle = start_server(kind, "--appendonly", "yes", "--appendfsync", "always")
    with handle.client() as c:
        c.set("k", "v")
        info = persistence(c)
        assert info["aof_enabled"] == 1
        assert info["aof_last_write_status"] == "ok"
        assert info["rdb_last_save_time"] == lastsave(c)


# ---------------------------------------------------------------- DEBUG RELOAD / LOADAOF


def fill(handle):
    """Writes a mixed data set over several databases; returns what every
    database should then hold as {db: {key: (value, ttl_ms or None)}}."""
    big = bytes(range(256)) * 20
    expected = {0: {}, 3: {}, 15: {}}
    with handle.client() as c:
        c.set(b"plain", b"hello")
        c.set(b"bin\x00key\xff", b"\x00\x01\xfe\xff")
        c.set(b"empty", b"")
        c.set(b"big", big)
        c.set(b"int", 12345)
        c.set(b"neg", -7)
        c.set(b"huge", b"99999999999999999999")  # past i64: not an int encoding
        c.incrby(b"counter", 41)
        c.incr(b"counter")
        c.incrbyfloat(b"float", 1.5)
        c.set(b"appended", b"abc")
        c.append(b"appended", b"def")
        c.set(b"ranged", b"hello")
        c.setrange(b"ranged", 0, b"J")
        c.set(b"ttl_ex", b"a", ex=1000)
        c.set(b"ttl_px", b"b", px=500_000)
        c.set(b"persisted", b"c", ex=100)
        c.persist(b"persisted")
        c.set(b"deleted", b"x")
        c.delete(b"deleted")
        c.set(b"old", b"renamed value")
        c.rename(b"old", b"new")
        with c.pipeline(transaction=True) as tx:
            tx.set(b"tx1", b"one")
            tx.incrby(b"tx2", 2)
            tx.expire(b"tx1", 2000)
            tx.execute()
        expected[0] = {
            b"plain": (b"hello", None), b"bin\x00key\xff": (b"\x00\x01\xfe\xff", None),
            b"empty": (b"", None), b"big": (big, None), b"int": (b"12345", None),
            b"neg": (b"-7", None), b"huge": (b"99999999999999999999", None),
            b"counter": (b"42", None), b"float": (b"1.5", None),
            b"appended": (b"abcdef", None), b"ranged": (b"Jello", None),
            b"ttl_ex": (b"a", 1_000_000), b"ttl_px": (b"b", 500_000),
            b"persisted": (b"c", None), b"new": (b"renamed value", None),
            b"tx1": (b"one", 2_000_000), b"tx2": (b"2", None),
        }
    with handle.client(db=3) as c:
        c.set(b"plain", b"in db 3")
        c.set(b"ttl", b"t", px=300_000)
        expected[3] = {b"plain": (b"in db 3", None), b"ttl": (b"t", 300_000)}
    with handle.client(db=15) as c:
        c.mset({b"a": b"1", b"b": b"2"})
        expected[15] = {b"a": (b"1", None), b"b": (b"2", None)}
    return expected


def check(handle, expected, started, encodings=True):
    """Checks every database against fill()'s expectation; TTLs may have
    dropped by at most the time since `started` (a time.monotonic() taken
    before fill()), plus a little."""
    for db in range(16):
        with handle.client(db=db) as c:
            want = expected.get(db, {})
            assert sorted(c.keys()) == sorted(want), f"db {db}"
            for key, (value, ttl) in want.items():
                assert c.get(key) == value, (db, key)
                pttl = c.pttl(key)
                elapsed_ms = int((time.monotonic() - started) * 1000)
                if ttl is None:
                    assert pttl == -1, (db, key)
                else:
                    assert ttl - elapsed_ms - 5 <= pttl <= ttl, (db, key, pttl, elapsed_ms)
                if encodings:
                    # Loading from disk re-encodes strings as a SET would.
                    assert c.object("encoding", key) == fresh_string_encoding(value), (db, key)


def test_debug_reload_keeps_data_and_ttls(kind, start_server):
    handle = start_server(kind)
    started = time.monotonic()
    expected = fill(handle)
    with handle.client() as c:
        assert c.execute_command("DEBUG", "RELOAD") == b"OK"
        assert c.execute_command("DEBUG", "RELOAD") == b"OK"  # twice: idempotent
    check(handle, expected, started)
    with handle.client() as c:
        # Still usable as before: counters count, TTLs still run out.
        assert c.incr(b"counter") == 43
        assert c.incrbyfloat(b"float", 1) == 2.5
        c.set(b"short", b"v", px=200)
        assert c.execute_command("DEBUG", "RELOAD") == b"OK"
        assert 0 < c.pttl(b"short") <= 200
        wait_for(lambda: c.exists(b"short") == 0, "a reloaded key with a TTL to expire",
                 timeout=3)


def test_debug_reload_drops_expired_keys(kind, start_server):
    handle = start_server(kind)
    with handle.client() as c:
        assert c.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0") == b"OK"
        c.set(b"gone", b"v", px=20)
        c.set(b"kept", b"v")
        time.sleep(0.1)  # let the TTL run out; no active expiry removes it
        assert c.dbsize() == 2  # still stored, only logically expired
        assert c.execute_command("DEBUG", "RELOAD") == b"OK"
        assert c.dbsize() == 1
        assert c.get(b"gone") is None
        assert c.get(b"kept") == b"v"


def test_debug_reload_empty_keyspace(kind, start_server):
    handle = start_server(kind)
    with handle.client() as c:
        c.set(b"k", b"v")
        c.flushall()
        assert c.execute_command("DEBUG", "RELOAD") == b"OK"
        assert c.dbsize() == 0


def test_debug_loadaof_with_appendonly(kind, start_server):
    handle = start_server(kind, "--appendonly", "yes", "--appendfsync", "always")
    started = time.monotonic()
    expected = fill(handle)
    with handle.client() as c:
        assert c.execute_command("DEBUG", "LOADAOF") == b"OK"
    # The log replays APPEND and SETRANGE as such (Redis keeps them "raw"),
    # so encodings are not compared here.
    check(handle, expected, started, encodings=False)


@pytest.mark.sluice_only("Sluice always journals; Redis 7.0 without appendonly "
                         "exits when DEBUG LOADAOF finds no append-only file")
def test_debug_loadaof_without_appendonly_flag(kind, start_server):
    handle = start_server(kind)
    started = time.monotonic()
    expected = fill(handle)
    with handle.client() as c:
        assert c.execute_command("DEBUG", "LOADAOF") == b"OK"
        assert c.ping() is True
    check(handle, expected, started, encodings=False)


# ---------------------------------------------------------------- restart

DURABLE = ("--appendonly", "yes", "--appendfsync", "always")


def shutdown(handle):
    """SHUTDOWN through a client and wait for the process to exit cleanly."""
    with handle.client() as c:
        with pytest.raises(redis.ConnectionError):
            c.execute_command("SHUTDOWN")
    wait_for(lambda: not handle.alive(), f"{handle.kind} to exit after SHUTDOWN")
    assert handle.exit_code() == 0, handle.output()


def test_data_survives_shutdown_and_new_server(kind, start_server, tmp_path):
    first = start_server(kind, *DURABLE, dir=tmp_path)
    started = time.monotonic()
    expected = fill(first)
    shutdown(first)
    second = start_server(kind, *DURABLE, dir=tmp_path)
    assert second.dir == first.dir == str(tmp_path)
    check(second, expected, started, encodings=False)
    # And it keeps journaling: a second generation survives too.
    with second.client() as c:
        assert c.incr(b"counter") == 43
        c.delete(b"plain")
    expected[0][b"counter"] = (b"43", None)
    del expected[0][b"plain"]
    shutdown(second)
    third = start_server(kind, *DURABLE, dir=tmp_path)
    check(third, expected, started, encodings=False)


def test_restart_after_sigterm_without_fsync_always(kind, start_server):
    """A clean stop (SIGTERM) flushes what was written even when the journal
    is only fsynced once a second."""
    handle = start_server(kind, "--appendonly", "yes")
    started = time.monotonic()
    expected = fill(handle)
    port_dir = handle.dir
    assert handle.restart() is handle
    assert handle.alive() and handle.dir == port_dir
    check(handle, expected, started, encodings=False)


def test_restart_after_checkpoint_and_more_writes(kind, start_server):
    """Data from before a SAVE / BGREWRITEAOF (the checkpoint) and after it
    (the log) both come back."""
    handle = start_server(kind, *DURABLE)
    with handle.client() as c:
        c.set(b"before", b"1")
        c.set(b"overwritten", b"old")
        c.set(b"deleted_later", b"x")
        c.set(b"ttl_later", b"t")
        assert raw(c, "SAVE") == b"OK"
        c.execute_command("BGREWRITEAOF")
        wait_idle(c)
        c.set(b"after", b"2")
        c.set(b"overwritten", b"new")
        c.delete(b"deleted_later")
        c.expire(b"ttl_later", 1000)
        c.incr(b"before")
    handle.restart()
    with handle.client() as c:
        assert sorted(c.keys()) == [b"after", b"before", b"overwritten", b"ttl_later"]
        assert c.get(b"before") == b"2"
        assert c.get(b"after") == b"2"
        assert c.get(b"overwritten") == b"new"
        assert 990_000 <= c.pttl(b"ttl_later") <= 1_000_000


def test_ttls_keep_running_while_down(kind, start_server):
    """Expiry times are absolute: the time the server was down counts."""
    handle = start_server(kind, *DURABLE)
    with handle.client() as c:
        c.set(b"short", b"v", px=1500)
        written = time.monotonic()
        c.set(b"long", b"v", ex=1000)
    handle.restart()
    with handle.client() as c:
        down_ms = int((time.monotonic() - written) * 1000)
        pttl = c.pttl(b"short")
        assert pttl == -2 or 0 < pttl <= 1500 - down_ms + 5, (pttl, down_ms)
        assert 990_000 <= c.pttl(b"long") <= 1_000_000
        wait_for(lambda: c.exists(b"short") == 0, "a restored TTL to run out", timeout=3)
        assert c.get(b"long") == b"v"


def test_key_expired_before_stop_is_not_restored(kind, start_server):
    handle = start_server(kind, *DURABLE)
    with handle.client() as c:
        assert c.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0") == b"OK"
        c.set(b"gone", b"v", px=20)
        c.set(b"kept", b"v")
        time.sleep(0.1)  # let the TTL run out; no active expiry removes it
        assert c.dbsize() == 2  # still stored, only logically expired
    handle.restart()
    with handle.client() as c:
        assert c.get(b"gone") is None
        assert c.dbsize() == 1
        assert c.get(b"kept") == b"v"


def test_flushall_survives_restart(kind, start_server):
    handle = start_server(kind, *DURABLE)
    with handle.client() as c:
        c.set(b"a", b"1")
        with handle.client(db=5) as c5:
            c5.set(b"b", b"2")
        c.flushall()
        c.set(b"c", b"3")
    handle.restart()
    with handle.client() as c:
        assert c.keys() == [b"c"]
    with handle.client(db=5) as c5:
        assert c5.dbsize() == 0


def test_restart_helper_requires_a_running_handle(kind, start_server):
    handle = start_server(kind)
    handle.stop()
    with pytest.raises(RuntimeError):
        handle.restart()
