"""ACL users: SETUSER/GETUSER shapes, AUTH, NOPERM texts, ACL CAT, ACL LOG
and a worker user limited to its own streams.

The NOPERM and DRYRUN texts changed in Redis 7.2 ("this user has no
permissions ..." became "User <name> has no permissions ..."); Sluice
follows 7.4, Debian's redis-server is 7.0, so the expected text is picked by
the version the server reports.
"""

import pytest
import redis

from rawcmd import raw

HASH_PW = "30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4"  # sha256("pw")


def new_texts(srv):
    with srv.client() as admin:
        version = str(admin.info("server")["redis_version"])
    major, minor = (int(x) for x in version.split(".")[:2])
    return (major, minor) >= (7, 2)


def noperm_cmd(srv, user, cmd):
    if new_texts(srv):
        return f"User {user} has no permissions to run the '{cmd}' command"
    return f"this user has no permissions to run the '{cmd}' command"


def noperm_key(srv):
    if new_texts(srv):
        return "No permissions to access a key"
    return "this user has no permissions to access one of the keys used as arguments"


def noperm_channel(srv):
    if new_texts(srv):
        return "No permissions to access a channel"
    return "this user has no permissions to access one of the channels used as arguments"


def error_text(excinfo):
    return str(excinfo.value)


def test_setuser_getuser_list_shapes(kind, start_server):
    srv = start_server(kind)
    with srv.client() as c:
        assert raw(c, "ACL", "SETUSER", "u", "on", ">pw", "~a:*", "%R~r:*", "&ch:*", "-@all", "+get") == b"OK"
        reply = raw(c, "ACL", "GETUSER", "u")
        fields = dict(zip(reply[::2], reply[1::2]))
        assert list(fields) == [b"flags", b"passwords", b"commands", b"keys", b"channels", b"selectors"]
        assert fields[b"flags"] == [b"on"]
        assert fields[b"passwords"] == [HASH_PW.encode()]
        assert fields[b"commands"] == b"-@all +get"
        assert fields[b"keys"] == b"~a:* %R~r:*"
        assert fields[b"channels"] == b"&ch:*"
        assert fields[b"selectors"] == []
        assert raw(c, "ACL", "LIST") == [
            b"user default on nopass ~* &* +@all",
            f"user u on #{HASH_PW} ~a:* %R~r:* resetchannels &ch:* -@all +get".encode(),
        ]
        assert raw(c, "ACL", "USERS") == [b"default", b"u"]
        assert raw(c, "ACL", "GETUSER", "nobody") is None
        assert raw(c, "ACL", "SETUSER", "n") == b"OK"
        assert raw(c, "ACL", "LIST")[1] == b"user n off resetchannels -@all"
        assert raw(c, "ACL", "SETUSER", "n", "nopass", "+@all", "-@dangerous") == b"OK"
        fields = dict(zip(*[iter(raw(c, "ACL", "GETUSER", "n"))] * 2))
        assert fields[b"flags"] == [b"off", b"nopass"]
        assert fields[b"commands"] == b"+@all -@dangerous"
        assert fields[b"keys"] == b""


def test_setuser_errors(kind, start_server):
    srv = start_server(kind)
    with srv.client() as c:
        cases = [
            ("bogus", "Syntax error"),
            ("+nosuch", "Unknown command or category name in ACL"),
            ("+@nosuch", "Unknown command or category name in ACL"),
            ("#abc", "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"),
            ("<nope", "The password you are trying to remove from the user does not exist"),
            ("%X~x", "Syntax error"),
        ]
        for rule, reason in cases:
            with pytest.raises(redis.ResponseError) as e:
                raw(c, "ACL", "SETUSER", "e", rule)
            assert error_text(e) == f"Error in ACL SETUSER modifier '{rule}': {reason}"
        with pytest.raises(redis.ResponseError) as e:
            raw(c, "ACL", "SETUSER", "e", "allkeys", "~x")
        assert error_text(e).startswith("Error in ACL SETUSER modifier '~x': Adding a pattern after the * pattern")
        with pytest.raises(redis.ResponseError) as e:
            raw(c, "ACL", "DELUSER", "default")
        assert error_text(e) == "The 'default' user cannot be removed"
        assert raw(c, "ACL", "DELUSER", "e", "nobody") == 0


