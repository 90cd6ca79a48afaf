//! Server management and introspection commands: INFO, CONFIG, DBSIZE,
//! FLUSHDB/FLUSHALL, SWAPDB, TIME, SHUTDOWN, FUNCTION, DEBUG and COMMAND.

mod common;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{cmd, err_text, TestServer};
use redis::Value;
use sluice::clock::Clock;
use sluice::config::DebugCommand;
use sluice::keyspace::{Entry, Value as Stored};

/// Stores `key` in database `db` straight into the keyspace (the string
/// commands live in another family), with an optional TTL in ms.
fn put(srv: &TestServer, db: usize, key: &str, ttl_ms: Option<i64>) {
    let now = srv.clock.now_ms();
    let mut keyspace = srv.shared.keyspace.lock().unwrap();
    let (db, _) = keyspace.db(db);
    db.insert(
        Bytes::from(key.to_string()),
        Entry::new(Stored::Str(Bytes::from_static(b"v")), now),
    );
    if let Some(ms) = ttl_ms {
        assert!(db.set_expire(key.as_bytes(), Some(now + ms)));
    }
}

fn db_len(srv: &TestServer, db: usize) -> usize {
    srv.shared.keyspace.lock().unwrap().db(db).0.len()
}

/// INFO's `key:value` lines as a map.
fn info_fields(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn info(con: &mut redis::aio::MultiplexedConnection, args: &[&str]) -> String {
    let mut words = vec!["INFO"];
    words.extend_from_slice(args);
    cmd(con, &words).await.unwrap()
}

async fn server_with_debug(mode: DebugCommand) -> TestServer {
    let mut config = common::test_config();
    config.enable_debug_command = mode;
    TestServer::start_with(config, Clock::system()).await
}

// ---------------------------------------------------------------- INFO

#[tokio::test]
async fn info_reports_the_required_fields() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let mut con = srv.connect(resp3).await;
        let text = info(&mut con, &[]).await;
        let f = info_fields(&text);
        assert_eq!(f["redis_version"], "7.4.0");
        assert_eq!(f["sluice_version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(f["redis_mode"], "standalone");
        assert_eq!(f["arch_bits"], "64");
        assert_eq!(f["process_id"], std::process::id().to_string());
        assert_eq!(f["run_id"], srv.shared.run_id);
        assert_eq!(f["run_id"].len(), 40);
        assert_eq!(f["tcp_port"], srv.addr.port().to_string());
        assert_eq!(f["role"], "master");
        assert_eq!(f["connected_slaves"], "0");
        assert_eq!(f["cluster_enabled"], "0");
        assert_eq!(f["blocked_clients"], "0");
        assert_eq!(f["maxclients"], "10000");
        assert_eq!(f["maxmemory"], "0");
        assert_eq!(f["loading"], "0");
        assert_eq!(f["aof_enabled"], "1");
        assert_eq!(f["aof_last_write_status"], "ok");
        assert_eq!(f["sluice_appendfsync"], "everysec");
        for key in [
            "os",
            "uptime_in_seconds",
            "uptime_in_days",
            "executable",
            "config_file",
            "connected_clients",
            "used_memory_human",
            "total_connections_received",
            "total_commands_processed",
            "instantaneous_ops_per_sec",
            "total_net_input_bytes",
            "total_net_output_bytes",
            "rejected_connections",
            "expired_keys",
            "keyspace_hits",
            "keyspace_misses",
            "total_error_replies",
        ] {
            assert!(f.contains_key(key), "INFO lacks {key}:\n{text}");
        }
        assert!(f["used_memory"].parse::<u64>().unwrap() > 0);
        assert!(f["used_cpu_user"].parse::<f64>().is_ok());
        assert!(f["used_cpu_sys"].parse::<f64>().is_ok());
        assert!(f["connected_clients"].parse::<u64>().unwrap() >= 1);
        // The default sections, in Redis's order, without commandstats.
        let headers: Vec<&str> = text.lines().filter(|l| l.starts_with('#')).collect();
        assert_eq!(
            headers,
            [
                "# Server",
                "# Clients",
                "# Memory",
                "# Persistence",
                "# Stats",
                "# Replication",
                "# CPU",
                "# Modules",
                "# Errorstats",
                "# Cluster",
                "# Keyspace"
            ]
        );
    }
}

#[tokio::test]
async fn info_sections_and_wire_format() {
    let srv = TestServer::start().await;
    let mut raw = srv.raw().await;
    // RESP2: a bulk string; sections separated by an empty line.
    assert_eq!(
        raw.request(b"INFO cluster\r\n").await,
        "$30\r\n# Cluster\r\ncluster_enabled:0\r\n\r\n"
    );
    assert_eq!(
        raw.request(b"INFO CLUSTER keyspace\r\n").await,
        "$44\r\n# Cluster\r\ncluster_enabled:0\r\n\r\n# Keyspace\r\n\r\n"
    );
    // Unknown sections are ignored; only unknown ones: empty text.
    assert_eq!(raw.request(b"INFO nosuch\r\n").await, "$0\r\n\r\n");
    assert_eq!(
        raw.request(b"INFO nosuch cluster\r\n").await,
        "$30\r\n# Cluster\r\ncluster_enabled:0\r\n\r\n"
    );
    // RESP3: verbatim text.
    raw.request(b"HELLO 3\r\n").await;
    assert_eq!(
        raw.request(b"INFO cluster\r\n").await,
        "=34\r\ntxt:# Cluster\r\ncluster_enabled:0\r\n\r\n"
    );

    let mut con = srv.client().await;
    for (args, commandstats) in [
        (&["default"][..], false),
        (&["all"][..], true),
        (&["everything"][..], true),
        (&["commandstats"][..], true),
    ] {
        let text = info(&mut con, args).await;
        assert_eq!(
            text.contains("# Commandstats"),
            commandstats,
            "INFO {args:?}"
        );
    }
    let text = info(&mut con, &["server", "clients"]).await;
    let headers: Vec<&str> = text.lines().filter(|l| l.starts_with('#')).collect();
    assert_eq!(headers, ["# Server", "# Clients"]);
}

#[tokio::test]
async fn info_counters_move() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    // The stock client sends its own commands on connect (CLIENT SETINFO):
    // start counting from here.
    let _: String = cmd(&mut con, &["CONFIG", "RESETSTAT"]).await.unwrap();
    for _ in 0..3 {
        let _: String = cmd(&mut con, &["PING"]).await.unwrap();
    }
    // An arity error caught by the table is a rejected call; a bad
    // argument a failed one.
    let e = cmd::<String>(&mut con, &["ECHO"]).await.unwrap_err();
    assert!(err_text(&e).starts_with("ERR wrong number"));
    let e = cmd::<String>(&mut con, &["SELECT", "x"]).await.unwrap_err();
    assert!(err_text(&e).starts_with("ERR value is not an integer"));
    let _: String = cmd(&mut con, &["CONFIG", "GET", "port"])
        .await
        .map(|_: Vec<String>| String::new())
        .unwrap();

    let text = info(&mut con, &["commandstats", "errorstats", "stats"]).await;
    let f = info_fields(&text);
    let ping = &f["cmdstat_ping"];
    assert!(ping.starts_with("calls=3,usec="), "{ping}");
    assert!(ping.ends_with(",rejected_calls=0,failed_calls=0"), "{ping}");
    assert_eq!(
        f["cmdstat_echo"],
        "calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0"
    );
    assert!(f["cmdstat_select"].ends_with("rejected_calls=0,failed_calls=1"));
    assert!(f["cmdstat_config|get"].starts_with("calls=1,"));
    // INFO's own call is counted after it replies.
    assert!(!f.contains_key("cmdstat_info"));
    assert!(f["cmdstat_config|resetstat"].starts_with("calls=1,"));
    assert_eq!(f["errorstat_ERR"], "count=2");
    assert_eq!(f["total_error_replies"], "2");
    // RESETSTAT (counted after it ran), 3 PING, SELECT, CONFIG GET.
    assert_eq!(f["total_commands_processed"], "6");

    // Keyspace lines for non-empty databases only.
    put(&srv, 0, "a", None);
    put(&srv, 0, "b", Some(60_000));
    put(&srv, 3, "c", None);
    let text = info(&mut con, &["keyspace"]).await;
    assert_eq!(
        text,
        "# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl=0\r\ndb3:keys=1,expires=0,avg_ttl=0\r\n"
    );

    // Keyspace counters come from the keyspace.
    {
        let mut ks = srv.shared.keyspace.lock().unwrap();
        ks.stats.keyspace_hits = 7;
        ks.stats.keyspace_misses = 5;
        ks.stats.expired_keys = 2;
    }
    let f = info_fields(&info(&mut con, &["stats"]).await);
    assert_eq!(f["keyspace_hits"], "7");
    assert_eq!(f["keyspace_misses"], "5");
    assert_eq!(f["expired_keys"], "2");

    // CONFIG RESETSTAT zeroes all of it.
    let ok: String = cmd(&mut con, &["CONFIG", "RESETSTAT"]).await.unwrap();
    assert_eq!(ok, "OK");
    let text = info(&mut con, &["stats", "commandstats", "errorstats"]).await;
    let f = info_fields(&text);
    assert_eq!(f["keyspace_hits"], "0");
    assert_eq!(f["keyspace_misses"], "0");
    assert_eq!(f["expired_keys"], "0");
    assert_eq!(f["total_error_replies"], "0");
    assert_eq!(f["total_connections_received"], "0");
    assert!(!f.contains_key("cmdstat_ping"), "{text}");
    assert!(!f.contains_key("errorstat_ERR"), "{text}");
    let e = cmd::<String>(&mut con, &["CONFIG", "RESETSTAT", "x"])
        .await
        .unwrap_err();
    assert_eq!(
        err_text(&e),
        "ERR wrong number of arguments for 'config|resetstat' command"
    );
}

