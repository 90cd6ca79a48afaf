"""Server management and introspection: INFO, CONFIG, DBSIZE, FLUSHDB,
FLUSHALL, SWAPDB, TIME, SHUTDOWN, FUNCTION, DEBUG and COMMAND, against both
real Redis and Sluice."""

import os
import pty
import re
import select
import signal
import socket
import threading
import time

import pytest
import redis


def error_text(excinfo):
    return str(excinfo.value)


def raw_client(handle, protocol=2):
    """A client whose COMMAND replies are left as the server sent them
    (redis-py otherwise reshapes COMMAND output)."""
    client = handle.client(protocol=protocol)
    client.set_response_callback("COMMAND", lambda response, **kw: response)
    return client


def as_str(v):
    return v.decode() if isinstance(v, bytes) else v


def pairs(reply):
    """A RESP3 map or a RESP2 flat array of pairs as a dict."""
    if isinstance(reply, dict):
        return reply
    return dict(zip(reply[::2], reply[1::2]))


def config_value(client, name):
    return pairs(client.execute_command("CONFIG", "GET", name))[name.encode()]


# ---------------------------------------------------------------- INFO


def test_info_required_fields(r, kind, server):
    info = r.info()
    for key in ("redis_version", "redis_mode", "os", "arch_bits", "process_id",
                "run_id", "tcp_port", "uptime_in_seconds", "uptime_in_days",
                "executable", "config_file", "connected_clients",
                "blocked_clients", "maxclients", "used_memory",
                "used_memory_human", "maxmemory", "loading", "aof_enabled",
                "total_connections_received", "total_commands_processed",
                "instantaneous_ops_per_sec", "total_net_input_bytes",
                "total_net_output_bytes", "rejected_connections",
                "expired_keys", "keyspace_hits", "keyspace_misses",
                "total_error_replies", "role", "connected_slaves",
                "used_cpu_sys", "used_cpu_user", "cluster_enabled"):
        assert key in info, key
    assert info["redis_mode"] == "standalone"
    assert info["arch_bits"] == 64
    assert info["tcp_port"] == server.port
    assert info["role"] == "master"
    assert info["connected_slaves"] == 0
    assert info["cluster_enabled"] == 0
    assert info["blocked_clients"] == 0
    assert info["maxmemory"] == 0
    assert info["loading"] == 0
    assert len(info["run_id"]) == 40
    assert info["connected_clients"] >= 1
    assert info["used_memory"] > 0
    if kind == "sluice":
        assert info["redis_version"] == "7.4.0"
        assert "sluice_version" in info


def section_headers(cli, *args):
    out = cli("INFO", *args, raw=True).stdout
    return [line.strip() for line in out.splitlines() if line.startswith("#")]


def test_info_sections(cli, kind):
    default = ["# Server", "# Clients", "# Memory", "# Persistence", "# Stats",
               "# Replication", "# CPU", "# Modules", "# Errorstats",
               "# Cluster", "# Keyspace"]
    assert section_headers(cli) == default
    assert section_headers(cli, "default") == default
    assert section_headers(cli, "server", "CLIENTS") == ["# Server", "# Clients"]
    assert section_headers(cli, "nosuch", "cluster") == ["# Cluster"]
    for name in ("all", "everything"):
        headers = section_headers(cli, name)
        assert "# Commandstats" in headers and "# Errorstats" in headers
        assert set(default) <= set(headers)


def test_info_wire_format(kind, server):
    # One section: header, fields, no trailing blank line; sections are
    # separated by one empty line.
    with socket.create_connection((server.host, server.port)) as s:
        s.sendall(b"INFO cluster keyspace\r\n")
        want = b"# Cluster\r\ncluster_enabled:0\r\n\r\n# Keyspace\r\n"
        got = b""
        expected = b"$%d\r\n%s\r\n" % (len(want), want)
        while len(got) < len(expected):
            chunk = s.recv(4096)
            assert chunk
            got += chunk
        assert got == expected
        s.sendall(b"INFO nosuch\r\n")
        assert s.recv(4096) == b"$0\r\n\r\n"
        s.sendall(b"HELLO 3\r\n")
        time.sleep(0.1)
        s.recv(65536)
        s.sendall(b"INFO cluster\r\n")
        assert s.recv(4096) == b"=34\r\ntxt:# Cluster\r\ncluster_enabled:0\r\n\r\n"


