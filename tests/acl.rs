//! ACL users: rules, AUTH and HELLO AUTH, the permission check with
//! Redis's NOPERM texts, ACL LOG and INFO counters, and the ACL file.

mod common;

use common::{cmd, err_text, TestServer};
use redis::Value;

async fn ok(con: &mut redis::aio::MultiplexedConnection, args: &[&str]) {
    let reply: String = cmd(con, args).await.unwrap();
    assert_eq!(reply, "OK", "{args:?}");
}

async fn err(con: &mut redis::aio::MultiplexedConnection, args: &[&str]) -> String {
    err_text(&cmd::<Value>(con, args).await.unwrap_err())
}

const WORKER: &[&str] = &[
    "ACL",
    "SETUSER",
    "worker",
    "on",
    ">pw",
    "~jobs:*",
    "+xreadgroup",
    "+xack",
    "+ping",
];

#[tokio::test]
async fn worker_reads_and_acks_only_its_streams() {
    let srv = TestServer::start().await;
    let mut admin = srv.client().await;
    ok(&mut admin, WORKER).await;
    let _: String = cmd(&mut admin, &["XADD", "jobs:1", "1-1", "task", "a"])
        .await
        .unwrap();
    let _: String = cmd(&mut admin, &["XADD", "other", "1-1", "task", "a"])
        .await
        .unwrap();
    ok(&mut admin, &["XGROUP", "CREATE", "jobs:1", "g", "0"]).await;
    ok(&mut admin, &["XGROUP", "CREATE", "other", "g", "0"]).await;

    let mut worker = srv.connect_as("worker", "pw").await;
    let read: Value = cmd(
        &mut worker,
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "jobs:1", ">"],
    )
    .await
    .unwrap();
    assert!(
        matches!(read, Value::Array(ref streams) if streams.len() == 1),
        "{read:?}"
    );
    let acked: i64 = cmd(&mut worker, &["XACK", "jobs:1", "g", "1-1"])
        .await
        .unwrap();
    assert_eq!(acked, 1);
    let pong: String = cmd(&mut worker, &["PING"]).await.unwrap();
    assert_eq!(pong, "PONG");

    assert_eq!(
        err(
            &mut worker,
            &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "other", ">"]
        )
        .await,
        "NOPERM No permissions to access a key"
    );
    assert_eq!(
        err(&mut worker, &["XACK", "other", "g", "1-1"]).await,
        "NOPERM No permissions to access a key"
    );
    assert_eq!(
        err(&mut worker, &["GET", "jobs:1"]).await,
        "NOPERM User worker has no permissions to run the 'get' command"
    );
    assert_eq!(
        err(&mut worker, &["CLIENT", "ID"]).await,
        "NOPERM User worker has no permissions to run the 'client|id' command"
    );
    // The other stream's pending entry is untouched.
    let pending: Value = cmd(&mut admin, &["XPENDING", "other", "g"]).await.unwrap();
    assert!(
        matches!(pending, Value::Array(ref p) if p[0] == Value::Int(0)),
        "{pending:?}"
    );
}