// ---------------------------------------------------------------- CONFIG

#[tokio::test]
async fn config_get_in_both_protocols() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let mut con = srv.connect(resp3).await;
        let got: HashMap<String, String> = cmd(&mut con, &["CONFIG", "GET", "maxclients", "port"])
            .await
            .unwrap();
        assert_eq!(got["maxclients"], "10000");
        assert_eq!(got["port"], "0");
        assert_eq!(got.len(), 2);
        let got: HashMap<String, String> =
            cmd(&mut con, &["CONFIG", "GET", "*max*"]).await.unwrap();
        // Every name matches the pattern, and these (a sample that grows
        // with each family's parameters) are among them.
        assert!(got.keys().all(|n| n.contains("max")), "{got:?}");
        for name in [
            "maxclients",
            "proto-max-bulk-len",
            "stream-node-max-bytes",
            "stream-node-max-entries",
            "zset-max-listpack-entries",
            "zset-max-listpack-value",
            "zset-max-ziplist-entries",
            "zset-max-ziplist-value",
            "acllog-max-len",
            "set-max-intset-entries",
            "set-max-listpack-entries",
            "set-max-listpack-value",
            "list-max-listpack-size",
            "list-max-ziplist-size",
            "hash-max-listpack-entries",
            "hash-max-listpack-value",
            "hash-max-ziplist-entries",
            "hash-max-ziplist-value",
        ] {
            assert!(got.contains_key(name), "{name} missing from {got:?}");
        }
        assert!(!got.contains_key("port"));
        let got: HashMap<String, String> =
            cmd(&mut con, &["CONFIG", "GET", "nosuch"]).await.unwrap();
        assert!(got.is_empty());
        // A parameter matched twice is listed once; an exact name is
        // matched ignoring case and echoed as given.
        let got: Vec<(String, String)> = cmd(
            &mut con,
            &["CONFIG", "GET", "MAXCLIENTS", "maxclients", "maxc*"],
        )
        .await
        .unwrap();
        assert_eq!(got, [("MAXCLIENTS".to_string(), "10000".to_string())]);
        let e = cmd::<String>(&mut con, &["CONFIG", "GET"])
            .await
            .unwrap_err();
        assert_eq!(
            err_text(&e),
            "ERR wrong number of arguments for 'config|get' command"
        );
    }
    let mut raw = srv.raw().await;
    assert_eq!(
        raw.request(b"CONFIG GET databases\r\n").await,
        "*2\r\n$9\r\ndatabases\r\n$2\r\n16\r\n"
    );
    raw.request(b"HELLO 3\r\n").await;
    assert_eq!(
        raw.request(b"CONFIG GET databases\r\n").await,
        "%1\r\n$9\r\ndatabases\r\n$2\r\n16\r\n"
    );
}