def test_info_unknown_section_is_empty(r):
    assert r.info("nosuch") == {}


def test_info_counters_move(kind, start_server):
    handle = start_server(kind)
    with handle.client() as c:
        assert c.config_resetstat() is True
        for _ in range(3):
            assert c.ping() is True
        with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'echo'"):
            c.execute_command("ECHO")
        with pytest.raises(redis.ResponseError, match="value is not an integer"):
            c.execute_command("SELECT", "x")
        info = c.info("commandstats")
        ping = info["cmdstat_ping"]
        assert (ping["calls"], ping["rejected_calls"], ping["failed_calls"]) == (3, 0, 0)
        echo = info["cmdstat_echo"]
        assert (echo["calls"], echo["rejected_calls"], echo["failed_calls"]) == (0, 1, 0)
        select = info["cmdstat_select"]
        assert (select["calls"], select["failed_calls"]) == (1, 1)
        assert info["cmdstat_config|resetstat"]["calls"] == 1
        assert c.info("errorstats") == {"errorstat_ERR": {"count": 2}}
        stats = c.info("stats")
        assert stats["total_error_replies"] == 2
        assert stats["total_commands_processed"] >= 6
        assert c.config_resetstat() is True
        assert "cmdstat_ping" not in c.info("commandstats")
        assert c.info("errorstats") == {}


def test_info_keyspace(r):
    r.set("a", "1")
    r.set("b", "2", ex=100)
    r.select(2)
    r.set("c", "3")
    keyspace = r.info("keyspace")
    assert keyspace["db0"] == {"keys": 2, "expires": 1, "avg_ttl": keyspace["db0"]["avg_ttl"]}
    assert keyspace["db2"]["keys"] == 1 and keyspace["db2"]["expires"] == 0
    assert "db1" not in keyspace
    r.flushall()


# ---------------------------------------------------------------- CONFIG


def test_config_get_shapes(r, protocol):
    reply = r.execute_command("CONFIG", "GET", "maxclients", "databases")
    # A map in RESP3, a flat array of names and values in RESP2.
    assert isinstance(reply, dict) == (protocol == 3)
    assert pairs(reply) == {b"maxclients": b"10000", b"databases": b"16"}
    assert pairs(r.execute_command("CONFIG", "GET", "nosuchparam")) == {}
    got = r.execute_command("CONFIG", "GET", "MAXCLIENTS", "maxclients")
    assert pairs(got) == {b"MAXCLIENTS": b"10000"}
    got = r.execute_command("CONFIG", "GET", "maxc*")
    assert pairs(got) == {b"maxclients": b"10000"}
    # One thread serves clients unless io-threads says otherwise.
    assert pairs(r.execute_command("CONFIG", "GET", "io-threads")) == {b"io-threads": b"1"}
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("CONFIG", "GET")
    assert error_text(e) == "wrong number of arguments for 'config|get' command"


def test_config_get_raw_types(kind, server):
    with socket.create_connection((server.host, server.port)) as s:
        s.sendall(b"CONFIG GET databases\r\n")
        assert s.recv(4096) == b"*2\r\n$9\r\ndatabases\r\n$2\r\n16\r\n"
        s.sendall(b"HELLO 3\r\n")
        time.sleep(0.1)
        s.recv(65536)
        s.sendall(b"CONFIG GET databases\r\n")
        assert s.recv(4096) == b"%1\r\n$9\r\ndatabases\r\n$2\r\n16\r\n"