#[tokio::test]
async fn getuser_and_list_describe_the_rules() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    ok(
        &mut con,
        &[
            "ACL",
            "SETUSER",
            "u",
            "on",
            ">pw",
            "~a:*",
            "%R~r:*",
            "&ch:*",
            "+@read",
            "-get",
            "+client|id",
        ],
    )
    .await;
    let user: Vec<Value> = cmd(&mut con, &["ACL", "GETUSER", "u"]).await.unwrap();
    let text = |v: &Value| match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).unwrap(),
        other => panic!("not a bulk string: {other:?}"),
    };
    let fields: Vec<String> = user.iter().step_by(2).map(text).collect();
    assert_eq!(
        fields,
        [
            "flags",
            "passwords",
            "commands",
            "keys",
            "channels",
            "selectors"
        ]
    );
    assert_eq!(
        user[1],
        Value::Array(vec![Value::BulkString(b"on".to_vec())])
    );
    let hash = "30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4";
    assert_eq!(user[3], Value::Array(vec![Value::BulkString(hash.into())]));
    assert_eq!(text(&user[5]), "-@all +@read -get +client|id");
    assert_eq!(text(&user[7]), "~a:* %R~r:*");
    assert_eq!(text(&user[9]), "&ch:*");
    let list: Vec<String> = cmd(&mut con, &["ACL", "LIST"]).await.unwrap();
    assert_eq!(
        list,
        [
            "user default on nopass ~* &* +@all".to_string(),
            format!(
                "user u on #{hash} ~a:* %R~r:* resetchannels &ch:* -@all +@read -get +client|id"
            ),
        ]
    );
    let users: Vec<String> = cmd(&mut con, &["ACL", "USERS"]).await.unwrap();
    assert_eq!(users, ["default", "u"]);
    let missing: Value = cmd(&mut con, &["ACL", "GETUSER", "nobody"]).await.unwrap();
    assert_eq!(missing, Value::Nil);
    assert_eq!(
        err(&mut con, &["ACL", "SETUSER", "u", "+nosuch"]).await,
        "ERR Error in ACL SETUSER modifier '+nosuch': Unknown command or category name in ACL"
    );
    // All or nothing: the valid rule before the bad one is not kept.
    assert!(err(&mut con, &["ACL", "SETUSER", "u", "+set", "+nosuch"])
        .await
        .contains("'+nosuch'"));
    let user: Vec<Value> = cmd(&mut con, &["ACL", "GETUSER", "u"]).await.unwrap();
    assert_eq!(text(&user[5]), "-@all +@read -get +client|id");
    assert_eq!(
        err(&mut con, &["ACL", "SETUSER", "u", "bogus"]).await,
        "ERR Error in ACL SETUSER modifier 'bogus': Syntax error"
    );
    assert_eq!(
        err(&mut con, &["ACL", "DELUSER", "default"]).await,
        "ERR The 'default' user cannot be removed"
    );
    let removed: i64 = cmd(&mut con, &["ACL", "DELUSER", "u", "nobody"])
        .await
        .unwrap();
    assert_eq!(removed, 1);
}

