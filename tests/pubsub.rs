//! Pub/Sub: SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE and their UNSUBSCRIBEs,
//! PUBLISH / SPUBLISH, PUBSUB introspection, the RESP2 subscribed mode,
//! RESP3 pushes, where pushes land relative to replies, and the pub/sub
//! output-buffer limit that drops a subscriber that stopped reading.

mod common;

use std::time::Duration;

use common::{cmd, err_text, RawClient, TestServer};
use redis::{PushKind, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Encodes one command as a RESP array.
fn resp(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A raw connection, switched to RESP3 when asked.
async fn raw(srv: &TestServer, resp3: bool) -> RawClient {
    let mut c = srv.raw().await;
    if resp3 {
        let hello = c.request(b"HELLO 3\r\n").await;
        assert!(hello.starts_with('%'), "{hello}");
    }
    c
}

/// Reads `n` frames and concatenates them.
async fn frames(c: &mut RawClient, n: usize) -> String {
    let mut out = String::new();
    for _ in 0..n {
        out.push_str(&c.read_reply().await.expect("a frame"));
    }
    out
}

/// The push/array header of a pub/sub frame with `n` elements.
fn agg(resp3: bool, n: usize) -> String {
    format!("{}{n}\r\n", if resp3 { '>' } else { '*' })
}

fn null(resp3: bool) -> &'static str {
    if resp3 {
        "_\r\n"
    } else {
        "$-1\r\n"
    }
}

/// Polls a condition the server reaches asynchronously (a connection task
/// noticing a close), for at most 10 s.
async fn eventually<F, Fut>(mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..1000 {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

async fn numsub(con: &mut redis::aio::MultiplexedConnection, channel: &str) -> i64 {
    let v: Vec<Value> = cmd(con, &["PUBSUB", "NUMSUB", channel]).await.unwrap();
    match &v[1] {
        Value::Int(n) => *n,
        other => panic!("{other:?}"),
    }
}

fn info_field(info: &str, name: &str) -> Option<String> {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .map(|v| v.trim().to_string())
}

#[tokio::test]
async fn subscribe_and_unsubscribe_reply_shapes() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let mut c = raw(&srv, resp3).await;
        let h3 = agg(resp3, 3);
        // Nothing to leave: one frame with a null name and count 0.
        for word in ["unsubscribe", "punsubscribe", "sunsubscribe"] {
            let got = c.request(format!("{word}\r\n").as_bytes()).await;
            assert_eq!(
                got,
                format!("{h3}${}\r\n{word}\r\n{}:0\r\n", word.len(), null(resp3))
            );
        }
        c.send(b"SUBSCRIBE a b a\r\n").await;
        assert_eq!(
            frames(&mut c, 3).await,
            format!(
                "{h3}$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n{h3}$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n{h3}$9\r\nsubscribe\r\n$1\r\na\r\n:2\r\n"
            )
        );
        // Patterns count with channels; shard channels on their own.
        assert_eq!(
            c.request(b"PSUBSCRIBE p*\r\n").await,
            format!("{h3}$10\r\npsubscribe\r\n$2\r\np*\r\n:3\r\n")
        );
        assert_eq!(
            c.request(b"SSUBSCRIBE s\r\n").await,
            format!("{h3}$10\r\nssubscribe\r\n$1\r\ns\r\n:1\r\n")
        );
        assert_eq!(
            c.request(b"UNSUBSCRIBE b zz\r\n").await,
            format!("{h3}$11\r\nunsubscribe\r\n$1\r\nb\r\n:2\r\n")
        );
        assert_eq!(
            c.read_reply().await.unwrap(),
            format!("{h3}$11\r\nunsubscribe\r\n$2\r\nzz\r\n:2\r\n")
        );
        assert_eq!(
            c.request(b"SUNSUBSCRIBE\r\n").await,
            format!("{h3}$12\r\nsunsubscribe\r\n$1\r\ns\r\n:0\r\n")
        );
        c.send(b"UNSUBSCRIBE\r\nPUNSUBSCRIBE\r\n").await;
        assert_eq!(
            frames(&mut c, 2).await,
            format!(
                "{h3}$11\r\nunsubscribe\r\n$1\r\na\r\n:1\r\n{h3}$12\r\npunsubscribe\r\n$2\r\np*\r\n:0\r\n"
            )
        );
        // Out of subscribed mode: any command again.
        assert_eq!(c.request(b"PING\r\n").await, "+PONG\r\n");
    }
}

#[tokio::test]
async fn resp2_subscribed_mode_allows_only_pubsub_commands() {
    let srv = TestServer::start().await;
    let mut c = raw(&srv, false).await;
    c.request(b"SSUBSCRIBE s\r\n").await;
    for (req, name) in [
        ("GET x", "get"),
        ("CLIENT LIST", "client|list"),
        ("HELLO 3", "hello"),
        ("MULTI", "multi"),
        ("PUBLISH s x", "publish"),
    ] {
        assert_eq!(
            c.request(format!("{req}\r\n").as_bytes()).await,
            format!("-ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n")
        );
    }
    // Arity and unknown-command errors come first.
    assert_eq!(
        c.request(b"GET\r\n").await,
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
    assert_eq!(
        c.request(b"PING\r\n").await,
        "*2\r\n$4\r\npong\r\n$0\r\n\r\n"
    );
    assert_eq!(
        c.request(b"PING hi\r\n").await,
        "*2\r\n$4\r\npong\r\n$2\r\nhi\r\n"
    );
    // Leaving only the (empty) channel set keeps the shard subscription,
    // and with it the subscribed mode.
    c.request(b"UNSUBSCRIBE\r\n").await;
    assert!(c
        .request(b"GET x\r\n")
        .await
        .starts_with("-ERR Can't execute"));
    // RESET leaves everything.
    assert_eq!(c.request(b"RESET\r\n").await, "+RESET\r\n");
    assert_eq!(c.request(b"GET x\r\n").await, "$-1\r\n");
    let mut p = srv.client().await;
    assert_eq!(
        cmd::<i64>(&mut p, &["SPUBLISH", "s", "x"]).await.unwrap(),
        0
    );
    // QUIT is allowed.
    c.request(b"SUBSCRIBE a\r\n").await;
    assert_eq!(c.request(b"QUIT\r\n").await, "+OK\r\n");
}

#[tokio::test]
async fn resp3_subscriber_runs_any_command() {
    let srv = TestServer::start().await;
    let mut c = raw(&srv, true).await;
    c.request(b"SUBSCRIBE a\r\n").await;
    assert_eq!(c.request(b"SET k v\r\n").await, "+OK\r\n");
    assert_eq!(c.request(b"GET k\r\n").await, "$1\r\nv\r\n");
    assert_eq!(c.request(b"PING\r\n").await, "+PONG\r\n");
    // Its own message goes after the PUBLISH reply (Redis 7.2+).
    c.send(b"PUBLISH a self\r\n").await;
    assert_eq!(
        frames(&mut c, 2).await,
        ":1\r\n>3\r\n$7\r\nmessage\r\n$1\r\na\r\n$4\r\nself\r\n"
    );
    // Inside EXEC too: the EXEC array is whole, the push after it.
    c.request(b"MULTI\r\n").await;
    c.request(b"PUBLISH a one\r\n").await;
    c.request(b"GET k\r\n").await;
    c.send(b"EXEC\r\n").await;
    assert_eq!(
        frames(&mut c, 2).await,
        "*2\r\n:1\r\n$1\r\nv\r\n>3\r\n$7\r\nmessage\r\n$1\r\na\r\n$3\r\none\r\n"
    );
    // HELLO 2 while subscribed: from now on the RESP2 rules apply.
    let hello = c.request(b"HELLO 2\r\n").await;
    assert!(hello.starts_with("*14\r\n"), "{hello}");
    assert!(c
        .request(b"GET k\r\n")
        .await
        .starts_with("-ERR Can't execute 'get'"));
}

#[tokio::test]
async fn subscribe_inside_multi() {
    let srv = TestServer::start().await;
    let mut c = raw(&srv, false).await;
    c.request(b"MULTI\r\n").await;
    assert_eq!(c.request(b"SUBSCRIBE a\r\n").await, "+QUEUED\r\n");
    assert_eq!(c.request(b"SSUBSCRIBE s\r\n").await, "+QUEUED\r\n");
    assert_eq!(
        c.request(b"EXEC\r\n").await,
        "*2\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n-ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client\r\n"
    );
    // The SUBSCRIBE inside EXEC took effect.
    assert!(c
        .request(b"GET x\r\n")
        .await
        .starts_with("-ERR Can't execute"));
}

#[tokio::test]
async fn publish_counts_channel_and_pattern_receivers() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let mut sub = raw(&srv, resp3).await;
        sub.send(
            b"SUBSCRIBE news.tech\r\nPSUBSCRIBE news.* n?ws.t[a-e]ch *\r\nSSUBSCRIBE news.tech\r\n",
        )
        .await;
        frames(&mut sub, 5).await;
        let mut p = srv.connect(resp3).await;
        // One channel subscription, three matching patterns.
        assert_eq!(
            cmd::<i64>(&mut p, &["PUBLISH", "news.tech", "hi"])
                .await
                .unwrap(),
            4
        );
        let h = |n| agg(resp3, n);
        let got = frames(&mut sub, 4).await;
        assert!(
            got.starts_with(&format!(
                "{}$7\r\nmessage\r\n$9\r\nnews.tech\r\n$2\r\nhi\r\n",
                h(3)
            )),
            "{got}"
        );
        for pat in ["news.*", "n?ws.t[a-e]ch", "*"] {
            assert!(
                got.contains(&format!(
                    "{}$8\r\npmessage\r\n${}\r\n{pat}\r\n$9\r\nnews.tech\r\n$2\r\nhi\r\n",
                    h(4),
                    pat.len()
                )),
                "{got}"
            );
        }
        // Shard channels are a namespace of their own, never pattern-matched.
        assert_eq!(
            cmd::<i64>(&mut p, &["SPUBLISH", "news.tech", "s"])
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            sub.read_reply().await.unwrap(),
            format!("{}$8\r\nsmessage\r\n$9\r\nnews.tech\r\n$1\r\ns\r\n", h(3))
        );
        assert_eq!(
            cmd::<i64>(&mut p, &["PUBLISH", "other", "x"])
                .await
                .unwrap(),
            1
        );
        assert!(sub.read_reply().await.unwrap().contains("$1\r\n*\r\n"));
        drop(sub);
        assert!(
            eventually(|| {
                let mut p = p.clone();
                async move { numsub(&mut p, "news.tech").await == 0 }
            })
            .await
        );
    }
}