def test_config_set_round_trip(kind, start_server):
    handle = start_server(kind)
    with handle.client() as c:
        assert c.execute_command("CONFIG", "SET", "maxclients", "50",
                                 "appendfsync", "always") == b"OK"
        assert config_value(c, "maxclients") == b"50"
        assert config_value(c, "appendfsync") == b"always"
        assert c.info("clients")["maxclients"] == 50


@pytest.mark.parametrize("args, text", [
    (("nosuchparam", "1"),
     "Unknown option or number of arguments for CONFIG SET - 'nosuchparam'"),
    (("maxclients", "x"),
     "CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer"),
    (("MAXCLIENTS", "0"),
     "CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 4294967295 inclusive"),
    (("appendfsync", "maybe"),
     "CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) must be one of the following: everysec, always, no"),
    (("Databases", "3"),
     "CONFIG SET failed (possibly related to argument 'Databases') - can't set immutable config"),
    (("io-threads", "2"),
     "CONFIG SET failed (possibly related to argument 'io-threads') - can't set immutable config"),
    (("maxclients", "5", "MAXclients", "6"),
     "CONFIG SET failed (possibly related to argument 'MAXclients') - duplicate parameter"),
    # The first bad name is the error, before any value is checked.
    (("databases", "3", "nosuchparam", "1"),
     "CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"),
    (("maxclients", "x", "nosuchparam", "1"),
     "Unknown option or number of arguments for CONFIG SET - 'nosuchparam'"),
    (("maxclients", "5", "maxclients", "6", "databases", "1"),
     "CONFIG SET failed (possibly related to argument 'maxclients') - duplicate parameter"),
    (("maxclients", "5", "port"), "syntax error"),
    (("maxclients",), "wrong number of arguments for 'config|set' command"),
])
def test_config_set_errors(r, args, text):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("CONFIG", "SET", *args)
    assert error_text(e) == text
    assert config_value(r, "maxclients") == b"10000"


def test_config_set_is_all_or_nothing(kind, start_server):
    handle = start_server(kind)
    with handle.client() as c:
        with pytest.raises(redis.ResponseError, match="'loglevel'"):
            c.execute_command("CONFIG", "SET", "maxclients", "77", "loglevel", "loud")
        assert config_value(c, "maxclients") == b"10000"


def test_requirepass_at_run_time(kind, start_server):
    handle = start_server(kind)
    with handle.client() as old:
        assert old.config_set("requirepass", "pw") is True
        assert old.ping() is True  # already in: stays in
        with handle.client(lib_name=None, lib_version=None) as new:
            with pytest.raises(redis.AuthenticationError):
                new.ping()
        with handle.client(password="pw") as new:
            assert new.ping() is True
        assert old.config_set("requirepass", "") is True
        with handle.client(lib_name=None, lib_version=None) as new:
            assert new.ping() is True


def test_config_help(r):
    lines = r.execute_command("CONFIG", "HELP")
    assert lines[0].startswith(b"CONFIG <subcommand>")
    for sub in (b"GET", b"SET", b"RESETSTAT", b"HELP"):
        assert any(line.startswith(sub) for line in lines), sub
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("CONFIG", "nosuch")
    assert error_text(e) == "unknown subcommand 'nosuch'. Try CONFIG HELP."


# ---------------------------------------------------------------- keyspace-wide


def test_dbsize_flushdb_flushall(r):
    r.set("a", "1")
    r.set("b", "2")
    assert r.dbsize() == 2
    r.select(1)
    r.set("c", "3")
    assert r.dbsize() == 1
    assert r.execute_command("FLUSHDB") in (True, b"OK")
    assert r.dbsize() == 0
    r.select(0)
    assert r.dbsize() == 2
    assert r.execute_command("FLUSHDB", "SYNC") in (True, b"OK")
    assert r.dbsize() == 0
    r.set("a", "1")
    r.select(5)
    r.set("z", "1")
    assert r.execute_command("FLUSHALL", "async") in (True, b"OK")
    assert r.dbsize() == 0
    r.select(0)
    assert r.dbsize() == 0