#[tokio::test]
async fn auth_and_hello_auth() {
    let srv = TestServer::start().await;
    let mut admin = srv.client().await;
    ok(
        &mut admin,
        &[
            "ACL", "SETUSER", "alice", "on", ">secret", "allkeys", "+@all",
        ],
    )
    .await;
    ok(
        &mut admin,
        &[
            "ACL", "SETUSER", "bob", "off", ">secret", "allkeys", "+@all",
        ],
    )
    .await;
    let mut raw = srv.raw().await;
    assert_eq!(
        raw.request(b"AUTH alice wrong\r\n").await,
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(
        raw.request(b"AUTH bob secret\r\n").await,
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(raw.request(b"AUTH alice secret\r\n").await, "+OK\r\n");
    assert_eq!(raw.request(b"ACL WHOAMI\r\n").await, "$5\r\nalice\r\n");
    let hello = raw.request(b"HELLO 2 AUTH nobody x\r\n").await;
    assert!(hello.starts_with("-WRONGPASS"), "{hello}");
    let hello = raw.request(b"HELLO 2 AUTH default anything\r\n").await;
    assert!(hello.starts_with("*14\r\n"), "{hello}");
    assert_eq!(raw.request(b"ACL WHOAMI\r\n").await, "$7\r\ndefault\r\n");
    assert_eq!(
        raw.request(b"AUTH pw\r\n").await,
        "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n"
    );
}

#[tokio::test]
async fn requirepass_is_the_default_users_password() {
    let mut config = common::test_config();
    config.requirepass = Some("s3cret".into());
    let srv = TestServer::start_with(config, sluice::clock::Clock::system()).await;
    let mut raw = srv.raw().await;
    assert_eq!(
        raw.request(b"PING\r\n").await,
        "-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(raw.request(b"AUTH default s3cret\r\n").await, "+OK\r\n");
    let mut con = srv.connect_as("default", "s3cret").await;
    let list: Vec<String> = cmd(&mut con, &["ACL", "LIST"]).await.unwrap();
    assert!(list[0].starts_with("user default on #"), "{list:?}");
    ok(&mut con, &["CONFIG", "SET", "requirepass", ""]).await;
    let mut fresh = srv.raw().await;
    assert_eq!(fresh.request(b"PING\r\n").await, "+PONG\r\n");
}

#[tokio::test]
async fn read_and_write_key_patterns() {
    let srv = TestServer::start().await;
    let mut admin = srv.client().await;
    ok(
        &mut admin,
        &[
            "ACL", "SETUSER", "rw", "on", "nopass", "+@all", "%R~r:*", "%W~w:*",
        ],
    )
    .await;
    let mut con = srv.connect_as("rw", "x").await;
    let v: Option<String> = cmd(&mut con, &["GET", "r:1"]).await.unwrap();
    assert_eq!(v, None);
    ok(&mut con, &["SET", "w:1", "v"]).await;
    assert_eq!(
        err(&mut con, &["SET", "r:1", "v"]).await,
        "NOPERM No permissions to access a key"
    );
    assert_eq!(
        err(&mut con, &["GET", "w:1"]).await,
        "NOPERM No permissions to access a key"
    );
    // INCR reads and writes: neither pattern alone allows it.
    assert_eq!(
        err(&mut con, &["INCR", "w:1"]).await,
        "NOPERM No permissions to access a key"
    );
    let dry: String = cmd(&mut admin, &["ACL", "DRYRUN", "rw", "GET", "w:1"])
        .await
        .unwrap();
    assert_eq!(dry, "User rw has no permissions to access the 'w:1' key");
    let dry: String = cmd(&mut admin, &["ACL", "DRYRUN", "rw", "SET", "w:1", "x"])
        .await
        .unwrap();
    assert_eq!(dry, "OK");
}

#[tokio::test]
async fn channels_are_checked() {
    let srv = TestServer::start().await;
    let mut admin = srv.client().await;
    ok(
        &mut admin,
        &["ACL", "SETUSER", "p", "on", "nopass", "+@all", "&jobs:*"],
    )
    .await;
    let mut con = srv.connect_as("p", "x").await;
    let n: i64 = cmd(&mut con, &["PUBLISH", "jobs:1", "m"]).await.unwrap();
    assert_eq!(n, 0);
    assert_eq!(
        err(&mut con, &["PUBLISH", "other", "m"]).await,
        "NOPERM No permissions to access a channel"
    );
    let dry: String = cmd(&mut admin, &["ACL", "DRYRUN", "p", "PUBLISH", "x", "m"])
        .await
        .unwrap();
    assert_eq!(dry, "User p has no permissions to access the 'x' channel");
}

fn field<'a>(entry: &'a [Value], name: &str) -> &'a Value {
    let i = entry
        .iter()
        .position(|v| *v == Value::BulkString(name.as_bytes().to_vec()))
        .unwrap_or_else(|| panic!("no field {name}"));
    &entry[i + 1]
}

#[tokio::test]
async fn denials_and_failed_auths_are_logged_and_counted() {
    let srv = TestServer::start().await;
    let mut admin = srv.client().await;
    ok(&mut admin, WORKER).await;
    let mut raw = srv.raw().await;
    for _ in 0..2 {
        let r = raw.request(b"AUTH worker bad\r\n").await;
        assert!(r.starts_with("-WRONGPASS"), "{r}");
    }
    assert_eq!(raw.request(b"AUTH worker pw\r\n").await, "+OK\r\n");
    assert!(raw.request(b"GET jobs:1\r\n").await.starts_with("-NOPERM"));
    assert!(raw
        .request(b"XACK other g 1-1\r\n")
        .await
        .starts_with("-NOPERM"));

    let log: Vec<Vec<Value>> = cmd(&mut admin, &["ACL", "LOG"]).await.unwrap();
    assert_eq!(log.len(), 3);
    let s = |v: &Value| match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(s(field(&log[0], "reason")), "key");
    assert_eq!(s(field(&log[0], "object")), "other");
    assert_eq!(s(field(&log[1], "reason")), "command");
    assert_eq!(s(field(&log[1], "object")), "get");
    assert_eq!(s(field(&log[2], "reason")), "auth");
    assert_eq!(s(field(&log[2], "object")), "AUTH");
    assert_eq!(s(field(&log[2], "username")), "worker");
    assert_eq!(s(field(&log[2], "context")), "toplevel");
    assert_eq!(*field(&log[2], "count"), Value::Int(2));
    assert_eq!(*field(&log[2], "entry-id"), Value::Int(0));
    let info = s(field(&log[2], "client-info"));
    assert!(info.contains("addr=127.0.0.1:"), "{info}");

    let stats: String = cmd(&mut admin, &["INFO", "stats"]).await.unwrap();
    for line in [
        "acl_access_denied_auth:2",
        "acl_access_denied_cmd:1",
        "acl_access_denied_key:1",
        "acl_access_denied_channel:0",
    ] {
        assert!(stats.contains(line), "{line} missing in {stats}");
    }
    ok(&mut admin, &["ACL", "LOG", "RESET"]).await;
    let log: Vec<Value> = cmd(&mut admin, &["ACL", "LOG"]).await.unwrap();
    assert!(log.is_empty());
}

#[tokio::test]
async fn rules_change_live_and_deleted_users_are_disconnected() {
    let srv = TestServer::start().await;
    let mut admin = srv.client().await;
    ok(
        &mut admin,
        &["ACL", "SETUSER", "u", "on", ">pw", "allkeys", "+get"],
    )
    .await;
    let mut raw = srv.raw().await;
    assert_eq!(raw.request(b"AUTH u pw\r\n").await, "+OK\r\n");
    assert_eq!(raw.request(b"GET k\r\n").await, "$-1\r\n");
    ok(&mut admin, &["ACL", "SETUSER", "u", "-get"]).await;
    assert_eq!(
        raw.request(b"GET k\r\n").await,
        "-NOPERM User u has no permissions to run the 'get' command\r\n"
    );
    let n: i64 = cmd(&mut admin, &["ACL", "DELUSER", "u"]).await.unwrap();
    assert_eq!(n, 1);
    assert!(raw.closed().await);
}

#[tokio::test]
async fn multi_checks_at_queue_time() {
    let srv = TestServer::start().await;
    let mut admin = srv.client().await;
    ok(
        &mut admin,
        &[
            "ACL", "SETUSER", "u", "on", ">pw", "allkeys", "+multi", "+exec", "+set",
        ],
    )
    .await;
    let mut raw = srv.raw().await;
    assert_eq!(raw.request(b"AUTH u pw\r\n").await, "+OK\r\n");
    assert_eq!(raw.request(b"MULTI\r\n").await, "+OK\r\n");
    assert!(raw.request(b"GET k\r\n").await.starts_with("-NOPERM"));
    assert!(raw.request(b"EXEC\r\n").await.starts_with("-EXECABORT"));
    let log: Vec<Vec<Value>> = cmd(&mut admin, &["ACL", "LOG", "1"]).await.unwrap();
    assert_eq!(
        *field(&log[0], "context"),
        Value::BulkString(b"multi".to_vec())
    );
}

#[tokio::test]
async fn cat_and_genpass() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let cats: Vec<String> = cmd(&mut con, &["ACL", "CAT"]).await.unwrap();
    assert_eq!(&cats[..3], ["keyspace", "read", "write"]);
    let stream: Vec<String> = cmd(&mut con, &["ACL", "CAT", "stream"]).await.unwrap();
    assert!(stream.contains(&"xreadgroup".to_string()));
    assert!(stream.contains(&"xgroup|create".to_string()));
    assert!(!stream.contains(&"get".to_string()));
    let dangerous: Vec<String> = cmd(&mut con, &["ACL", "CAT", "dangerous"]).await.unwrap();
    assert!(dangerous.contains(&"flushall".to_string()));
    assert!(dangerous.contains(&"acl|setuser".to_string()));
    assert_eq!(
        err(&mut con, &["ACL", "CAT", "nosuch"]).await,
        "ERR Unknown category 'nosuch'"
    );
    let pass: String = cmd(&mut con, &["ACL", "GENPASS"]).await.unwrap();
    assert_eq!(pass.len(), 64);
    assert!(pass.bytes().all(|b| b.is_ascii_hexdigit()));
    let short: String = cmd(&mut con, &["ACL", "GENPASS", "5"]).await.unwrap();
    assert_eq!(short.len(), 2);
    let other: String = cmd(&mut con, &["ACL", "GENPASS"]).await.unwrap();
    assert_ne!(pass, other);
}