#[tokio::test]
async fn pattern_escapes_match_literally() {
    let srv = TestServer::start().await;
    let mut sub = raw(&srv, false).await;
    sub.request(b"PSUBSCRIBE a\\*b\r\n").await;
    let mut p = srv.client().await;
    assert_eq!(
        cmd::<i64>(&mut p, &["PUBLISH", "axxb", "m"]).await.unwrap(),
        0
    );
    assert_eq!(
        cmd::<i64>(&mut p, &["PUBLISH", "a*b", "m"]).await.unwrap(),
        1
    );
}

#[tokio::test]
async fn pubsub_introspection() {
    let srv = TestServer::start().await;
    let mut a = raw(&srv, false).await;
    let mut b = raw(&srv, true).await;
    a.send(b"SUBSCRIBE c1 c2\r\nPSUBSCRIBE p*\r\nSSUBSCRIBE s1\r\n")
        .await;
    frames(&mut a, 4).await;
    b.send(b"SUBSCRIBE c1\r\nPSUBSCRIBE p* q*\r\n").await;
    frames(&mut b, 3).await;
    let mut con = srv.client().await;
    let mut chans: Vec<String> = cmd(&mut con, &["PUBSUB", "CHANNELS"]).await.unwrap();
    chans.sort();
    assert_eq!(chans, ["c1", "c2"]);
    let chans: Vec<String> = cmd(&mut con, &["PUBSUB", "CHANNELS", "*2"]).await.unwrap();
    assert_eq!(chans, ["c2"]);
    let v: Vec<Value> = cmd(&mut con, &["PUBSUB", "NUMSUB", "c1", "c2", "nope"])
        .await
        .unwrap();
    assert_eq!(
        v,
        [
            Value::BulkString(b"c1".to_vec()),
            Value::Int(2),
            Value::BulkString(b"c2".to_vec()),
            Value::Int(1),
            Value::BulkString(b"nope".to_vec()),
            Value::Int(0),
        ]
    );
    let v: Vec<Value> = cmd(&mut con, &["PUBSUB", "NUMSUB"]).await.unwrap();
    assert!(v.is_empty());
    assert_eq!(
        cmd::<i64>(&mut con, &["PUBSUB", "NUMPAT"]).await.unwrap(),
        2
    );
    let s: Vec<String> = cmd(&mut con, &["PUBSUB", "SHARDCHANNELS"]).await.unwrap();
    assert_eq!(s, ["s1"]);
    let s: Vec<String> = cmd(&mut con, &["PUBSUB", "SHARDCHANNELS", "x*"])
        .await
        .unwrap();
    assert!(s.is_empty());
    let v: Vec<Value> = cmd(&mut con, &["PUBSUB", "SHARDNUMSUB", "s1", "c1"])
        .await
        .unwrap();
    assert_eq!(v[1], Value::Int(1));
    assert_eq!(v[3], Value::Int(0));
    let e = cmd::<Value>(&mut con, &["PUBSUB", "CHANNELS", "a", "b"])
        .await
        .unwrap_err();
    assert_eq!(
        err_text(&e),
        "ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP."
    );
    let help: Vec<String> = cmd(&mut con, &["PUBSUB", "HELP"]).await.unwrap();
    assert!(help.iter().any(|l| l.starts_with("SHARDNUMSUB")));

    // CLIENT LIST / INFO.
    let list: String = cmd(&mut con, &["CLIENT", "LIST"]).await.unwrap();
    let a_line = list
        .lines()
        .find(|l| l.contains("sub=2 psub=1 ssub=1"))
        .expect("a's line");
    assert!(a_line.contains(" flags=P "), "{a_line}");
    assert!(list.lines().any(|l| l.contains("sub=1 psub=2 ssub=0")));
    let pubsub_only: String = cmd(&mut con, &["CLIENT", "LIST", "TYPE", "pubsub"])
        .await
        .unwrap();
    assert_eq!(pubsub_only.lines().count(), 2);
    let normal: String = cmd(&mut con, &["CLIENT", "LIST", "TYPE", "normal"])
        .await
        .unwrap();
    assert_eq!(normal.lines().count(), 1);
    let info: String = cmd(&mut con, &["INFO", "stats"]).await.unwrap();
    assert_eq!(info_field(&info, "pubsub_channels").as_deref(), Some("2"));
    assert_eq!(info_field(&info, "pubsub_patterns").as_deref(), Some("2"));
    assert_eq!(
        info_field(&info, "pubsubshard_channels").as_deref(),
        Some("1")
    );
    let info: String = cmd(&mut con, &["INFO", "clients"]).await.unwrap();
    assert_eq!(info_field(&info, "pubsub_clients").as_deref(), Some("2"));
    // CLIENT KILL TYPE pubsub drops both subscribers.
    assert_eq!(
        cmd::<i64>(&mut con, &["CLIENT", "KILL", "TYPE", "pubsub"])
            .await
            .unwrap(),
        2
    );
    assert!(a.closed().await);
    assert!(b.closed().await);
    assert!(
        eventually(|| {
            let mut con = con.clone();
            async move {
                cmd::<i64>(&mut con, &["PUBSUB", "NUMPAT"]).await.unwrap() == 0
                    && numsub(&mut con, "c1").await == 0
            }
        })
        .await
    );
}