#[tokio::test]
async fn config_set_round_trip_and_errors() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let mut con = srv.connect(resp3).await;
        let ok: String = cmd(
            &mut con,
            &["CONFIG", "SET", "maxclients", "50", "APPENDFSYNC", "always"],
        )
        .await
        .unwrap();
        assert_eq!(ok, "OK");
        let got: HashMap<String, String> =
            cmd(&mut con, &["CONFIG", "GET", "maxclients", "appendfsync"])
                .await
                .unwrap();
        assert_eq!(got["maxclients"], "50");
        assert_eq!(got["appendfsync"], "always");
        assert_eq!(srv.shared.config.read().unwrap().maxclients, 50);

        for (args, text) in [
            (
                &["CONFIG", "SET", "nosuch", "1"][..],
                "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'",
            ),
            (
                &["CONFIG", "SET", "maxclients", "x"],
                "ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer",
            ),
            (
                &["CONFIG", "SET", "MAXCLIENTS", "0"],
                "ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 4294967295 inclusive",
            ),
            (
                &["CONFIG", "SET", "Databases", "3"],
                "ERR CONFIG SET failed (possibly related to argument 'Databases') - can't set immutable config",
            ),
            (
                &["CONFIG", "SET", "maxclients", "5", "MAXclients", "6"],
                "ERR CONFIG SET failed (possibly related to argument 'MAXclients') - duplicate parameter",
            ),
            // The first bad name is the error, before any value is checked.
            (
                &["CONFIG", "SET", "databases", "3", "nosuch", "1"],
                "ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config",
            ),
            (
                &["CONFIG", "SET", "maxclients", "x", "nosuch", "1"],
                "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'",
            ),
            (
                &["CONFIG", "SET", "maxclients", "5", "port"],
                "ERR syntax error",
            ),
            (
                &["CONFIG", "SET", "maxclients"],
                "ERR wrong number of arguments for 'config|set' command",
            ),
        ] {
            let e = cmd::<String>(&mut con, args).await.unwrap_err();
            assert_eq!(err_text(&e), text, "{args:?}");
        }
        // All or nothing: a bad second value leaves the first unchanged.
        let e = cmd::<String>(
            &mut con,
            &["CONFIG", "SET", "maxclients", "77", "loglevel", "loud"],
        )
        .await
        .unwrap_err();
        assert!(err_text(&e).contains("'loglevel'"), "{}", err_text(&e));
        assert_eq!(srv.shared.config.read().unwrap().maxclients, 50);
    }
}