/// A configuration whose ACL file (empty at first) lives in its own
/// directory, kept for the life of the test.
fn with_aclfile() -> (
    sluice::config::Config,
    tempfile::TempDir,
    std::path::PathBuf,
) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.acl");
    std::fs::write(&path, b"").unwrap();
    let mut config = common::test_config();
    config.aclfile = Some(path.clone());
    (config, dir, path)
}

#[tokio::test]
async fn users_survive_a_restart_through_the_aclfile() {
    let (config, _dir, path) = with_aclfile();
    let srv = TestServer::start_with(config, sluice::clock::Clock::system()).await;
    let mut admin = srv.client().await;
    ok(&mut admin, WORKER).await;
    ok(&mut admin, &["ACL", "SAVE"]).await;
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text,
        "user default on nopass ~* &* +@all\n\
         user worker on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~jobs:* resetchannels -@all +xreadgroup +xack +ping\n"
    );
    let srv = srv.restart().await;
    let mut worker = srv.connect_as("worker", "pw").await;
    let pong: String = cmd(&mut worker, &["PING"]).await.unwrap();
    assert_eq!(pong, "PONG");
    assert_eq!(
        err(&mut worker, &["GET", "jobs:1"]).await,
        "NOPERM User worker has no permissions to run the 'get' command"
    );
}