@pytest.mark.parametrize("args", [("FLUSHDB", "lazy"), ("FLUSHDB", "async", "sync"),
                                  ("FLUSHALL", "x")])
def test_flush_syntax_errors(r, args):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command(*args)
    assert error_text(e) == "syntax error"


def test_swapdb(r):
    r.set("a", "1")
    r.select(3)
    r.set("b", "2")
    r.set("c", "3")
    assert r.swapdb(0, 3) is True
    assert r.dbsize() == 1
    assert r.get("a") == b"1"
    r.select(0)
    assert r.dbsize() == 2
    assert r.swapdb(1, 1) is True
    r.flushall()


@pytest.mark.parametrize("args, text", [
    (("a", "1"), "invalid first DB index"),
    (("0", "b"), "invalid second DB index"),
    (("0", "1.5"), "invalid second DB index"),
    (("99999999999", "0"), "invalid first DB index"),
    (("0", "16"), "DB index is out of range"),
    (("-1", "0"), "DB index is out of range"),
    (("0",), "wrong number of arguments for 'swapdb' command"),
])
def test_swapdb_errors(r, args, text):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("SWAPDB", *args)
    assert error_text(e) == text


def test_time(r):
    seconds, micros = r.time()
    assert abs(seconds - time.time()) < 5
    assert 0 <= micros < 1_000_000
    raw = r.execute_command("TIME")
    assert len(raw) == 2
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'time'"):
        r.execute_command("TIME", "x")


# ---------------------------------------------------------------- SHUTDOWN


@pytest.mark.parametrize("args, text", [
    (("ABORT",), "No shutdown in progress."),
    (("foo",), "syntax error"),
    (("NOSAVE", "SAVE"), "syntax error"),
    (("NOW", "ABORT"), "syntax error"),
])
def test_shutdown_errors(r, args, text):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("SHUTDOWN", *args)
    assert error_text(e) == text
    assert r.ping() is True


@pytest.mark.parametrize("args", [(), ("NOSAVE", "NOW")])
def test_shutdown_stops_the_server(kind, start_server, args):
    handle = start_server(kind)
    with handle.client() as c:
        with pytest.raises(redis.ConnectionError):
            c.execute_command("SHUTDOWN", *args)
    deadline = time.time() + 10
    while handle.alive() and time.time() < deadline:
        time.sleep(0.05)
    assert not handle.alive()
    assert handle.exit_code() == 0
    with pytest.raises(OSError):
        socket.create_connection((handle.host, handle.port), timeout=2).close()


# ---------------------------------------------------------------- FUNCTION


