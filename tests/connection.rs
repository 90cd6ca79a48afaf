//! Connection commands and the protocol, through a stock client and raw
//! bytes.

mod common;

use common::{cmd, err_text, TestServer};

#[tokio::test]
async fn ping_and_echo_in_both_protocols() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let mut con = srv.connect(resp3).await;
        let pong: String = cmd(&mut con, &["PING"]).await.unwrap();
        assert_eq!(pong, "PONG");
        let echoed: Vec<u8> = redis::cmd("ECHO")
            .arg(&b"a\x00\xffb"[..])
            .query_async(&mut con)
            .await
            .unwrap();
        assert_eq!(echoed, b"a\x00\xffb");
        let e = cmd::<String>(&mut con, &["PING", "a", "b"])
            .await
            .unwrap_err();
        assert_eq!(
            err_text(&e),
            "ERR wrong number of arguments for 'ping' command"
        );
    }
}

#[tokio::test]
async fn inline_and_pipelined_requests() {
    let srv = TestServer::start().await;
    let mut raw = srv.raw().await;
    assert_eq!(raw.request(b"PING\r\n").await, "+PONG\r\n");
    assert_eq!(raw.request(b"echo \"a b\\x41\"\n").await, "$4\r\na bA\r\n");
    raw.send(b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nPING x\r\n")
        .await;
    assert_eq!(raw.read_reply().await.unwrap(), "+PONG\r\n");
    assert_eq!(raw.read_reply().await.unwrap(), "$2\r\nhi\r\n");
    assert_eq!(raw.read_reply().await.unwrap(), "$1\r\nx\r\n");
}

#[tokio::test]
async fn protocol_error_replies_then_closes() {
    let srv = TestServer::start().await;
    for (input, text) in [
        (
            &b"*x\r\n"[..],
            "-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*1\r\n:4\r\n",
            "-ERR Protocol error: expected '$', got ':'\r\n",
        ),
        (
            b"*1\r\n$-3\r\n",
            "-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"set a \"b\r\n",
            "-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
    ] {
        let mut raw = srv.raw().await;
        assert_eq!(raw.request(input).await, text);
        assert!(raw.closed().await, "connection closed after {text}");
    }
    // The server itself is fine.
    let mut con = srv.client().await;
    let pong: String = cmd(&mut con, &["PING"]).await.unwrap();
    assert_eq!(pong, "PONG");
}

#[tokio::test]
async fn unknown_command_lists_its_arguments() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let e = cmd::<String>(&mut con, &["NOPE", "a", "b"])
        .await
        .unwrap_err();
    assert_eq!(
        err_text(&e),
        "ERR unknown command 'NOPE', with args beginning with: 'a' 'b' "
    );
}

#[tokio::test]
async fn hello_switches_protocol_and_reports_the_server() {
    let srv = TestServer::start().await;
    let mut raw = srv.raw().await;
    let reply = raw.request(b"HELLO 3\r\n").await;
    assert!(reply.starts_with("%7\r\n"), "{reply}");
    assert!(
        reply.contains("$7\r\nversion\r\n$5\r\n7.4.0\r\n"),
        "{reply}"
    );
    assert!(reply.contains(":3\r\n"), "{reply}");
    // Nulls are now RESP3 nulls.
    assert_eq!(
        raw.request(b"HELLO 4\r\n").await,
        "-NOPROTO unsupported protocol version\r\n"
    );
    let reply = raw.request(b"HELLO 2\r\n").await;
    assert!(reply.starts_with("*14\r\n"), "{reply}");
    assert_eq!(
        raw.request(b"HELLO 3 SETNAME \"a b\"\r\n").await,
        "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
    );
}

#[tokio::test]
async fn requirepass_gates_commands_until_auth() {
    let mut config = common::test_config();
    config.requirepass = Some("s3cret".into());
    let srv = TestServer::start_with(config, sluice::clock::Clock::system()).await;
    let mut raw = srv.raw().await;
    assert_eq!(
        raw.request(b"PING\r\n").await,
        "-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(
        raw.request(b"AUTH wrong\r\n").await,
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(raw.request(b"AUTH s3cret\r\n").await, "+OK\r\n");
    assert_eq!(raw.request(b"PING\r\n").await, "+PONG\r\n");
    assert_eq!(raw.request(b"RESET\r\n").await, "+RESET\r\n");
    assert_eq!(
        raw.request(b"PING\r\n").await,
        "-NOAUTH Authentication required.\r\n"
    );
    let reply = raw.request(b"HELLO 3 AUTH default s3cret\r\n").await;
    assert!(reply.starts_with('%'), "{reply}");
    // The stock client authenticates through the URL.
    let url = format!("redis://:s3cret@{}/", srv.addr);
    let mut con = redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let pong: String = cmd(&mut con, &["PING"]).await.unwrap();
    assert_eq!(pong, "PONG");
}

#[tokio::test]
async fn auth_without_a_password_configured() {
    let srv = TestServer::start().await;
    let mut raw = srv.raw().await;
    assert_eq!(
        raw.request(b"AUTH x\r\n").await,
        "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n"
    );
    assert_eq!(raw.request(b"AUTH default anything\r\n").await, "+OK\r\n");
}

#[tokio::test]
async fn select_bounds_and_quit() {
    let srv = TestServer::start().await;
    let mut raw = srv.raw().await;
    assert_eq!(raw.request(b"SELECT 15\r\n").await, "+OK\r\n");
    assert_eq!(
        raw.request(b"SELECT 16\r\n").await,
        "-ERR DB index is out of range\r\n"
    );
    assert_eq!(
        raw.request(b"SELECT x\r\n").await,
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(raw.request(b"QUIT\r\n").await, "+OK\r\n");
    assert!(raw.closed().await);
}

#[tokio::test]
async fn oversized_bulk_is_refused_before_it_arrives() {
    let srv = TestServer::start().await;
    let mut raw = srv.raw().await;
    // 600 MB declared, nothing sent: refused at once, nothing allocated.
    assert_eq!(
        raw.request(b"*2\r\n$3\r\nSET\r\n$629145600\r\n").await,
        "-ERR Protocol error: invalid bulk length\r\n"
    );
    assert!(raw.closed().await);
}

/// Passwords are bytes. `CONFIG SET requirepass` with bytes that are not
/// UTF-8 used to store U+FFFD replacement characters: the real password
/// stopped working and any eight invalid bytes got in.
#[tokio::test]
async fn a_password_that_is_not_utf8_is_kept_byte_for_byte() {
    let srv = TestServer::start().await;
    let mut admin = srv.client().await;
    let password: &[u8] = b"\xff\xfe\x00pw\x80";
    let reply: String = redis::cmd("CONFIG")
        .arg("SET")
        .arg("requirepass")
        .arg(password)
        .query_async(&mut admin)
        .await
        .unwrap();
    assert_eq!(reply, "OK");
    let got: Vec<Vec<u8>> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("requirepass")
        .query_async(&mut admin)
        .await
        .unwrap();
    assert_eq!(got, [b"requirepass".to_vec(), password.to_vec()]);

    let client = redis::Client::open(srv.url(false)).unwrap();
    let mut con = client.get_multiplexed_async_connection().await.unwrap();
    let auth = |pw: Vec<u8>| redis::cmd("AUTH").arg(pw).clone();
    // Other invalid bytes, and the replacement characters the old code
    // stored, are refused.
    for wrong in [
        b"\xfe\xff\xfe\xff\xfe\xff\xfe\xff".to_vec(),
        "\u{fffd}\u{fffd}\0pw\u{fffd}".as_bytes().to_vec(),
        password[..password.len() - 1].to_vec(),
    ] {
        let e = auth(wrong).query_async::<()>(&mut con).await.unwrap_err();
        assert_eq!(e.code(), Some("WRONGPASS"), "{e}");
    }
    let () = auth(password.to_vec()).query_async(&mut con).await.unwrap();
    let pong: String = redis::cmd("PING").query_async(&mut con).await.unwrap();
    assert_eq!(pong, "PONG");
}

/// Only `requirepass` takes bytes that are not text; other parameters
/// refuse them with CONFIG SET's error instead of storing a mangled value.
#[tokio::test]
async fn other_config_values_that_are_not_utf8_are_refused() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let e = redis::cmd("CONFIG")
        .arg("SET")
        .arg("appendfsync")
        .arg(&b"\xffno"[..])
        .query_async::<()>(&mut con)
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("CONFIG SET failed (possibly related to argument 'appendfsync')"),
        "{e}"
    );
    let e = redis::cmd("CONFIG")
        .arg("SET")
        .arg("no-such-option")
        .arg(&b"\xff"[..])
        .query_async::<()>(&mut con)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("Unknown option"), "{e}");
}
