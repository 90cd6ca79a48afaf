//! Keyspace notifications through the stock crate: events of the active
//! expiry sweep (no client touches the key), of a MULTI/EXEC block (in
//! command order), and of MOVE across databases; `notify-keyspace-events`
//! from the configuration at start.

mod common;

use std::time::Duration;

use common::{cmd, test_config, TestServer};
use redis::{PushKind, Value};
use sluice::clock::Clock;

/// A RESP3 connection subscribed to every keyevent channel, and the
/// receiver of its pushes.
async fn listen(
    srv: &TestServer,
) -> (
    redis::aio::MultiplexedConnection,
    tokio::sync::mpsc::UnboundedReceiver<redis::PushInfo>,
) {
    let client = redis::Client::open(srv.url(true)).unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let config = redis::AsyncConnectionConfig::new().set_push_sender(tx);
    let mut con = client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .unwrap();
    con.psubscribe("__keyevent@*").await.unwrap();
    (con, rx)
}

/// The next `n` keyevent pushes as `event(key)`.
async fn next_events(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<redis::PushInfo>,
    n: usize,
) -> Vec<String> {
    let mut out = Vec::new();
    while out.len() < n {
        let push = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("an event within 10 s")
            .expect("sender alive");
        if push.kind != PushKind::PMessage {
            continue;
        }
        let text = |v: &Value| match v {
            Value::BulkString(b) => String::from_utf8(b.clone()).unwrap(),
            other => panic!("{other:?}"),
        };
        let channel = text(&push.data[1]);
        let event = channel.split_once(':').unwrap().1.to_string();
        out.push(format!("{event}({})", text(&push.data[2])));
    }
    out
}

#[tokio::test]
async fn active_expiry_multi_and_move_raise_events_in_order() {
    let mut config = test_config();
    config.notify_keyspace_events = sluice::keyspace::notify::parse("Eg$x").unwrap();
    let srv = TestServer::start_with(config, Clock::system()).await;
    let (_sub, mut rx) = listen(&srv).await;
    let mut con = srv.client().await;

    // Nobody reads the key: the sweep deletes it and says so.
    let _: () = cmd(&mut con, &["SET", "short", "v", "PX", "30"])
        .await
        .unwrap();
    assert_eq!(
        next_events(&mut rx, 2).await,
        ["set(short)", "expire(short)"]
    );
    assert_eq!(next_events(&mut rx, 1).await, ["expired(short)"]);

    // A transaction's events come in command order.
    let mut pipe = redis::pipe();
    pipe.atomic()
        .cmd("SET")
        .arg("a")
        .arg("1")
        .cmd("INCR")
        .arg("n")
        .cmd("DEL")
        .arg("a");
    let _: Value = pipe.query_async(&mut con).await.unwrap();
    assert_eq!(
        next_events(&mut rx, 3).await,
        ["set(a)", "incrby(n)", "del(a)"]
    );

    // MOVE from database 1 to 0: the source's event first.
    let _: () = cmd(&mut con, &["SELECT", "1"]).await.unwrap();
    let _: () = cmd(&mut con, &["SET", "m", "v"]).await.unwrap();
    let moved: i64 = cmd(&mut con, &["MOVE", "m", "0"]).await.unwrap();
    assert_eq!(moved, 1);
    assert_eq!(
        next_events(&mut rx, 3).await,
        ["set(m)", "move_from(m)", "move_to(m)"]
    );
}