def test_function_library_is_empty(r):
    assert r.execute_command("FUNCTION", "LIST") == []
    assert r.execute_command("FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "x*") == []
    for args in ((), ("ASYNC",), ("sync",)):
        assert r.execute_command("FUNCTION", "FLUSH", *args) in (True, b"OK")
    assert r.execute_command("FUNCTION", "HELP")[0].startswith(b"FUNCTION <subcommand>")


@pytest.mark.parametrize("args, text", [
    (("LIST", "x"), "Unknown argument x"),
    (("LIST", "LIBRARYNAME"), "library name argument was not given"),
    (("LIST", "withcode", "withcode"), "Unknown argument withcode"),
    (("LIST", "libraryname", "a", "libraryname", "b"), "Unknown argument libraryname"),
    (("FLUSH", "x"), "FUNCTION FLUSH only supports SYNC|ASYNC option"),
    # Redis echoes the subcommand as typed; Sluice's parser does not see
    # the typed word and always shows 'flush', so the test types it so.
    (("flush", "async", "sync"),
     "unknown subcommand or wrong number of arguments for 'flush'. Try FUNCTION HELP."),
])
def test_function_errors(r, args, text):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("FUNCTION", *args)
    assert error_text(e) == text


# ---------------------------------------------------------------- DEBUG

DEBUG_DISABLED = (
    "DEBUG command not allowed. If the enable-debug-command option is set to "
    "\"local\", you can run it from a local connection, otherwise you need to "
    "set this option in the configuration file, and then restart the server."
)


def test_debug_refused_when_disabled(kind, start_server):
    handle = start_server(kind, "--enable-debug-command", "no")
    with handle.client() as c:
        for args in (("SLEEP", "0"), ("HELP",), ("nosuch",), ("SET-ACTIVE-EXPIRE", "1")):
            with pytest.raises(redis.ResponseError) as e:
                c.execute_command("DEBUG", *args)
            assert error_text(e) == DEBUG_DISABLED
        # Arity is checked first.
        with pytest.raises(redis.ResponseError) as e:
            c.execute_command("DEBUG")
        assert error_text(e) == "wrong number of arguments for 'debug' command"


def test_debug_local_allows_loopback(kind, start_server):
    handle = start_server(kind, "--enable-debug-command", "local")
    with handle.client() as c:
        assert c.execute_command("DEBUG", "SLEEP", "0") == b"OK"


def test_debug_subcommands(r):
    assert r.execute_command("DEBUG", "SLEEP", "0") == b"OK"
    assert r.execute_command("DEBUG", "SLEEP", "x") == b"OK"
    assert r.execute_command("DEBUG", "LOG", "hello from the compat tests") == b"OK"
    assert r.execute_command("DEBUG", "HELP")[0].startswith(b"DEBUG <subcommand>")
    for args, sub in ((("nosuch",), "nosuch"), (("SLEEP",), "SLEEP"),
                      (("sleep", "1", "2"), "sleep"), (("LOG",), "LOG")):
        with pytest.raises(redis.ResponseError) as e:
            r.execute_command("DEBUG", *args)
        assert error_text(e) == (
            f"unknown subcommand or wrong number of arguments for '{sub}'. Try DEBUG HELP.")


def test_debug_sleep_pauses_everyone(kind, start_server):
    handle = start_server(kind)
    with handle.client() as sleeper, handle.client() as other:
        assert other.ping() is True
        started = time.time()
        t = threading.Thread(target=sleeper.execute_command, args=("DEBUG", "SLEEP", "0.5"))
        t.start()
        time.sleep(0.1)
        assert other.ping() is True
        assert time.time() - started >= 0.45
        t.join()


def test_debug_set_active_expire(kind, start_server):
    handle = start_server(kind)
    with handle.client() as c:
        assert c.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0") == b"OK"
        c.set("k", "v", px=50)
        time.sleep(0.5)
        # DBSIZE touches no key: only the background sweep could delete it.
        assert c.dbsize() == 1
        assert c.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1") == b"OK"
        deadline = time.time() + 5
        while c.dbsize() and time.time() < deadline:
            time.sleep(0.05)
        assert c.dbsize() == 0


# ---------------------------------------------------------------- COMMAND

# What Redis 7 reports for commands Sluice has: name, arity, flags, first,
# last, step, ACL categories.
EXPECTED_INFO = {
    "ping": (-1, {"fast"}, 0, 0, 0, ["@fast", "@connection"]),
    "select": (2, {"loading", "stale", "fast"}, 0, 0, 0, ["@fast", "@connection"]),
    "watch": (-2, {"noscript", "loading", "stale", "fast", "allow_busy"}, 1, -1, 1,
              ["@fast", "@transaction"]),
    "dbsize": (1, {"readonly", "fast"}, 0, 0, 0, ["@keyspace", "@read", "@fast"]),
    "flushdb": (-1, {"write"}, 0, 0, 0, ["@keyspace", "@write", "@slow", "@dangerous"]),
    "swapdb": (3, {"write", "fast"}, 0, 0, 0, ["@keyspace", "@write", "@fast", "@dangerous"]),
    "info": (-1, {"loading", "stale"}, 0, 0, 0, ["@slow", "@dangerous"]),
    "time": (1, {"loading", "stale", "fast"}, 0, 0, 0, ["@fast"]),
    "debug": (-2, {"admin", "noscript", "loading", "stale"}, 0, 0, 0,
              ["@admin", "@slow", "@dangerous"]),
    "shutdown": (-1, {"admin", "noscript", "loading", "stale", "no_multi", "allow_busy"},
                 0, 0, 0, ["@admin", "@slow", "@dangerous"]),
    "config": (-2, set(), 0, 0, 0, ["@slow"]),
    "config|get": (-3, {"admin", "noscript", "loading", "stale"}, 0, 0, 0,
                   ["@admin", "@slow", "@dangerous"]),
    "function|flush": (-2, {"write", "noscript"}, 0, 0, 0, ["@write", "@slow", "@scripting"]),
    "command": (-1, {"loading", "stale"}, 0, 0, 0, ["@slow", "@connection"]),
    "command|info": (-2, {"loading", "stale"}, 0, 0, 0, ["@slow", "@connection"]),
}


def test_command_info_matches_redis(server, protocol):
    with raw_client(server, protocol) as c:
        names = list(EXPECTED_INFO)
        infos = c.execute_command("COMMAND", "INFO", *names, "nosuch")
        assert len(infos) == len(names) + 1
        assert infos[-1] is None
        for name, info in zip(names, infos):
            assert len(info) == 10
            arity, flags, first, last, step, cats = EXPECTED_INFO[name]
            assert as_str(info[0]) == name
            assert info[1:2] + info[3:6] == [arity, first, last, step], name
            assert {as_str(f) for f in info[2]} == flags, name
            assert [as_str(x) for x in info[6]] == cats, name
        # Containers carry their subcommands' descriptions.
        config = infos[names.index("config")]
        subs = {as_str(sub[0]) for sub in config[9]}
        assert {"config|get", "config|set", "config|resetstat", "config|help"} <= subs
        assert [as_str(x[0]) for x in infos[names.index("ping")][9]] == []


def test_command_key_spec_shape(server, protocol):
    with raw_client(server, protocol) as c:
        (watch,) = c.execute_command("COMMAND", "INFO", "watch")
        (spec,) = watch[8]
        spec = pairs(spec)
        begin = pairs(spec[b"begin_search"])
        assert begin[b"type"] == b"index"
        assert pairs(begin[b"spec"]) == {b"index": 1}
        find = pairs(spec[b"find_keys"])
        assert find[b"type"] == b"range"
        assert pairs(find[b"spec"]) == {b"lastkey": -1, b"keystep": 1, b"limit": 0}


def test_command_count_and_all(server, protocol):
    with raw_client(server, protocol) as c:
        count = c.execute_command("COMMAND", "COUNT")
        everything = c.execute_command("COMMAND")
        assert len(everything) == count
        assert all(len(info) == 10 for info in everything)
        assert len(c.execute_command("COMMAND", "INFO")) == count
        with pytest.raises(redis.ResponseError) as e:
            c.execute_command("COMMAND", "COUNT", "x")
        assert error_text(e) == "wrong number of arguments for 'command|count' command"
        with pytest.raises(redis.ResponseError) as e:
            c.execute_command("COMMAND", "nosuch")
        assert error_text(e) == "unknown subcommand 'nosuch'. Try COMMAND HELP."
        assert c.execute_command("COMMAND", "HELP")[0].startswith(b"COMMAND <subcommand>")


def test_command_docs(server, protocol):
    with raw_client(server, protocol) as c:
        docs = pairs(c.execute_command("COMMAND", "DOCS", "ping", "config", "nosuch"))
        assert set(docs) == {b"ping", b"config"}
        ping = pairs(docs[b"ping"])
        assert ping[b"since"] == b"1.0.0"
        assert ping[b"group"] == b"connection"
        assert ping[b"summary"]
        subs = pairs(pairs(docs[b"config"])[b"subcommands"])
        assert b"config|get" in subs
        assert pairs(subs[b"config|get"])[b"group"] == b"server"
        assert pairs(c.execute_command("COMMAND", "DOCS", "nosuch")) == {}
        everything = pairs(c.execute_command("COMMAND", "DOCS"))
        assert len(everything) == c.execute_command("COMMAND", "COUNT")


def test_command_list(server, protocol):
    with raw_client(server, protocol) as c:
        names = {as_str(n) for n in c.execute_command("COMMAND", "LIST")}
        assert {"ping", "config", "config|get", "command", "command|docs"} <= names
        found = {as_str(n) for n in c.execute_command(
            "COMMAND", "LIST", "FILTERBY", "PATTERN", "CONFIG|*")}
        assert {"config|get", "config|set", "config|help", "config|resetstat"} <= found
        assert all(n.startswith("config|") for n in found)
        found = {as_str(n) for n in c.execute_command(
            "COMMAND", "LIST", "FILTERBY", "aclcat", "transaction")}
        assert found == {"discard", "exec", "multi", "unwatch", "watch"}
        assert c.execute_command("COMMAND", "LIST", "FILTERBY", "MODULE", "x") == []
        assert c.execute_command("COMMAND", "LIST", "FILTERBY", "ACLCAT", "nosuch") == []
        for args in (("FILTERBY",), ("x",), ("FILTERBY", "nosuch", "x")):
            with pytest.raises(redis.ResponseError) as e:
                c.execute_command("COMMAND", "LIST", *args)
            assert error_text(e) == "syntax error"


@pytest.mark.parametrize("args, text", [
    (("nosuch", "a"), "Invalid command specified"),
    (("ping", "a"), "The command has no key arguments"),
    (("config", "get", "x"), "The command has no key arguments"),
    (("watch",), "wrong number of arguments for 'command|getkeys' command"),
])
def test_command_getkeys_errors(r, args, text):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("COMMAND", "GETKEYS", *args)
    assert error_text(e) == text


def test_command_getkeys(server):
    with raw_client(server) as c:
        assert c.execute_command("COMMAND", "GETKEYS", "WATCH", "a", "b") == [b"a", b"b"]


# ---------------------------------------------------------------- redis-cli


def run_interactive_cli(handle, lines):
    """Runs redis-cli on a pseudo-terminal (so it starts in interactive mode,
    where it asks for COMMAND DOCS), types `lines`, returns what it showed."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp("redis-cli", ["redis-cli", "-h", handle.host, "-p", str(handle.port)])
    out = b""

    def pump(seconds):
        nonlocal out
        end = time.time() + seconds
        while time.time() < end:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                return
            out += chunk
            if b"\x1b[6n" in chunk:  # the line editor asks for the cursor position
                os.write(fd, b"\x1b[1;1R")

    try:
        pump(1.0)
        for line in lines:
            os.write(fd, line.encode() + b"\r")
            pump(0.7)
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)
    return re.sub(rb"\x1b\[[0-9;]*[A-Za-z]", b"", out).decode(errors="replace")


def test_redis_cli_interactive_starts_cleanly(kind, server):
    shown = run_interactive_cli(server, ["PING", "CONFIG GET maxclients"])
    assert "PONG" in shown, shown
    assert '"10000"' in shown, shown
    assert "ERR" not in shown, shown


def test_rdb_changes_since_last_save_counts_writes(kind, start_server):
    srv = start_server(kind)
    with srv.client() as c:
        changes = lambda: c.info("persistence")["rdb_changes_since_last_save"]
        before = changes()
        c.set("x", 1)
        c.get("x")
        c.lpush("l", "a")
        c.incr("n")
        c.get("missing")
        assert changes() == before + 3