#[tokio::test]
async fn config_help_lists_subcommands() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let lines: Vec<String> = cmd(&mut con, &["CONFIG", "HELP"]).await.unwrap();
    assert!(lines[0].starts_with("CONFIG <subcommand>"));
    for sub in ["GET", "SET", "RESETSTAT", "HELP"] {
        assert!(lines.iter().any(|l| l.starts_with(sub)), "{sub}: {lines:?}");
    }
    let mut raw = srv.raw().await;
    assert!(raw.request(b"CONFIG HELP\r\n").await.contains("\r\n+GET "));
    assert_eq!(
        raw.request(b"CONFIG nosuch\r\n").await,
        "-ERR unknown subcommand 'nosuch'. Try CONFIG HELP.\r\n"
    );
}

#[tokio::test]
async fn requirepass_set_at_run_time_applies_to_new_connections() {
    let srv = TestServer::start().await;
    let mut old = srv.raw().await;
    assert_eq!(old.request(b"PING\r\n").await, "+PONG\r\n");
    assert_eq!(
        old.request(b"CONFIG SET requirepass pw\r\n").await,
        "+OK\r\n"
    );
    // The connection that was in stays in.
    assert_eq!(old.request(b"PING\r\n").await, "+PONG\r\n");
    let mut new = srv.raw().await;
    assert_eq!(
        new.request(b"PING\r\n").await,
        "-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(new.request(b"AUTH pw\r\n").await, "+OK\r\n");
    assert_eq!(new.request(b"PING\r\n").await, "+PONG\r\n");
    // Clearing it opens the door again.
    assert_eq!(
        new.request(b"CONFIG SET requirepass \"\"\r\n").await,
        "+OK\r\n"
    );
    let mut third = srv.raw().await;
    assert_eq!(third.request(b"PING\r\n").await, "+PONG\r\n");
}

// ---------------------------------------------------------------- keyspace-wide

#[tokio::test]
async fn dbsize_and_flushes() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let mut con = srv.connect(resp3).await;
        put(&srv, 0, "a", None);
        put(&srv, 0, "b", Some(10_000));
        put(&srv, 1, "c", None);
        let n: i64 = cmd(&mut con, &["DBSIZE"]).await.unwrap();
        assert_eq!(n, 2);
        let _: String = cmd(&mut con, &["SELECT", "1"]).await.unwrap();
        let n: i64 = cmd(&mut con, &["DBSIZE"]).await.unwrap();
        assert_eq!(n, 1);
        // FLUSHDB empties the selected database only.
        let ok: String = cmd(&mut con, &["FLUSHDB"]).await.unwrap();
        assert_eq!(ok, "OK");
        assert_eq!((db_len(&srv, 0), db_len(&srv, 1)), (2, 0));
        let ok: String = cmd(&mut con, &["FLUSHDB", "sync"]).await.unwrap();
        assert_eq!(ok, "OK");
        put(&srv, 5, "d", None);
        let ok: String = cmd(&mut con, &["FLUSHALL", "ASYNC"]).await.unwrap();
        assert_eq!(ok, "OK");
        assert_eq!((db_len(&srv, 0), db_len(&srv, 5)), (0, 0));
        let ok: String = cmd(&mut con, &["FLUSHALL"]).await.unwrap();
        assert_eq!(ok, "OK");
        for args in [
            &["FLUSHDB", "lazy"][..],
            &["FLUSHDB", "async", "sync"],
            &["FLUSHALL", "x"],
        ] {
            let e = cmd::<String>(&mut con, args).await.unwrap_err();
            assert_eq!(err_text(&e), "ERR syntax error", "{args:?}");
        }
        let e = cmd::<i64>(&mut con, &["DBSIZE", "x"]).await.unwrap_err();
        assert_eq!(
            err_text(&e),
            "ERR wrong number of arguments for 'dbsize' command"
        );
    }
}