/// The stock crate's RESP2 PubSub API (sync connection, on a blocking
/// thread), many subscribers on one channel and one pattern.
#[tokio::test]
async fn many_resp2_subscribers_through_the_crate() {
    let srv = TestServer::start().await;
    const N: usize = 24;
    let mut tasks = Vec::new();
    for i in 0..N {
        let url = srv.url(false);
        tasks.push(tokio::task::spawn_blocking(move || {
            let client = redis::Client::open(url).unwrap();
            let mut con = client.get_connection().unwrap();
            let mut ps = con.as_pubsub();
            ps.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            ps.subscribe("jobs").unwrap();
            if i % 2 == 0 {
                ps.psubscribe("jo*").unwrap();
            }
            let mut got = Vec::new();
            let expected = if i % 2 == 0 { 4 } else { 2 };
            while got.len() < expected {
                let m = ps.get_message().unwrap();
                let pattern: Option<String> = m.from_pattern().then(|| m.get_pattern().unwrap());
                got.push((
                    pattern,
                    m.get_channel_name().to_string(),
                    m.get_payload::<String>().unwrap(),
                ));
            }
            got
        }));
    }
    let mut p = srv.client().await;
    assert!(
        eventually(|| {
            let mut p = p.clone();
            async move {
                // NUMPAT counts the pattern once: every subscriber of it
                // shows in CLIENT LIST with psub=1.
                let list: String = cmd(&mut p, &["CLIENT", "LIST"]).await.unwrap();
                numsub(&mut p, "jobs").await == N as i64
                    && cmd::<i64>(&mut p, &["PUBSUB", "NUMPAT"]).await.unwrap() == 1
                    && list.lines().filter(|l| l.contains(" psub=1 ")).count() == N / 2
            }
        })
        .await
    );
    let list: String = cmd(&mut p, &["CLIENT", "LIST", "TYPE", "pubsub"])
        .await
        .unwrap();
    assert_eq!(list.lines().count(), N);
    for payload in ["one", "two"] {
        assert_eq!(
            cmd::<i64>(&mut p, &["PUBLISH", "jobs", payload])
                .await
                .unwrap(),
            (N + N / 2) as i64
        );
    }
    for (i, t) in tasks.into_iter().enumerate() {
        let got = t.await.unwrap();
        let direct: Vec<&str> = got
            .iter()
            .filter(|(p, _, _)| p.is_none())
            .map(|(_, _, m)| m.as_str())
            .collect();
        assert_eq!(direct, ["one", "two"], "subscriber {i}");
        let by_pattern: Vec<(&str, &str)> = got
            .iter()
            .filter_map(|(p, c, _)| p.as_deref().map(|p| (p, c.as_str())))
            .collect();
        if i % 2 == 0 {
            assert_eq!(by_pattern, [("jo*", "jobs"), ("jo*", "jobs")]);
        } else {
            assert!(by_pattern.is_empty());
        }
    }
}