#[tokio::test]
async fn acl_load_is_all_or_nothing() {
    let (config, _dir, path) = with_aclfile();
    let srv = TestServer::start_with(config, sluice::clock::Clock::system()).await;
    let mut admin = srv.client().await;
    ok(&mut admin, &["ACL", "SETUSER", "old", "on", "nopass"]).await;
    std::fs::write(&path, "user new on nopass +@all ~*\nuser bad on bogus\n").unwrap();
    assert_eq!(
        err(&mut admin, &["ACL", "LOAD"]).await,
        format!(
            "ERR {}:2: Syntax error. WARNING: ACL errors detected, no change to the previously active ACL rules was performed",
            path.display()
        )
    );
    let users: Vec<String> = cmd(&mut admin, &["ACL", "USERS"]).await.unwrap();
    assert_eq!(users, ["default", "old"]);
    std::fs::write(&path, "user new on nopass +@all ~*\n").unwrap();
    ok(&mut admin, &["ACL", "LOAD"]).await;
    let users: Vec<String> = cmd(&mut admin, &["ACL", "USERS"]).await.unwrap();
    assert_eq!(users, ["default", "new"]);
}

#[tokio::test]
async fn save_and_load_need_an_aclfile() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let e = err(&mut con, &["ACL", "SAVE"]).await;
    assert!(
        e.starts_with("ERR This Redis instance is not configured to use an ACL file."),
        "{e}"
    );
}

#[tokio::test]
async fn user_lines_in_the_config_file() {
    let mut config = common::test_config();
    config
        .apply_file(
            "user app on >s3cret ~app:* +get +set\nuser default on nopass -@all +ping\n",
            "test.conf",
        )
        .unwrap();
    let srv = TestServer::start_with(config, sluice::clock::Clock::system()).await;
    let mut anon = srv.client().await;
    let pong: String = cmd(&mut anon, &["PING"]).await.unwrap();
    assert_eq!(pong, "PONG");
    assert_eq!(
        err(&mut anon, &["GET", "x"]).await,
        "NOPERM User default has no permissions to run the 'get' command"
    );
    let mut app = srv.connect_as("app", "s3cret").await;
    ok(&mut app, &["SET", "app:1", "v"]).await;
    assert_eq!(
        err(&mut app, &["SET", "x", "v"]).await,
        "NOPERM No permissions to access a key"
    );
}

#[tokio::test]
async fn user_lines_and_an_aclfile_do_not_mix() {
    let (mut config, dir, _path) = with_aclfile();
    config
        .apply_file("user app on nopass\n", "test.conf")
        .unwrap();
    let e = TestServer::try_start_in(
        std::sync::Arc::new(tempfile::tempdir().unwrap()),
        &mut config,
        sluice::clock::Clock::system(),
        std::sync::Arc::new(sluice::storage::io::RealDisk),
    )
    .await
    .err()
    .expect("refused");
    assert!(
        e.to_string()
            .contains("users defined in redis.conf and at the same setting an ACL file"),
        "{e}"
    );
    drop(dir);
}

#[tokio::test]
async fn selectors_allow_what_any_of_them_allows() {
    let srv = TestServer::start().await;
    let mut admin = srv.client().await;
    ok(
        &mut admin,
        &[
            "ACL",
            "SETUSER",
            "s",
            "on",
            ">pw",
            "+get",
            "~a:*",
            "(+set ~k:*)",
            "(",
            "+xadd",
            "~q:*)",
        ],
    )
    .await;
    let list: Vec<String> = cmd(&mut admin, &["ACL", "LIST"]).await.unwrap();
    assert!(
        list[1].ends_with(
            "~a:* resetchannels -@all +get (~k:* resetchannels -@all +set) (~q:* resetchannels -@all +xadd)"
        ),
        "{list:?}"
    );
    let user: Vec<Value> = cmd(&mut admin, &["ACL", "GETUSER", "s"]).await.unwrap();
    let Value::Array(selectors) = &user[11] else {
        panic!("{user:?}")
    };
    assert_eq!(selectors.len(), 2);
    assert_eq!(
        selectors[0],
        Value::Array(vec![
            Value::BulkString(b"commands".to_vec()),
            Value::BulkString(b"-@all +set".to_vec()),
            Value::BulkString(b"keys".to_vec()),
            Value::BulkString(b"~k:*".to_vec()),
            Value::BulkString(b"channels".to_vec()),
            Value::BulkString(b"".to_vec()),
        ])
    );
    let mut con = srv.connect_as("s", "pw").await;
    let v: Option<String> = cmd(&mut con, &["GET", "a:1"]).await.unwrap();
    assert_eq!(v, None);
    ok(&mut con, &["SET", "k:1", "v"]).await;
    let _: String = cmd(&mut con, &["XADD", "q:1", "*", "f", "v"])
        .await
        .unwrap();
    // No selector allows all of it: the most specific refusal is reported.
    assert_eq!(
        err(&mut con, &["GET", "k:1"]).await,
        "NOPERM No permissions to access a key"
    );
    assert_eq!(
        err(&mut con, &["SET", "a:1", "v"]).await,
        "NOPERM No permissions to access a key"
    );
    assert_eq!(
        err(&mut con, &["DEL", "a:1"]).await,
        "NOPERM User s has no permissions to run the 'del' command"
    );
    assert_eq!(
        err(&mut admin, &["ACL", "SETUSER", "s", "(+get"]).await,
        "ERR Unmatched parenthesis in acl selector starting at '(+get'."
    );
    assert_eq!(
        err(&mut admin, &["ACL", "SETUSER", "s", "(on)"]).await,
        "ERR Error in ACL SETUSER modifier '(on)': Syntax error"
    );
    ok(&mut admin, &["ACL", "SETUSER", "s", "clearselectors"]).await;
    assert_eq!(
        err(&mut con, &["SET", "k:1", "v"]).await,
        "NOPERM User s has no permissions to run the 'set' command"
    );
}

