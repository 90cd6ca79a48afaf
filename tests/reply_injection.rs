//! No client can forge a reply. Error texts echo names the client chose (a
//! key, a group, an option, a user, a client type); a CR LF in such a name
//! used to end the error line early, and what followed read as a reply of
//! its own: `-NOGROUP No such key 'a` then `+INJECTED`, and every later
//! reply answered the wrong request. The encoder now turns CR and LF in
//! status and error lines into spaces, as Redis does, whatever the command.

mod common;

use common::TestServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const EVIL: &[u8] = b"a\r\n+INJECTED\r\n:666";

fn request(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Sends `bytes` then PING (unless the first closes the connection), and
/// returns everything the server wrote until PONG or close.
async fn exchange(srv: &TestServer, bytes: &[u8], then_ping: bool) -> Vec<u8> {
    let mut stream = TcpStream::connect(srv.addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    if then_ping {
        stream.write_all(b"*1\r\n$4\r\nPING\r\n").await.unwrap();
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !(then_ping && got.ends_with(b"+PONG\r\n")) {
        let n = tokio::time::timeout_at(deadline, stream.read(&mut buf))
            .await
            .expect("the server answered in time")
            .unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    got
}

/// The reply to the evil request is exactly one error line, and the PING
/// that follows gets its own PONG.
fn assert_one_error_then_pong(what: &str, got: &[u8]) {
    let text = String::from_utf8_lossy(got);
    let Some(error) = got.strip_suffix(b"+PONG\r\n") else {
        panic!("{what}: no PONG at the end: {text:?}");
    };
    assert!(error.starts_with(b"-"), "{what}: not an error: {text:?}");
    let lines = error.split(|&b| b == b'\n').count() - 1;
    assert_eq!(lines, 1, "{what}: the error spans {lines} lines: {text:?}");
    assert_eq!(
        error.iter().filter(|&&b| b == b'\r').count(),
        1,
        "{what}: a stray CR: {text:?}"
    );
    assert!(
        text.contains("+INJECTED  :666") || !text.contains("INJECTED"),
        "{what}: {text:?}"
    );
}

#[tokio::test]
async fn names_echoed_in_errors_cannot_forge_replies() {
    let srv = TestServer::start().await;
    let mut setup = srv.client().await;
    let _: String = common::cmd(&mut setup, &["XADD", "s", "*", "f", "v"])
        .await
        .unwrap();
    let cases: Vec<(&str, Vec<&[u8]>)> = vec![
        (
            "XREADGROUP, NOGROUP key",
            vec![b"XREADGROUP", b"GROUP", b"g", b"c", b"STREAMS", EVIL, b">"],
        ),
        (
            "XREADGROUP, NOGROUP group",
            vec![b"XREADGROUP", b"GROUP", EVIL, b"c", b"STREAMS", b"s", b">"],
        ),
        ("XPENDING", vec![b"XPENDING", b"s", EVIL]),
        (
            "XGROUP CREATECONSUMER",
            vec![b"XGROUP", b"CREATECONSUMER", b"s", EVIL, b"c"],
        ),
        ("HELLO option", vec![b"HELLO", b"3", EVIL]),
        ("CLIENT KILL USER", vec![b"CLIENT", b"KILL", b"USER", EVIL]),
        ("CLIENT LIST TYPE", vec![b"CLIENT", b"LIST", b"TYPE", EVIL]),
        ("CONFIG SET name", vec![b"CONFIG", b"SET", EVIL, b"1"]),
        ("unknown command", vec![EVIL, b"x"]),
        ("unknown subcommand", vec![b"CLIENT", EVIL]),
        ("OBJECT subcommand", vec![b"OBJECT", EVIL, b"k"]),
    ];
    for (what, args) in cases {
        let got = exchange(&srv, &request(&args), true).await;
        assert_one_error_then_pong(what, &got);
    }
}

#[tokio::test]
async fn a_protocol_error_echoing_a_cr_is_one_line() {
    let srv = TestServer::start().await;
    // A multibulk whose element starts with CR instead of '$'.
    let got = exchange(&srv, b"*1\r\n\r\n+FORGED\r\n", false).await;
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.starts_with("-ERR Protocol error: expected '$', got ' '\r\n"),
        "{text:?}"
    );
    assert_eq!(text.matches("\r\n").count(), 1, "{text:?}");
    assert!(!text.contains("+FORGED"), "{text:?}");
}