def test_auth_success_and_failure(kind, start_server):
    srv = start_server(kind)
    with srv.client() as c:
        raw(c, "ACL", "SETUSER", "alice", "on", ">secret", "~*", "+@all")
        raw(c, "ACL", "SETUSER", "bob", "off", ">secret", "~*", "+@all")
    with srv.client() as c:
        for user, pw in [("alice", "wrong"), ("bob", "secret"), ("nobody", "x")]:
            with pytest.raises(redis.AuthenticationError) as e:
                raw(c, "AUTH", user, pw)
            assert error_text(e) == "invalid username-password pair or user is disabled."
        # redis-py maps this error to AuthenticationError too.
        with pytest.raises(redis.AuthenticationError) as e:
            raw(c, "AUTH", "pw")
        assert error_text(e).startswith("AUTH <password> called without any password configured for the default user")
        assert raw(c, "AUTH", "alice", "secret") == b"OK"
        assert raw(c, "ACL", "WHOAMI") == b"alice"
    with srv.client(username="alice", password="secret", protocol=3) as c:  # HELLO 3 AUTH
        assert c.execute_command("ACL", "WHOAMI") == b"alice"


def test_noperm_texts(kind, start_server):
    srv = start_server(kind)
    with srv.client() as c:
        raw(c, "ACL", "SETUSER", "u", "on", ">pw", "~k:*", "&ch:*", "+get", "+publish", "+ping")
    with srv.client(username="u", password="pw") as c:
        assert raw(c, "GET", "k:1") is None
        with pytest.raises(redis.exceptions.NoPermissionError) as e:
            raw(c, "SET", "k:1", "v")
        assert error_text(e) == noperm_cmd(srv, "u", "set")
        with pytest.raises(redis.exceptions.NoPermissionError) as e:
            raw(c, "GET", "other")
        assert error_text(e) == noperm_key(srv)
        assert raw(c, "PUBLISH", "ch:1", "m") == 0
        with pytest.raises(redis.exceptions.NoPermissionError) as e:
            raw(c, "PUBLISH", "other", "m")
        assert error_text(e) == noperm_channel(srv)
        with pytest.raises(redis.exceptions.NoPermissionError) as e:
            raw(c, "CLIENT", "ID")
        assert error_text(e) == noperm_cmd(srv, "u", "client|id")


def test_read_write_key_patterns(kind, start_server):
    srv = start_server(kind)
    with srv.client() as c:
        raw(c, "ACL", "SETUSER", "rw", "on", "nopass", "+@all", "%R~r:*", "%W~w:*")
        dry = lambda *args: raw(c, "ACL", "DRYRUN", "rw", *args)
        assert dry("GET", "r:1") == b"OK"
        assert dry("SET", "w:1", "v") == b"OK"
        assert dry("XADD", "w:1", "*", "f", "v") == b"OK"
        assert dry("XREADGROUP", "GROUP", "g", "c", "STREAMS", "r:1", ">") == b"OK"
        assert dry("TYPE", "r:1") == b"OK"
        denied = [("SET", "r:1", "v"), ("GET", "w:1"), ("INCR", "w:1"), ("SET", "w:1", "v", "GET")]
        for args in denied:
            text = dry(*args)
            assert b"has no permissions to access the" in text, (args, text)


def test_acl_cat(kind, start_server):
    srv = start_server(kind)
    with srv.client() as c:
        cats = raw(c, "ACL", "CAT")
        assert cats[:5] == [b"keyspace", b"read", b"write", b"set", b"sortedset"]
        stream = set(raw(c, "ACL", "CAT", "stream"))
        assert {b"xadd", b"xreadgroup", b"xack", b"xgroup|create", b"xinfo|stream"} <= stream
        assert b"get" not in stream and b"xgroup" not in stream
        dangerous = set(raw(c, "ACL", "CAT", "dangerous"))
        assert {b"flushall", b"keys", b"acl|setuser", b"config|set", b"debug"} <= dangerous
        assert b"get" not in dangerous
        with pytest.raises(redis.ResponseError) as e:
            raw(c, "ACL", "CAT", "nosuch")
        assert error_text(e) == "Unknown category 'nosuch'"