#[tokio::test]
async fn swapdb_exchanges_contents_and_checks_indexes() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let mut con = srv.connect(resp3).await;
        let _: String = cmd(&mut con, &["FLUSHALL"]).await.unwrap();
        put(&srv, 0, "a", None);
        put(&srv, 2, "b", None);
        put(&srv, 2, "c", None);
        let ok: String = cmd(&mut con, &["SWAPDB", "0", "2"]).await.unwrap();
        assert_eq!(ok, "OK");
        assert_eq!((db_len(&srv, 0), db_len(&srv, 2)), (2, 1));
        let n: i64 = cmd(&mut con, &["DBSIZE"]).await.unwrap();
        assert_eq!(n, 2);
        let ok: String = cmd(&mut con, &["SWAPDB", "1", "1"]).await.unwrap();
        assert_eq!(ok, "OK");
        for (args, text) in [
            (&["SWAPDB", "a", "1"][..], "ERR invalid first DB index"),
            (&["SWAPDB", "0", "b"], "ERR invalid second DB index"),
            (&["SWAPDB", "0", "1.5"], "ERR invalid second DB index"),
            (
                &["SWAPDB", "99999999999", "0"],
                "ERR invalid first DB index",
            ),
            (&["SWAPDB", "0", "16"], "ERR DB index is out of range"),
            (&["SWAPDB", "-1", "0"], "ERR DB index is out of range"),
            (
                &["SWAPDB", "0"],
                "ERR wrong number of arguments for 'swapdb' command",
            ),
        ] {
            let e = cmd::<String>(&mut con, args).await.unwrap_err();
            assert_eq!(err_text(&e), text, "{args:?}");
        }
    }
}

#[tokio::test]
async fn time_reads_the_server_clock() {
    let srv = TestServer::with_manual_clock().await;
    srv.clock.set(1_700_000_000_123);
    for resp3 in [false, true] {
        let mut con = srv.connect(resp3).await;
        let t: (String, String) = cmd(&mut con, &["TIME"]).await.unwrap();
        assert_eq!(t, ("1700000000".to_string(), "123000".to_string()));
    }
    srv.clock.advance(2_000);
    let mut raw = srv.raw().await;
    assert_eq!(
        raw.request(b"TIME\r\n").await,
        "*2\r\n$10\r\n1700000002\r\n$6\r\n123000\r\n"
    );
    assert_eq!(
        raw.request(b"TIME x\r\n").await,
        "-ERR wrong number of arguments for 'time' command\r\n"
    );
}

// ---------------------------------------------------------------- SHUTDOWN

#[tokio::test]
async fn shutdown_argument_errors_leave_the_server_running() {
    let srv = TestServer::start().await;
    let mut raw = srv.raw().await;
    for (req, reply) in [
        (
            &b"SHUTDOWN ABORT\r\n"[..],
            "-ERR No shutdown in progress.\r\n",
        ),
        (b"SHUTDOWN foo\r\n", "-ERR syntax error\r\n"),
        (b"SHUTDOWN NOSAVE SAVE\r\n", "-ERR syntax error\r\n"),
        (b"SHUTDOWN NOW ABORT\r\n", "-ERR syntax error\r\n"),
    ] {
        assert_eq!(raw.request(req).await, reply);
    }
    assert_eq!(raw.request(b"PING\r\n").await, "+PONG\r\n");
}

#[tokio::test]
async fn shutdown_stops_the_server_without_a_reply() {
    for (resp3, args) in [
        (false, &b"SHUTDOWN\r\n"[..]),
        (true, b"shutdown nosave now force\r\n"),
    ] {
        let srv = TestServer::start().await;
        let mut bystander = srv.raw().await;
        assert_eq!(bystander.request(b"PING\r\n").await, "+PONG\r\n");
        let mut raw = srv.raw().await;
        if resp3 {
            raw.request(b"HELLO 3\r\n").await;
        }
        raw.send(args).await;
        assert_eq!(raw.read_reply().await, None, "no reply, then close");
        assert!(bystander.closed().await, "other clients are closed too");
        // The listener goes away: new connections are refused.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match tokio::net::TcpStream::connect(srv.addr).await {
                Err(_) => break,
                Ok(_) if Instant::now() > deadline => panic!("still accepting"),
                Ok(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }
}

// ---------------------------------------------------------------- FUNCTION

#[tokio::test]
async fn function_library_is_empty() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let mut con = srv.connect(resp3).await;
        for args in [
            &["FUNCTION", "LIST"][..],
            &["FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "x*"],
        ] {
            let list: Vec<String> = cmd(&mut con, args).await.unwrap();
            assert!(list.is_empty());
        }
        for args in [
            &["FUNCTION", "FLUSH"][..],
            &["FUNCTION", "FLUSH", "ASYNC"],
            &["FUNCTION", "flush", "sync"],
        ] {
            let ok: String = cmd(&mut con, args).await.unwrap();
            assert_eq!(ok, "OK");
        }
        for (args, text) in [
            (&["FUNCTION", "LIST", "x"][..], "ERR Unknown argument x"),
            (
                &["FUNCTION", "LIST", "LIBRARYNAME"],
                "ERR library name argument was not given",
            ),
            (
                &["FUNCTION", "LIST", "withcode", "withcode"],
                "ERR Unknown argument withcode",
            ),
            (
                &["FUNCTION", "LIST", "libraryname", "a", "libraryname", "b"],
                "ERR Unknown argument libraryname",
            ),
            (
                &["FUNCTION", "FLUSH", "x"],
                "ERR FUNCTION FLUSH only supports SYNC|ASYNC option",
            ),
            (
                &["FUNCTION", "FLUSH", "async", "sync"],
                "ERR unknown subcommand or wrong number of arguments for 'flush'. Try FUNCTION HELP.",
            ),
            (
                &["FUNCTION", "LOAD", "x"],
                "ERR unknown subcommand 'LOAD'. Try FUNCTION HELP.",
            ),
        ] {
            let e = cmd::<String>(&mut con, args).await.unwrap_err();
            assert_eq!(err_text(&e), text, "{args:?}");
        }
        let help: Vec<String> = cmd(&mut con, &["FUNCTION", "HELP"]).await.unwrap();
        assert!(help[0].starts_with("FUNCTION <subcommand>"));
    }
}