/// RESP3 through the stock crate: pushes reach its push sender while the
/// same connection keeps running ordinary commands.
#[tokio::test]
async fn resp3_pushes_through_the_crate() {
    let srv = TestServer::start().await;
    let client = redis::Client::open(srv.url(true)).unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let config = redis::AsyncConnectionConfig::new().set_push_sender(tx);
    let mut con = client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .unwrap();
    con.subscribe("events").await.unwrap();
    con.psubscribe("ev*").await.unwrap();
    let _: () = cmd(&mut con, &["SET", "k", "1"]).await.unwrap();
    let mut p = srv.client().await;
    assert_eq!(
        cmd::<i64>(&mut p, &["PUBLISH", "events", "hello"])
            .await
            .unwrap(),
        2
    );
    assert_eq!(cmd::<String>(&mut con, &["GET", "k"]).await.unwrap(), "1");
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let push = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("push within 10 s")
            .expect("sender alive");
        match push.kind {
            PushKind::Message | PushKind::PMessage => seen.push((push.kind, push.data)),
            _ => {}
        }
    }
    assert_eq!(
        seen[0],
        (
            PushKind::Message,
            vec![
                Value::BulkString(b"events".to_vec()),
                Value::BulkString(b"hello".to_vec())
            ]
        )
    );
    assert_eq!(
        seen[1],
        (
            PushKind::PMessage,
            vec![
                Value::BulkString(b"ev*".to_vec()),
                Value::BulkString(b"events".to_vec()),
                Value::BulkString(b"hello".to_vec())
            ]
        )
    );
}