def test_acl_log_fields(kind, start_server):
    srv = start_server(kind)
    with srv.client() as admin:
        raw(admin, "ACL", "SETUSER", "u", "on", ">pw", "~k:*", "+get")
        with srv.client() as c:
            for _ in range(2):
                with pytest.raises(redis.AuthenticationError):
                    raw(c, "AUTH", "u", "bad")
            raw(c, "AUTH", "u", "pw")
            with pytest.raises(redis.exceptions.NoPermissionError):
                raw(c, "GET", "other")
            with pytest.raises(redis.exceptions.NoPermissionError):
                raw(c, "SET", "k:1", "v")
            log = raw(admin, "ACL", "LOG")
        entries = [dict(zip(e[::2], e[1::2])) for e in log]
        assert [(e[b"reason"], e[b"object"]) for e in entries] == [
            (b"command", b"set"),
            (b"key", b"other"),
            (b"auth", b"AUTH"),
        ]
        auth = entries[2]
        assert auth[b"count"] == 2
        assert auth[b"username"] == b"u"
        assert auth[b"context"] == b"toplevel"
        assert b"addr=127.0.0.1:" in auth[b"client-info"]
        for e in entries:
            assert [k for k in e][:7] == [
                b"count", b"reason", b"context", b"object", b"username", b"age-seconds", b"client-info",
            ]
        assert raw(admin, "ACL", "LOG", "1")[0][3] == b"command"
        assert raw(admin, "ACL", "LOG", "RESET") == b"OK"
        assert raw(admin, "ACL", "LOG") == []


def test_worker_limited_to_its_streams(kind, start_server):
    srv = start_server(kind)
    with srv.client() as admin:
        raw(admin, "ACL", "SETUSER", "worker", "on", ">pw", "~jobs:*", "+xreadgroup", "+xack", "+ping")
        admin.xadd("jobs:1", {"task": "a"}, id="1-1")
        admin.xadd("other", {"task": "a"}, id="1-1")
        admin.xgroup_create("jobs:1", "g", id="0")
        admin.xgroup_create("other", "g", id="0")
        with srv.client(username="worker", password="pw") as w:
            assert w.ping() is True
            got = raw(w, "XREADGROUP", "GROUP", "g", "c", "COUNT", "10", "STREAMS", "jobs:1", ">")
            assert got == [[b"jobs:1", [[b"1-1", [b"task", b"a"]]]]]
            assert raw(w, "XACK", "jobs:1", "g", "1-1") == 1
            with pytest.raises(redis.exceptions.NoPermissionError) as e:
                raw(w, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "other", ">")
            assert error_text(e) == noperm_key(srv)
            with pytest.raises(redis.exceptions.NoPermissionError) as e:
                raw(w, "XACK", "other", "g", "1-1")
            assert error_text(e) == noperm_key(srv)
            with pytest.raises(redis.exceptions.NoPermissionError) as e:
                raw(w, "XADD", "jobs:1", "*", "f", "v")
            assert error_text(e) == noperm_cmd(srv, "worker", "xadd")
            with pytest.raises(redis.exceptions.NoPermissionError) as e:
                raw(w, "GET", "jobs:1")
            assert error_text(e) == noperm_cmd(srv, "worker", "get")
        assert raw(admin, "XPENDING", "other", "g")[0] == 0
        assert raw(admin, "XPENDING", "jobs:1", "g")[0] == 0


def test_users_survive_restart_through_aclfile(kind, start_server, tmp_path):
    aclfile = tmp_path / "users.acl"
    aclfile.write_text("user worker on >pw ~jobs:* +ping\n")
    srv = start_server(kind, "--aclfile", str(aclfile))
    with srv.client() as c:
        assert raw(c, "ACL", "USERS") == [b"default", b"worker"]
        raw(c, "ACL", "SETUSER", "other", "on", "nopass", "+get")
        assert raw(c, "ACL", "SAVE") == b"OK"
    assert aclfile.read_text().splitlines() == [
        "user default on nopass ~* &* +@all",
        "user other on nopass resetchannels -@all +get",
        f"user worker on #{HASH_PW} ~jobs:* resetchannels -@all +ping",
    ]
    srv.restart()
    with srv.client(username="worker", password="pw") as w:
        assert w.ping() is True
    with srv.client() as c:
        assert raw(c, "ACL", "USERS") == [b"default", b"other", b"worker"]
        aclfile.write_text("user bad on bogus\n")
        with pytest.raises(redis.ResponseError) as e:
            raw(c, "ACL", "LOAD")
        assert error_text(e) == (
            f"{aclfile}:1: Syntax error. WARNING: ACL errors detected, "
            "no change to the previously active ACL rules was performed"
        )
        assert raw(c, "ACL", "USERS") == [b"default", b"other", b"worker"]


