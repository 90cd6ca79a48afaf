//! MULTI/EXEC/DISCARD/WATCH through the stock client and raw connections.

mod common;

use common::{cmd, TestServer};

#[tokio::test]
async fn exec_runs_the_queue_atomically_in_both_protocols() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let mut con = srv.connect(resp3).await;
        let (a, b): (i64, String) = redis::pipe()
            .atomic()
            .cmd("SET")
            .arg("n")
            .arg(1)
            .ignore()
            .cmd("INCR")
            .arg("n")
            .cmd("GET")
            .arg("n")
            .query_async(&mut con)
            .await
            .unwrap();
        assert_eq!((a, b.as_str()), (2, "2"));
    }
}

#[tokio::test]
async fn queued_replies_and_errors() {
    let srv = TestServer::start().await;
    let mut raw = srv.raw().await;
    assert_eq!(raw.request(b"MULTI\r\n").await, "+OK\r\n");
    assert_eq!(raw.request(b"SET a x\r\n").await, "+QUEUED\r\n");
    assert_eq!(raw.request(b"INCR a\r\n").await, "+QUEUED\r\n");
    // Options are checked at EXEC, as in Redis: a syntax error is one reply.
    assert_eq!(raw.request(b"SET b 1 NX XX\r\n").await, "+QUEUED\r\n");
    assert_eq!(
        raw.request(b"EXEC\r\n").await,
        "*3\r\n+OK\r\n-ERR value is not an integer or out of range\r\n-ERR syntax error\r\n"
    );
    assert_eq!(raw.request(b"MULTI\r\n").await, "+OK\r\n");
    assert_eq!(raw.request(b"SET c 1\r\n").await, "+QUEUED\r\n");
    assert_eq!(
        raw.request(b"GET\r\n").await,
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
    assert_eq!(
        raw.request(b"EXEC\r\n").await,
        "-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    assert_eq!(raw.request(b"GET c\r\n").await, "$-1\r\n");
    assert_eq!(
        raw.request(b"DISCARD\r\n").await,
        "-ERR DISCARD without MULTI\r\n"
    );
    assert_eq!(
        raw.request(b"EXEC\r\n").await,
        "-ERR EXEC without MULTI\r\n"
    );
}

#[tokio::test]
async fn watch_detects_another_clients_write() {
    let srv = TestServer::start().await;
    let mut watcher = srv.raw().await;
    let mut other = srv.client().await;
    let _: () = cmd(&mut other, &["SET", "w", "1"]).await.unwrap();
    assert_eq!(watcher.request(b"WATCH w\r\n").await, "+OK\r\n");
    let _: () = cmd(&mut other, &["SET", "w", "2"]).await.unwrap();
    watcher.request(b"MULTI\r\n").await;
    watcher.request(b"SET w 3\r\n").await;
    assert_eq!(watcher.request(b"EXEC\r\n").await, "*-1\r\n");
    // RESP3 null, and a clean WATCH succeeds.
    watcher.request(b"HELLO 3\r\n").await;
    watcher.request(b"WATCH w\r\n").await;
    let _: () = cmd(&mut other, &["SET", "w", "4"]).await.unwrap();
    watcher.request(b"MULTI\r\n").await;
    watcher.request(b"PING\r\n").await;
    assert_eq!(watcher.request(b"EXEC\r\n").await, "_\r\n");
    watcher.request(b"WATCH w\r\n").await;
    watcher.request(b"MULTI\r\n").await;
    watcher.request(b"SET w 5\r\n").await;
    assert_eq!(watcher.request(b"EXEC\r\n").await, "*1\r\n+OK\r\n");
    let w: String = cmd(&mut other, &["GET", "w"]).await.unwrap();
    assert_eq!(w, "5");
}

#[tokio::test]
async fn watch_detects_expiry_lazy_and_active() {
    let srv = TestServer::with_manual_clock().await;
    let mut watcher = srv.raw().await;
    watcher.request(b"SET e 1 PX 1000\r\n").await;
    watcher.request(b"WATCH e\r\n").await;
    srv.clock.advance(1001);
    watcher.request(b"MULTI\r\n").await;
    watcher.request(b"PING\r\n").await;
    assert_eq!(watcher.request(b"EXEC\r\n").await, "*-1\r\n");

    // The same when the active sweep deleted the key before EXEC.
    watcher.request(b"SET e 1 PX 1000\r\n").await;
    watcher.request(b"WATCH e\r\n").await;
    srv.clock.advance(1001);
    for _ in 0..150 {
        if srv.shared.keyspace.lock().unwrap().dbs()[0].is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        srv.shared.keyspace.lock().unwrap().dbs()[0].is_empty(),
        "sweep ran"
    );
    watcher.request(b"MULTI\r\n").await;
    watcher.request(b"PING\r\n").await;
    assert_eq!(watcher.request(b"EXEC\r\n").await, "*-1\r\n");
}

#[tokio::test]
async fn flush_and_swapdb_touch_watched_keys() {
    let srv = TestServer::start().await;
    let mut watcher = srv.raw().await;
    let mut other = srv.client().await;
    for flush in [&["FLUSHDB"][..], &["FLUSHALL"], &["SWAPDB", "0", "1"]] {
        let _: () = cmd(&mut other, &["SET", "w", "1"]).await.unwrap();
        watcher.request(b"WATCH w\r\n").await;
        let _: () = cmd(&mut other, flush).await.unwrap();
        watcher.request(b"MULTI\r\n").await;
        watcher.request(b"PING\r\n").await;
        assert_eq!(watcher.request(b"EXEC\r\n").await, "*-1\r\n", "{flush:?}");
        let _: () = cmd(&mut other, &["FLUSHALL"]).await.unwrap();
    }
}

#[tokio::test]
async fn unwatch_discard_and_disconnect_clear_watches() {
    let srv = TestServer::start().await;
    let mut other = srv.client().await;
    let mut watcher = srv.raw().await;
    watcher.request(b"WATCH w\r\n").await;
    watcher.request(b"UNWATCH\r\n").await;
    let _: () = cmd(&mut other, &["SET", "w", "1"]).await.unwrap();
    watcher.request(b"MULTI\r\n").await;
    watcher.request(b"PING\r\n").await;
    assert_eq!(watcher.request(b"EXEC\r\n").await, "*1\r\n+PONG\r\n");
    // A watcher that disconnects leaves nothing behind.
    let mut gone = srv.raw().await;
    gone.request(b"WATCH w\r\n").await;
    drop(gone);
    for _ in 0..100 {
        if srv.shared.clients.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(srv.shared.clients.len(), 2);
}