// ---------------------------------------------------------------- DEBUG

const DEBUG_DISABLED: &str = "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.";

#[tokio::test]
async fn debug_is_refused_unless_enabled() {
    let srv = server_with_debug(DebugCommand::No).await;
    for resp3 in [false, true] {
        let mut con = srv.connect(resp3).await;
        for args in [
            &["DEBUG", "SLEEP", "0"][..],
            &["DEBUG", "HELP"],
            &["DEBUG", "nosuch"],
            &["DEBUG", "SET-ACTIVE-EXPIRE", "0"],
        ] {
            let e = cmd::<String>(&mut con, args).await.unwrap_err();
            assert_eq!(err_text(&e), DEBUG_DISABLED, "{args:?}");
        }
        // The arity check still comes first.
        let e = cmd::<String>(&mut con, &["DEBUG"]).await.unwrap_err();
        assert_eq!(
            err_text(&e),
            "ERR wrong number of arguments for 'debug' command"
        );
    }
    assert!(srv.shared.active_expire.load(Ordering::Relaxed));
    // "local" allows loopback connections, which test connections are.
    let local = server_with_debug(DebugCommand::Local).await;
    let mut con = local.client().await;
    let ok: String = cmd(&mut con, &["DEBUG", "SLEEP", "0"]).await.unwrap();
    assert_eq!(ok, "OK");
}