#[tokio::test]
async fn selectors_survive_the_aclfile() {
    let (config, _dir, _path) = with_aclfile();
    let srv = TestServer::start_with(config, sluice::clock::Clock::system()).await;
    let mut admin = srv.client().await;
    ok(
        &mut admin,
        &["ACL", "SETUSER", "s", "on", ">pw", "(+set ~k:*)"],
    )
    .await;
    ok(&mut admin, &["ACL", "SAVE"]).await;
    let before: Vec<String> = cmd(&mut admin, &["ACL", "LIST"]).await.unwrap();
    let srv = srv.restart().await;
    let mut admin = srv.client().await;
    let after: Vec<String> = cmd(&mut admin, &["ACL", "LIST"]).await.unwrap();
    assert_eq!(before, after);
    let mut con = srv.connect_as("s", "pw").await;
    ok(&mut con, &["SET", "k:1", "v"]).await;
}

#[tokio::test]
async fn client_list_and_kill_know_the_user() {
    let srv = TestServer::start().await;
    let mut admin = srv.client().await;
    ok(
        &mut admin,
        &["ACL", "SETUSER", "u", "on", ">pw", "+@all", "allkeys"],
    )
    .await;
    let mut raw = srv.raw().await;
    assert_eq!(raw.request(b"AUTH u pw\r\n").await, "+OK\r\n");
    let list: String = cmd(&mut admin, &["CLIENT", "LIST"]).await.unwrap();
    assert_eq!(list.matches(" user=u ").count(), 1, "{list}");
    assert_eq!(list.matches(" user=default ").count(), 1, "{list}");
    let killed: i64 = cmd(&mut admin, &["CLIENT", "KILL", "USER", "u"])
        .await
        .unwrap();
    assert_eq!(killed, 1);
    assert!(raw.closed().await);
    assert_eq!(
        err(&mut admin, &["CLIENT", "KILL", "USER", "nobody"]).await,
        "ERR No such user 'nobody'"
    );
}