/// Messages published while a subscriber's pipeline runs are written
/// between replies, never inside one, and in execution order.
#[tokio::test]
async fn pushes_never_split_pipelined_replies() {
    let srv = TestServer::start().await;
    let mut sub = raw(&srv, true).await;
    sub.request(b"SUBSCRIBE ch\r\n").await;
    let big = "x".repeat(20_000);
    let mut pipeline = Vec::new();
    const REPLIES: usize = 300;
    for i in 0..REPLIES {
        pipeline.extend(resp(&[b"ECHO", format!("{i}:{big}").as_bytes()]));
    }
    const MESSAGES: usize = 300;
    let url = srv.url(false);
    let publisher = tokio::spawn(async move {
        let mut p = redis::Client::open(url)
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        for i in 0..MESSAGES {
            let _: i64 = cmd(&mut p, &["PUBLISH", "ch", &format!("m{i}")])
                .await
                .unwrap();
        }
    });
    sub.send(&pipeline).await;
    publisher.await.unwrap();
    let (mut replies, mut messages) = (0, 0);
    while replies < REPLIES || messages < MESSAGES {
        let frame = sub.read_reply().await.expect("frame");
        if let Some(rest) = frame.strip_prefix(">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n") {
            assert!(rest.ends_with(&format!("m{messages}\r\n")), "{rest}");
            messages += 1;
        } else {
            assert!(
                frame.contains(&format!("{replies}:x")) && frame.ends_with("x\r\n"),
                "reply {replies} damaged: {}",
                &frame[..frame.len().min(60)]
            );
            replies += 1;
        }
    }
}