#[tokio::test]
async fn debug_subcommands() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let mut con = srv.connect(resp3).await;
        let ok: String = cmd(&mut con, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"])
            .await
            .unwrap();
        assert_eq!(ok, "OK");
        assert!(!srv.shared.active_expire.load(Ordering::Relaxed));
        let ok: String = cmd(&mut con, &["debug", "set-active-expire", "1"])
            .await
            .unwrap();
        assert_eq!(ok, "OK");
        assert!(srv.shared.active_expire.load(Ordering::Relaxed));
        let ok: String = cmd(&mut con, &["DEBUG", "LOG", "hello from the test"])
            .await
            .unwrap();
        assert_eq!(ok, "OK");
        let help: Vec<String> = cmd(&mut con, &["DEBUG", "HELP"]).await.unwrap();
        assert!(help[0].starts_with("DEBUG <subcommand>"));
        for args in [&["DEBUG", "SLEEP", "0"][..], &["DEBUG", "SLEEP", "x"]] {
            let ok: String = cmd(&mut con, args).await.unwrap();
            assert_eq!(ok, "OK");
        }
        for (args, sub) in [
            (&["DEBUG", "nosuch"][..], "nosuch"),
            (&["DEBUG", "SLEEP"], "SLEEP"),
            (&["DEBUG", "sleep", "1", "2"], "sleep"),
            (&["DEBUG", "LOG"], "LOG"),
        ] {
            let e = cmd::<String>(&mut con, args).await.unwrap_err();
            assert_eq!(
                err_text(&e),
                format!(
                    "ERR unknown subcommand or wrong number of arguments for '{sub}'. Try DEBUG HELP."
                ),
                "{args:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn debug_sleep_pauses_the_whole_server() {
    let srv = TestServer::start().await;
    let mut sleeper = srv.client().await;
    let mut other = srv.raw().await;
    assert_eq!(other.request(b"PING\r\n").await, "+PONG\r\n");
    let started = Instant::now();
    let sleep = tokio::spawn(async move {
        let ok: String = cmd(&mut sleeper, &["DEBUG", "SLEEP", "0.5"]).await.unwrap();
        ok
    });
    // Give the sleep time to start, then another client's command waits
    // for it to end.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(other.request(b"PING\r\n").await, "+PONG\r\n");
    assert!(
        started.elapsed() >= Duration::from_millis(450),
        "PING answered during DEBUG SLEEP after {:?}",
        started.elapsed()
    );
    assert_eq!(sleep.await.unwrap(), "OK");
}

// ---------------------------------------------------------------- COMMAND

/// The elements of an array reply (sets count as arrays).
fn items(v: &Value) -> &[Value] {
    match v {
        Value::Array(items) | Value::Set(items) => items,
        other => panic!("not an array: {other:?}"),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).unwrap(),
        Value::SimpleString(s) => s.clone(),
        other => panic!("not a string: {other:?}"),
    }
}

#[tokio::test]
async fn command_count_list_and_info() {
    let srv = TestServer::start().await;
    let table = sluice::commands::CommandTable::global();
    let top = table.top_level().count() as i64;
    for resp3 in [false, true] {
        let mut con = srv.connect(resp3).await;
        let n: i64 = cmd(&mut con, &["COMMAND", "COUNT"]).await.unwrap();
        assert_eq!(n, top);
        let all: Value = cmd(&mut con, &["COMMAND"]).await.unwrap();
        assert_eq!(items(&all).len() as i64, n);
        for info in items(&all) {
            assert_eq!(items(info).len(), 10, "{info:?}");
        }

        let names: Vec<String> = cmd(&mut con, &["COMMAND", "LIST"]).await.unwrap();
        for name in ["ping", "config", "config|get", "command", "command|docs"] {
            assert!(names.contains(&name.to_string()), "{name}");
        }
        let names: Vec<String> = cmd(
            &mut con,
            &["COMMAND", "LIST", "FILTERBY", "PATTERN", "CONFIG|*"],
        )
        .await
        .unwrap();
        let mut names = names;
        names.sort();
        assert_eq!(
            names,
            [
                "config|get",
                "config|help",
                "config|resetstat",
                "config|set"
            ]
        );
        let names: Vec<String> = cmd(
            &mut con,
            &["COMMAND", "LIST", "FILTERBY", "aclcat", "transaction"],
        )
        .await
        .unwrap();
        let mut names = names;
        names.sort();
        assert_eq!(names, ["discard", "exec", "multi", "unwatch", "watch"]);
        for args in [
            &["COMMAND", "LIST", "FILTERBY", "MODULE", "x"][..],
            &["COMMAND", "LIST", "FILTERBY", "ACLCAT", "nosuch"],
        ] {
            let names: Vec<String> = cmd(&mut con, args).await.unwrap();
            assert!(names.is_empty(), "{args:?}");
        }
        for args in [
            &["COMMAND", "LIST", "FILTERBY"][..],
            &["COMMAND", "LIST", "x"],
            &["COMMAND", "LIST", "FILTERBY", "nosuch", "x"],
        ] {
            let e = cmd::<Value>(&mut con, args).await.unwrap_err();
            assert_eq!(err_text(&e), "ERR syntax error", "{args:?}");
        }

        let infos: Value = cmd(
            &mut con,
            &["COMMAND", "INFO", "PING", "nosuch", "config|GET"],
        )
        .await
        .unwrap();
        let infos = items(&infos);
        assert_eq!(infos.len(), 3);
        assert_eq!(infos[1], Value::Nil);
        let ping = items(&infos[0]);
        assert_eq!(text(&ping[0]), "ping");
        assert_eq!(ping[1], Value::Int(-1));
        let config_get = items(&infos[2]);
        assert_eq!(text(&config_get[0]), "config|get");
        assert_eq!(config_get[1], Value::Int(-3));
        let cats: Vec<String> = items(&config_get[6]).iter().map(text).collect();
        assert_eq!(cats, ["@admin", "@slow", "@dangerous"]);
        // A container lists its subcommands' descriptions.
        let infos: Value = cmd(&mut con, &["COMMAND", "INFO", "config"]).await.unwrap();
        let config = items(&items(&infos)[0]);
        let subs: Vec<String> = items(&config[9])
            .iter()
            .map(|s| text(&items(s)[0]))
            .collect();
        assert!(subs.contains(&"config|set".to_string()), "{subs:?}");
        // No names: every command.
        let infos: Value = cmd(&mut con, &["COMMAND", "INFO"]).await.unwrap();
        assert_eq!(items(&infos).len() as i64, top);

        let e = cmd::<i64>(&mut con, &["COMMAND", "COUNT", "x"])
            .await
            .unwrap_err();
        assert_eq!(
            err_text(&e),
            "ERR wrong number of arguments for 'command|count' command"
        );
        let e = cmd::<i64>(&mut con, &["COMMAND", "nosuch"])
            .await
            .unwrap_err();
        assert_eq!(
            err_text(&e),
            "ERR unknown subcommand 'nosuch'. Try COMMAND HELP."
        );
        let help: Vec<String> = cmd(&mut con, &["COMMAND", "HELP"]).await.unwrap();
        assert!(help[0].starts_with("COMMAND <subcommand>"));
    }
}

#[tokio::test]
async fn command_info_wire_shape() {
    let srv = TestServer::start().await;
    let mut raw = srv.raw().await;
    let expected_resp2 = "*1\r\n*10\r\n$4\r\nping\r\n:-1\r\n*1\r\n+fast\r\n:0\r\n:0\r\n:0\r\n*2\r\n+@fast\r\n+@connection\r\n*0\r\n*0\r\n*0\r\n";
    assert_eq!(raw.request(b"COMMAND INFO ping\r\n").await, expected_resp2);
    // (RESP2's nil entry, `$-1`, is checked through the stock client in
    // command_count_list_and_info: the raw reader only decodes RESP3.)
    raw.request(b"HELLO 3\r\n").await;
    // Flags, categories, tips and key specs are sets in RESP3; so is an
    // empty subcommand list.
    let expected_resp3 = "*1\r\n*10\r\n$4\r\nping\r\n:-1\r\n~1\r\n+fast\r\n:0\r\n:0\r\n:0\r\n~2\r\n+@fast\r\n+@connection\r\n~0\r\n~0\r\n~0\r\n";
    assert_eq!(raw.request(b"COMMAND INFO ping\r\n").await, expected_resp3);
    assert_eq!(raw.request(b"COMMAND INFO nosuch\r\n").await, "*1\r\n_\r\n");
    // Docs: a map of maps.
    assert_eq!(
        raw.request(b"COMMAND DOCS echo nosuch\r\n").await,
        "%1\r\n$4\r\necho\r\n%3\r\n$7\r\nsummary\r\n$21\r\nReturns its argument.\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n"
    );
}

#[tokio::test]
async fn command_docs_in_both_protocols() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let mut con = srv.connect(resp3).await;
        let docs: HashMap<String, HashMap<String, Value>> =
            cmd(&mut con, &["COMMAND", "DOCS", "config", "ping"])
                .await
                .unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(text(&docs["ping"]["group"]), "connection");
        assert_eq!(text(&docs["ping"]["since"]), "1.0.0");
        assert!(!text(&docs["ping"]["summary"]).is_empty());
        let subs: HashMap<String, Value> =
            redis::from_redis_value(&docs["config"]["subcommands"]).unwrap();
        assert!(subs.contains_key("config|get"), "{subs:?}");
        let docs: HashMap<String, Value> = cmd(&mut con, &["COMMAND", "DOCS"]).await.unwrap();
        assert_eq!(
            docs.len(),
            sluice::commands::CommandTable::global().top_level().count()
        );
        let docs: HashMap<String, Value> =
            cmd(&mut con, &["COMMAND", "DOCS", "nosuch"]).await.unwrap();
        assert!(docs.is_empty());
    }
}