#[tokio::test]
async fn subscribers_losing_a_channel_are_disconnected() {
    let srv = TestServer::start().await;
    let mut admin = srv.client().await;
    ok(
        &mut admin,
        &[
            "ACL", "SETUSER", "s", "on", ">pw", "+@all", "&news:*", "&jobs",
        ],
    )
    .await;
    let mut news = srv.raw().await;
    assert_eq!(news.request(b"AUTH s pw\r\n").await, "+OK\r\n");
    let r = news.request(b"SUBSCRIBE news:1\r\n").await;
    assert!(r.contains("subscribe"), "{r}");
    let mut pattern = srv.raw().await;
    assert_eq!(pattern.request(b"AUTH s pw\r\n").await, "+OK\r\n");
    assert!(pattern
        .request(b"PSUBSCRIBE news:*\r\n")
        .await
        .contains("psubscribe"));
    assert!(pattern
        .request(b"PSUBSCRIBE news:x*\r\n")
        .await
        .starts_with("-NOPERM No permissions to access a channel"));
    let mut jobs = srv.raw().await;
    assert_eq!(jobs.request(b"AUTH s pw\r\n").await, "+OK\r\n");
    assert!(jobs
        .request(b"SUBSCRIBE jobs\r\n")
        .await
        .contains("subscribe"));
    // Only `jobs` stays allowed.
    ok(
        &mut admin,
        &["ACL", "SETUSER", "s", "resetchannels", "&jobs"],
    )
    .await;
    assert!(news.closed().await);
    assert!(pattern.closed().await);
    let n: i64 = cmd(&mut admin, &["PUBLISH", "jobs", "m"]).await.unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn getuser_flags_are_a_set_in_resp3() {
    let srv = TestServer::start().await;
    let mut raw = srv.raw().await;
    raw.request(b"HELLO 3\r\n").await;
    let reply = raw.request(b"ACL GETUSER default\r\n").await;
    assert!(
        reply.starts_with("%6\r\n$5\r\nflags\r\n~2\r\n$2\r\non\r\n$6\r\nnopass\r\n"),
        "{reply}"
    );
}

#[tokio::test]
async fn exec_rechecks_rules_changed_after_queueing() {
    let srv = TestServer::start().await;
    let mut admin = srv.client().await;
    ok(
        &mut admin,
        &[
            "ACL", "SETUSER", "u", "on", ">pw", "allkeys", "+multi", "+exec", "+set", "+get",
        ],
    )
    .await;
    let mut raw = srv.raw().await;
    assert_eq!(raw.request(b"AUTH u pw\r\n").await, "+OK\r\n");
    assert_eq!(raw.request(b"MULTI\r\n").await, "+OK\r\n");
    assert_eq!(raw.request(b"SET k v\r\n").await, "+QUEUED\r\n");
    assert_eq!(raw.request(b"GET k\r\n").await, "+QUEUED\r\n");
    ok(&mut admin, &["ACL", "SETUSER", "u", "-set"]).await;
    assert_eq!(
        raw.request(b"EXEC\r\n").await,
        "*2\r\n-NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: no permission to execute the command or subcommand\r\n$-1\r\n"
    );
}

/// A password given to the default user by ACL SETUSER (not requirepass)
/// gates new connections too: they start logged out, as in Redis.
#[tokio::test]
async fn a_default_user_password_from_setuser_gates_new_connections() {
    let srv = TestServer::start().await;
    let mut admin = srv.raw().await;
    assert_eq!(
        admin
            .request(b"ACL SETUSER default resetpass >s3cret\r\n")
            .await,
        "+OK\r\n"
    );
    let mut fresh = srv.raw().await;
    let reply = fresh.request(b"PING\r\n").await;
    assert!(reply.starts_with("-NOAUTH"), "{reply}");
    assert_eq!(fresh.request(b"AUTH s3cret\r\n").await, "+OK\r\n");
    assert_eq!(fresh.request(b"PING\r\n").await, "+PONG\r\n");
    // Back to nopass: new connections are in at once again.
    assert_eq!(
        fresh.request(b"ACL SETUSER default nopass\r\n").await,
        "+OK\r\n"
    );
    let mut open = srv.raw().await;
    assert_eq!(open.request(b"PING\r\n").await, "+PONG\r\n");
}

/// `acl-pubsub-default allchannels` gives users created from then on (and
/// `reset`) every channel; users that exist keep theirs.
#[tokio::test]
async fn acl_pubsub_default_decides_new_users_channels() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let channels = async |con: &mut redis::aio::MultiplexedConnection, user: &str| {
        let reply: Vec<Value> = cmd(con, &["ACL", "GETUSER", user]).await.unwrap();
        let at = reply
            .iter()
            .position(|v| matches!(v, Value::BulkString(b) if b == b"channels"))
            .expect("a channels field");
        match &reply[at + 1] {
            Value::BulkString(b) => String::from_utf8(b.clone()).unwrap(),
            other => panic!("{other:?}"),
        }
    };
    ok(&mut con, &["ACL", "SETUSER", "before"]).await;
    ok(
        &mut con,
        &["CONFIG", "SET", "acl-pubsub-default", "allchannels"],
    )
    .await;
    ok(&mut con, &["ACL", "SETUSER", "after"]).await;
    assert_eq!(channels(&mut con, "before").await, "");
    assert_eq!(channels(&mut con, "after").await, "&*");
    ok(&mut con, &["ACL", "SETUSER", "before", "reset"]).await;
    assert_eq!(channels(&mut con, "before").await, "&*");
    let e = err(&mut con, &["CONFIG", "SET", "acl-pubsub-default", "x"]).await;
    assert!(e.contains("allchannels, resetchannels"), "{e}");
}