def test_selectors(kind, start_server):
    srv = start_server(kind)
    with srv.client() as c:
        assert raw(c, "ACL", "SETUSER", "s", "on", "nopass", "+get", "~a:*", "(+set ~k:*)", "(", "+xadd", "~q:*)") == b"OK"
        assert raw(c, "ACL", "LIST")[1] == (
            b"user s on nopass ~a:* resetchannels -@all +get "
            b"(~k:* resetchannels -@all +set) (~q:* resetchannels -@all +xadd)"
        )
        reply = raw(c, "ACL", "GETUSER", "s")
        fields = dict(zip(reply[::2], reply[1::2]))
        assert fields[b"selectors"][0] == [b"commands", b"-@all +set", b"keys", b"~k:*", b"channels", b""]
        assert len(fields[b"selectors"]) == 2
        dry = lambda *args: raw(c, "ACL", "DRYRUN", "s", *args)
        assert dry("GET", "a:1") == b"OK"
        assert dry("SET", "k:1", "v") == b"OK"
        assert dry("XADD", "q:1", "*", "f", "v") == b"OK"
        # No selector allows all of it: the most specific refusal wins.
        assert dry("GET", "k:1").endswith(b"has no permissions to access the 'k:1' key")
        assert dry("SET", "a:1", "v").endswith(b"has no permissions to access the 'a:1' key")
        assert dry("DEL", "a:1").endswith(b"has no permissions to run the 'del' command")
        with pytest.raises(redis.ResponseError) as e:
            raw(c, "ACL", "SETUSER", "s", "(+get")
        assert error_text(e) == "Unmatched parenthesis in acl selector starting at '(+get'."
        with pytest.raises(redis.ResponseError) as e:
            raw(c, "ACL", "SETUSER", "s", "(on)")
        assert error_text(e) == "Error in ACL SETUSER modifier '(on)': Syntax error"
        assert raw(c, "ACL", "SETUSER", "s", "clearselectors") == b"OK"
        assert raw(c, "ACL", "GETUSER", "s")[11] == []


def test_exec_rechecks_changed_rules(kind, start_server):
    srv = start_server(kind)
    with srv.client() as admin:
        raw(admin, "ACL", "SETUSER", "u", "on", ">pw", "allkeys", "+multi", "+exec", "+set", "+get")
        with srv.client(username="u", password="pw") as c:
            conn = c.connection_pool.get_connection()
            try:
                conn.send_command("MULTI")
                assert conn.read_response() == b"OK"
                conn.send_command("SET", "k", "v")
                assert conn.read_response() == b"QUEUED"
                conn.send_command("GET", "k")
                assert conn.read_response() == b"QUEUED"
                raw(admin, "ACL", "SETUSER", "u", "-set")
                conn.send_command("EXEC")
                reply = conn.read_response()
            finally:
                c.connection_pool.release(conn)
        assert isinstance(reply[0], redis.exceptions.NoPermissionError)
        assert str(reply[0]) == (
            "ACLs rules changed between the moment the transaction was accumulated and the EXEC call. "
            "This command is no longer allowed for the following reason: no permission to execute the command or subcommand"
        )
        assert reply[1] is None
        entry = raw(admin, "ACL", "LOG", "1")[0]
        fields = dict(zip(entry[::2], entry[1::2]))
        assert (fields[b"reason"], fields[b"context"], fields[b"object"]) == (b"command", b"multi", b"set")


def test_acl_pubsub_default_decides_new_users_channels(kind, start_server):
    srv = start_server(kind)
    with srv.client() as c:
        assert c.config_get("acl-pubsub-default") == {"acl-pubsub-default": "resetchannels"}
        with pytest.raises(redis.ResponseError, match="allchannels, resetchannels"):
            c.config_set("acl-pubsub-default", "bogus")
        assert raw(c, "ACL", "SETUSER", "before") == b"OK"
        c.config_set("acl-pubsub-default", "allchannels")
        assert raw(c, "ACL", "SETUSER", "after") == b"OK"

        def channels(user):
            fields = dict(zip(*[iter(raw(c, "ACL", "GETUSER", user))] * 2))
            return fields[b"channels"]

        assert channels("before") == b""
        assert channels("after") == b"&*"
        # `reset` follows the setting too; existing users keep theirs.
        assert raw(c, "ACL", "SETUSER", "before", "reset") == b"OK"
        assert channels("before") == b"&*"
        c.config_set("acl-pubsub-default", "resetchannels")
        assert raw(c, "ACL", "SETUSER", "later") == b"OK"
        assert channels("later") == b""
        assert channels("after") == b"&*"