/// Pushes sit between replies in execution order: a message published
/// before a command ran precedes that command's reply; one published after
/// follows it.
#[tokio::test]
async fn pushes_follow_execution_order() {
    let srv = TestServer::start().await;
    let mut sub = raw(&srv, true).await;
    sub.request(b"SUBSCRIBE ch\r\n").await;
    // Its own publishes, pipelined: each message after its PUBLISH's reply
    // and before the next command's.
    sub.send(b"PUBLISH ch one\r\nPUBLISH ch two\r\nPING\r\n")
        .await;
    assert_eq!(
        frames(&mut sub, 5).await,
        ":1\r\n>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\none\r\n:1\r\n>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\ntwo\r\n+PONG\r\n"
    );
    // Another client publishes while the subscriber is blocked in XREAD,
    // then wakes it: the message comes first, then the XREAD reply, then
    // the reply of the command pipelined behind it.
    sub.send(b"XREAD BLOCK 0 STREAMS s $\r\nGET k\r\n").await;
    let mut p = srv.client().await;
    assert!(
        eventually(|| {
            let mut p = p.clone();
            async move {
                let info: String = cmd(&mut p, &["INFO", "clients"]).await.unwrap();
                info_field(&info, "blocked_clients").as_deref() == Some("1")
            }
        })
        .await
    );
    assert_eq!(
        cmd::<i64>(&mut p, &["PUBLISH", "ch", "early"])
            .await
            .unwrap(),
        1
    );
    let _: String = cmd(&mut p, &["XADD", "s", "1-1", "f", "v"]).await.unwrap();
    let push = sub.read_reply().await.unwrap();
    assert!(
        push.starts_with(">3\r\n") && push.ends_with("early\r\n"),
        "{push}"
    );
    let xread = sub.read_reply().await.unwrap();
    assert!(xread.contains("1-1"), "{xread}");
    assert_eq!(sub.read_reply().await.unwrap(), "_\r\n");
}