#[tokio::test]
async fn command_getkeys() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let keys: Vec<String> = cmd(&mut con, &["COMMAND", "GETKEYS", "WATCH", "a", "b"])
        .await
        .unwrap();
    assert_eq!(keys, ["a", "b"]);
    for (args, text) in [
        (
            &["COMMAND", "GETKEYS", "nosuch", "a"][..],
            "ERR Invalid command specified",
        ),
        (
            &["COMMAND", "GETKEYS", "ping", "a"],
            "ERR The command has no key arguments",
        ),
        (
            &["COMMAND", "GETKEYS", "config", "get", "x"],
            "ERR The command has no key arguments",
        ),
        (
            &["COMMAND", "GETKEYS", "watch"],
            "ERR wrong number of arguments for 'command|getkeys' command",
        ),
    ] {
        let e = cmd::<Vec<String>>(&mut con, args).await.unwrap_err();
        assert_eq!(err_text(&e), text, "{args:?}");
    }
}

/// INFO's rdb_changes_since_last_save counts commands that wrote (a
/// blocked pop served by a push is a second one) and goes back to zero
/// once a checkpoint (SAVE) is written.
#[tokio::test]
async fn changes_since_last_save_count_writes_and_reset_on_save() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let changes = |info: String| -> i64 {
        info.lines()
            .find_map(|l| l.strip_prefix("rdb_changes_since_last_save:"))
            .expect("field present")
            .trim()
            .parse()
            .unwrap()
    };
    let before = changes(cmd(&mut con, &["INFO", "persistence"]).await.unwrap());
    let _: () = cmd(&mut con, &["SET", "a", "1"]).await.unwrap();
    let _: Option<String> = cmd(&mut con, &["GET", "a"]).await.unwrap();
    let _: i64 = cmd(&mut con, &["SETBIT", "b", "0", "0"]).await.unwrap();
    // Unchanged: not a change (Redis 7.2+).
    let _: i64 = cmd(&mut con, &["SETBIT", "b", "0", "0"]).await.unwrap();
    let after = changes(cmd(&mut con, &["INFO", "persistence"]).await.unwrap());
    assert_eq!(after, before + 2);
    let _: String = cmd(&mut con, &["SAVE"]).await.unwrap();
    let saved = changes(cmd(&mut con, &["INFO", "persistence"]).await.unwrap());
    assert_eq!(saved, 0);
}