def test_first_argument_and_subcommand_rules(kind, start_server):
    srv = start_server(kind)
    with srv.client() as c:
        assert raw(c, "ACL", "SETUSER", "fa", "on", ">pw", "+select|0") == b"OK"
        assert raw(c, "ACL", "SETUSER", "fc", "on", ">pw", "+command|docs") == b"OK"
        assert raw(c, "ACL", "SETUSER", "fd", "on", "nopass", "+debug|digest") == b"OK"
        lines = raw(c, "ACL", "LIST")
        assert any(l.endswith(b"resetchannels -@all +select|0") for l in lines), lines
        assert any(l.endswith(b"resetchannels -@all +command|docs") for l in lines), lines
        dry = lambda user, *args: raw(c, "ACL", "DRYRUN", user, *args)
        assert dry("fa", "SELECT", "0") == b"OK"
        assert b"no permissions" in dry("fa", "SELECT", "1")
        assert dry("fc", "COMMAND", "DOCS", "get") == b"OK"
        assert b"no permissions" in dry("fc", "COMMAND")
        assert b"no permissions" in dry("fc", "COMMAND", "COUNT")
        assert dry("fd", "DEBUG", "digest") == b"OK"
        assert b"no permissions" in dry("fd", "DEBUG", "SLEEP", "0")
        for rule, reason in [
            ("-select|0", "Unknown command or category name in ACL"),
            ("+select|0|1", "Unknown command or category name in ACL"),
            ("+select|", "Syntax error"),
            ("+command|bogus", "Unknown command or category name in ACL"),
            ("+config|get|maxmemory", "Allowing first-arg of a subcommand is not supported"),
        ]:
            with pytest.raises(redis.ResponseError) as e:
                raw(c, "ACL", "SETUSER", "fa", rule)
            assert error_text(e) == f"Error in ACL SETUSER modifier '{rule}': {reason}"
        # A rule for the whole command drops its first arguments.
        assert raw(c, "ACL", "SETUSER", "fa", "-select") == b"OK"
        assert b"no permissions" in dry("fa", "SELECT", "0")
        assert raw(c, "ACL", "SETUSER", "fa", "+@all", "+select|0") == b"OK"
        assert any(l.endswith(b"resetchannels +@all") for l in raw(c, "ACL", "LIST"))
    with srv.client(username="fa", password="pw") as u:
        assert raw(u, "SELECT", "0") == b"OK"
    with srv.client(username="fc", password="pw") as u:
        assert raw(u, "COMMAND", "DOCS", "get")
        with pytest.raises(redis.exceptions.NoPermissionError):
            raw(u, "COMMAND", "COUNT")


def test_sanitize_payload_flags(kind, start_server):
    srv = start_server(kind)
    with srv.client() as c:
        raw(c, "ACL", "SETUSER", "a", "reset", "on", "nopass")
        raw(c, "ACL", "SETUSER", "b", "on", "skip-sanitize-payload")
        raw(c, "ACL", "SETUSER", "c", "on")
        lines = raw(c, "ACL", "LIST")
        assert b"user a on nopass sanitize-payload resetchannels -@all" in lines
        assert b"user b on skip-sanitize-payload resetchannels -@all" in lines
        assert b"user c on resetchannels -@all" in lines
        assert raw(c, "ACL", "GETUSER", "b")[1] == [b"on", b"skip-sanitize-payload"]


def test_acllog_max_len(kind, start_server):
    srv = start_server(kind)
    with srv.client() as c:
        assert c.config_get("acllog-max-len") == {"acllog-max-len": "128"}
        with pytest.raises(redis.ResponseError) as e:
            c.config_set("acllog-max-len", -1)
        assert "argument must be between 0 and 9223372036854775807 inclusive" in error_text(e)
    with srv.client() as c:
        for user in ["x", "y", "z"]:
            with pytest.raises(redis.AuthenticationError):
                raw(c, "AUTH", user, "bad")
        assert len(raw(c, "ACL", "LOG")) == 3
        # A shorter limit applies when the next entry comes, as in Redis.
        c.config_set("acllog-max-len", 1)
        assert len(raw(c, "ACL", "LOG")) == 3
        with pytest.raises(redis.AuthenticationError):
            raw(c, "AUTH", "w", "bad")
        assert len(raw(c, "ACL", "LOG")) == 1
        c.config_set("acllog-max-len", 0)
        with pytest.raises(redis.AuthenticationError):
            raw(c, "AUTH", "v", "bad")
        assert raw(c, "ACL", "LOG") == []