#[tokio::test]
async fn disconnect_and_reset_drop_subscriptions() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let mut a = raw(&srv, false).await;
    a.send(b"SUBSCRIBE x y\r\nPSUBSCRIBE z*\r\n").await;
    frames(&mut a, 3).await;
    let mut b = raw(&srv, true).await;
    b.request(b"SUBSCRIBE x\r\n").await;
    assert_eq!(numsub(&mut con, "x").await, 2);
    assert_eq!(b.request(b"RESET\r\n").await, "+RESET\r\n");
    assert_eq!(numsub(&mut con, "x").await, 1);
    // RESET also went back to RESP2 and out of subscribed mode.
    assert_eq!(b.request(b"PING\r\n").await, "+PONG\r\n");
    drop(a);
    assert!(
        eventually(|| {
            let mut con = con.clone();
            async move {
                numsub(&mut con, "x").await == 0
                    && cmd::<i64>(&mut con, &["PUBSUB", "NUMPAT"]).await.unwrap() == 0
            }
        })
        .await
    );
    assert_eq!(
        cmd::<i64>(&mut con, &["PUBLISH", "x", "m"]).await.unwrap(),
        0
    );
}

#[tokio::test]
async fn client_output_buffer_limit_config() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let v: Vec<String> = cmd(&mut con, &["CONFIG", "GET", "client-output-buffer-limit"])
        .await
        .unwrap();
    assert_eq!(
        v[1],
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
    );
    let _: () = cmd(
        &mut con,
        &[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 1mb 2k 5 replica 1 2 3",
        ],
    )
    .await
    .unwrap();
    let v: Vec<String> = cmd(&mut con, &["CONFIG", "GET", "client-output-buffer-limit"])
        .await
        .unwrap();
    assert_eq!(v[1], "normal 0 0 0 slave 1 2 3 pubsub 1048576 2000 5");
    for (value, reason) in [
        (
            "pubsub 1 2",
            "Wrong number of arguments in buffer limit configuration.",
        ),
        (
            "master 1 2 3",
            "Invalid client class specified in buffer limit configuration.",
        ),
        (
            "pubsub x 1 1",
            "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
        ),
        (
            "normal 1 1 1 pubsub 1 1 -1",
            "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
        ),
    ] {
        let e = cmd::<()>(
            &mut con,
            &["CONFIG", "SET", "client-output-buffer-limit", value],
        )
        .await
        .unwrap_err();
        assert_eq!(
            err_text(&e),
            format!("ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - {reason}")
        );
    }
    // A failed SET changed nothing.
    let v: Vec<String> = cmd(&mut con, &["CONFIG", "GET", "client-output-buffer-limit"])
        .await
        .unwrap();
    assert_eq!(v[1], "normal 0 0 0 slave 1 2 3 pubsub 1048576 2000 5");
}

/// A subscriber that reads nothing: a small receive window, one SUBSCRIBE,
/// then silence. Returns its socket and client id.
async fn stalled_subscriber(srv: &TestServer, channel: &str) -> (tokio::net::TcpStream, i64) {
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    let mut stream = sock.connect(srv.addr).await.unwrap();
    stream.write_all(b"CLIENT ID\r\n").await.unwrap();
    stream
        .write_all(&resp(&[b"SUBSCRIBE", channel.as_bytes()]))
        .await
        .unwrap();
    let mut buf = Vec::new();
    let confirmation = format!("${}\r\n{channel}\r\n:1\r\n", channel.len());
    while !String::from_utf8_lossy(&buf).ends_with(&confirmation) {
        let mut chunk = [0u8; 256];
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0);
        buf.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let id = text[1..text.find('\r').unwrap()].parse().unwrap();
    (stream, id)
}