#[tokio::test]
async fn first_argument_and_command_subcommand_rules() {
    let srv = TestServer::start().await;
    let mut admin = srv.client().await;
    ok(
        &mut admin,
        &[
            "ACL",
            "SETUSER",
            "fa",
            "on",
            ">pw",
            "+select|0",
            "+SELECT|1",
            "+debug|digest",
            "+command|docs",
        ],
    )
    .await;
    let list: Vec<String> = cmd(&mut admin, &["ACL", "LIST"]).await.unwrap();
    assert!(
        list.iter()
            .any(|l| l
                .ends_with("resetchannels -@all +command|docs +select|0 +select|1 +debug|digest")),
        "{list:?}"
    );
    let dry = |args: &'static [&'static str]| {
        let mut words = vec!["ACL", "DRYRUN", "fa"];
        words.extend_from_slice(args);
        words
    };
    for allowed in [
        &["SELECT", "0"][..],
        &["select", "1"],
        &["DEBUG", "DIGEST"],
        &["COMMAND", "DOCS", "get"],
    ] {
        let reply: String = cmd(&mut admin, &dry(allowed)).await.unwrap();
        assert_eq!(reply, "OK", "{allowed:?}");
    }
    for refused in [
        &["SELECT", "2"][..],
        &["DEBUG", "SLEEP", "0"],
        &["COMMAND"],
        &["COMMAND", "COUNT"],
    ] {
        let reply: String = cmd(&mut admin, &dry(refused)).await.unwrap();
        assert!(
            reply.contains("has no permissions to run"),
            "{refused:?}: {reply}"
        );
    }
    let mut user = srv.connect_as("fa", "pw").await;
    ok(&mut user, &["SELECT", "1"]).await;
    assert!(err(&mut user, &["SELECT", "2"]).await.starts_with("NOPERM"));
    let docs: Value = cmd(&mut user, &["COMMAND", "DOCS", "get"]).await.unwrap();
    assert!(
        matches!(docs, Value::Array(ref a) if a.len() == 2),
        "{docs:?}"
    );
    assert!(err(&mut user, &["COMMAND", "COUNT"])
        .await
        .starts_with("NOPERM"));

    // Redis's refusals, and rules that drop first arguments.
    for (rule, reason) in [
        ("-select|0", "Unknown command or category name in ACL"),
        ("+select|0|1", "Unknown command or category name in ACL"),
        ("+select|", "Syntax error"),
        ("+command|bogus", "Unknown command or category name in ACL"),
        (
            "+config|get|maxmemory",
            "Allowing first-arg of a subcommand is not supported",
        ),
    ] {
        let e = err(&mut admin, &["ACL", "SETUSER", "fa", rule]).await;
        assert_eq!(
            e,
            format!("ERR Error in ACL SETUSER modifier '{rule}': {reason}")
        );
    }
    ok(&mut admin, &["ACL", "SETUSER", "fa", "-select"]).await;
    let reply: String = cmd(&mut admin, &dry(&["SELECT", "0"])).await.unwrap();
    assert!(reply.contains("has no permissions"), "{reply}");
    ok(&mut admin, &["ACL", "SETUSER", "fa", "+@all", "+select|0"]).await;
    let list: Vec<String> = cmd(&mut admin, &["ACL", "LIST"]).await.unwrap();
    assert!(
        list.iter().any(|l| l.ends_with("resetchannels +@all")),
        "{list:?}"
    );
}

#[tokio::test]
async fn sanitize_payload_flags() {
    let srv = TestServer::start().await;
    let mut admin = srv.client().await;
    ok(
        &mut admin,
        &["ACL", "SETUSER", "a", "reset", "on", "nopass"],
    )
    .await;
    ok(
        &mut admin,
        &["ACL", "SETUSER", "b", "on", "skip-sanitize-payload"],
    )
    .await;
    ok(&mut admin, &["ACL", "SETUSER", "c", "on"]).await;
    let list: Vec<String> = cmd(&mut admin, &["ACL", "LIST"]).await.unwrap();
    for line in [
        "user a on nopass sanitize-payload resetchannels -@all",
        "user b on skip-sanitize-payload resetchannels -@all",
        "user c on resetchannels -@all",
    ] {
        assert!(list.iter().any(|l| l == line), "{line} not in {list:?}");
    }
    let user: Vec<Value> = cmd(&mut admin, &["ACL", "GETUSER", "b"]).await.unwrap();
    assert_eq!(
        user[1],
        Value::Array(vec![
            Value::BulkString(b"on".to_vec()),
            Value::BulkString(b"skip-sanitize-payload".to_vec())
        ])
    );
}