#[tokio::test]
async fn hard_output_limit_drops_a_subscriber_that_stopped_reading() {
    let srv = TestServer::start().await;
    let mut p = srv.client().await;
    let _: () = cmd(
        &mut p,
        &[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 1mb 0 0",
        ],
    )
    .await
    .unwrap();
    let (_stalled, id) = stalled_subscriber(&srv, "firehose").await;
    // A healthy subscriber on the same channel keeps receiving throughout.
    let mut healthy = raw(&srv, false).await;
    healthy.request(b"SUBSCRIBE firehose\r\n").await;
    let payload = "p".repeat(64 * 1024);
    let mut published = 0;
    // At most 64 MB: far past the kernel's socket buffers and the limit.
    loop {
        let receivers: i64 = cmd(&mut p, &["PUBLISH", "firehose", &payload])
            .await
            .unwrap();
        published += 1;
        let frame = healthy.read_reply().await.unwrap();
        assert!(frame.ends_with(&format!("{payload}\r\n")));
        if receivers == 1 {
            break;
        }
        assert_eq!(receivers, 2);
        assert!(published < 1024, "the stalled subscriber was never dropped");
    }
    assert_eq!(numsub(&mut p, "firehose").await, 1);
    let info: String = cmd(&mut p, &["INFO", "stats"]).await.unwrap();
    assert_eq!(
        info_field(&info, "client_output_buffer_limit_disconnections").as_deref(),
        Some("1")
    );
    assert!(
        eventually(|| {
            let mut p = p.clone();
            async move {
                let list: String = cmd(&mut p, &["CLIENT", "LIST"]).await.unwrap();
                !list.contains(&format!("id={id} "))
            }
        })
        .await
    );
    // The server keeps serving, new connections included.
    let mut fresh = srv.client().await;
    assert_eq!(cmd::<String>(&mut fresh, &["PING"]).await.unwrap(), "PONG");
}

#[tokio::test]
async fn soft_output_limit_needs_to_last_its_seconds() {
    let srv = TestServer::with_manual_clock().await;
    let mut p = srv.client().await;
    let _: () = cmd(
        &mut p,
        &[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 0 512kb 10",
        ],
    )
    .await
    .unwrap();
    let (_stalled, id) = stalled_subscriber(&srv, "slow").await;
    let payload = "p".repeat(64 * 1024);
    // 24 MB: far more than the socket buffers take, so the queue ends well
    // over the soft limit; without time passing that is allowed.
    for _ in 0..384 {
        let receivers: i64 = cmd(&mut p, &["PUBLISH", "slow", &payload]).await.unwrap();
        assert_eq!(receivers, 1);
    }
    let list: String = cmd(&mut p, &["CLIENT", "LIST", "ID", &id.to_string()])
        .await
        .unwrap();
    let omem: u64 = list
        .split(' ')
        .find_map(|f| f.strip_prefix("omem="))
        .unwrap()
        .parse()
        .unwrap();
    assert!(omem >= 512 * 1000, "omem={omem}");
    srv.clock.advance(9_000);
    assert_eq!(
        cmd::<i64>(&mut p, &["PUBLISH", "slow", "x"]).await.unwrap(),
        1
    );
    assert_eq!(numsub(&mut p, "slow").await, 1);
    srv.clock.advance(2_000);
    // This publish still reaches it (and finds it over its time), then it is gone.
    assert_eq!(
        cmd::<i64>(&mut p, &["PUBLISH", "slow", "x"]).await.unwrap(),
        1
    );
    assert_eq!(numsub(&mut p, "slow").await, 0);
    assert_eq!(
        cmd::<i64>(&mut p, &["PUBLISH", "slow", "x"]).await.unwrap(),
        0
    );
    let info: String = cmd(&mut p, &["INFO", "stats"]).await.unwrap();
    assert_eq!(
        info_field(&info, "client_output_buffer_limit_disconnections").as_deref(),
        Some("1")
    );
}
