//! EVAL and friends through the stock client: a script's writes, its
//! place in MULTI/EXEC and WATCH, blocking commands called from it, and
//! its writes surviving a restart.

mod common;

use common::{cmd, err_text, TestServer};

#[tokio::test]
async fn eval_runs_commands_and_converts_replies() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let v: Vec<redis::Value> = cmd(
        &mut con,
        &[
            "EVAL",
            "redis.call('set', KEYS[1], ARGV[1]); return {redis.call('get', KEYS[1]), 3.9, true, false, 'x'}",
            "1",
            "k",
            "v",
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        v,
        vec![
            redis::Value::BulkString(b"v".to_vec()),
            redis::Value::Int(3),
            redis::Value::Int(1),
            redis::Value::Nil,
            redis::Value::BulkString(b"x".to_vec()),
        ]
    );
    let e = cmd::<()>(
        &mut con,
        &["EVAL", "return redis.call('incr', KEYS[1])", "1", "k"],
    )
    .await
    .unwrap_err();
    assert_eq!(
        err_text(&e),
        "ERR value is not an integer or out of range script: 3b6b2d0ab1d7cf2e75a6b4e8a9fd5bd50cf4c7bb, on @user_script:1."
            .replace(
                "3b6b2d0ab1d7cf2e75a6b4e8a9fd5bd50cf4c7bb",
                &sluice::scripting::sha1_hex(b"return redis.call('incr', KEYS[1])")
            )
    );
}

#[tokio::test]
async fn evalsha_needs_a_cached_script() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let sha = sluice::scripting::sha1_hex(b"return 7");
    let e = cmd::<i64>(&mut con, &["EVALSHA", &sha, "0"])
        .await
        .unwrap_err();
    assert_eq!(
        err_text(&e),
        "NOSCRIPT No matching script. Please use EVAL."
    );
    let loaded: String = cmd(&mut con, &["SCRIPT", "LOAD", "return 7"])
        .await
        .unwrap();
    assert_eq!(loaded, sha);
    assert_eq!(
        cmd::<i64>(&mut con, &["EVALSHA", &sha, "0"]).await.unwrap(),
        7
    );
    let _: () = cmd(&mut con, &["SCRIPT", "FLUSH"]).await.unwrap();
    let exists: Vec<i64> = cmd(&mut con, &["SCRIPT", "EXISTS", &sha]).await.unwrap();
    assert_eq!(exists, vec![0]);
}

#[tokio::test]
async fn script_writes_trip_watch_and_run_inside_exec() {
    let srv = TestServer::start().await;
    let mut watcher = srv.client().await;
    let mut other = srv.client().await;
    let _: () = cmd(&mut watcher, &["WATCH", "w"]).await.unwrap();
    let _: () = cmd(&mut other, &["EVAL", "redis.call('set', 'w', 1)", "0"])
        .await
        .unwrap();
    let _: () = cmd(&mut watcher, &["MULTI"]).await.unwrap();
    let _: () = cmd(
        &mut watcher,
        &["EVAL", "return redis.call('incr', 'w')", "0"],
    )
    .await
    .unwrap();
    let out: Option<Vec<i64>> = cmd(&mut watcher, &["EXEC"]).await.unwrap();
    assert_eq!(out, None);
    let _: () = cmd(&mut watcher, &["MULTI"]).await.unwrap();
    let _: () = cmd(
        &mut watcher,
        &["EVAL", "return redis.call('incr', 'w')", "0"],
    )
    .await
    .unwrap();
    let out: Option<Vec<i64>> = cmd(&mut watcher, &["EXEC"]).await.unwrap();
    assert_eq!(out, Some(vec![2]));
}

#[tokio::test]
async fn blocking_reads_in_a_script_do_not_block() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let e = cmd::<()>(
        &mut con,
        &[
            "EVAL",
            "return redis.call('xread', 'block', 0, 'streams', 's', '$')",
            "0",
        ],
    )
    .await
    .unwrap_err();
    assert!(
        err_text(&e).starts_with("ERR xread command is not allowed with BLOCK option from scripts")
    );
    // BZPOPMIN answers at once, as its non-blocking form would.
    let v: Option<Vec<redis::Value>> = cmd(
        &mut con,
        &["EVAL", "return redis.call('bzpopmin', 'z', 0)", "0"],
    )
    .await
    .unwrap();
    assert_eq!(v, None);
}

#[tokio::test]
async fn script_wakes_blocked_clients_after_it_ends() {
    let srv = TestServer::start().await;
    let mut blocked = srv.client().await;
    let mut writer = srv.client().await;
    let waiter = tokio::spawn(async move {
        cmd::<Vec<redis::Value>>(&mut blocked, &["BZPOPMIN", "z", "5"]).await
    });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let n: i64 = cmd(
        &mut writer,
        &[
            "EVAL",
            "redis.call('zadd', 'z', 1, 'a'); redis.call('zadd', 'z', 2, 'b'); return 2",
            "0",
        ],
    )
    .await
    .unwrap();
    assert_eq!(n, 2);
    let got = waiter.await.unwrap().unwrap();
    assert_eq!(got[1], redis::Value::BulkString(b"a".to_vec()));
}

#[tokio::test]
async fn read_only_scripts_refuse_writes() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    for (command, body) in [
        ("EVAL_RO", "return redis.call('set', 'k', 'v')"),
        (
            "EVAL",
            "#!lua flags=no-writes\nreturn redis.call('set', 'k', 'v')",
        ),
    ] {
        let e = cmd::<()>(&mut con, &[command, body, "0"])
            .await
            .unwrap_err();
        assert!(
            err_text(&e).starts_with("ERR Write commands are not allowed from read-only scripts."),
            "{}",
            err_text(&e)
        );
    }
    let e = cmd::<()>(&mut con, &["EVAL_RO", "#!lua\nreturn 1", "0"])
        .await
        .unwrap_err();
    assert_eq!(
        err_text(&e),
        "ERR Can not execute a script with write flag using *_ro command."
    );
    let exists: i64 = cmd(&mut con, &["EXISTS", "k"]).await.unwrap();
    assert_eq!(exists, 0);
}

#[tokio::test]
async fn script_writes_survive_a_restart() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let n: i64 = cmd(
        &mut con,
        &[
            "EVAL",
            "for i = 1, 100 do redis.call('set', 'k' .. i, i) end redis.call('zadd', 'z', 5, 'm') return 100",
            "0",
        ],
    )
    .await
    .unwrap();
    assert_eq!(n, 100);
    drop(con);
    let srv = srv.restart().await;
    let mut con = srv.client().await;
    assert_eq!(cmd::<i64>(&mut con, &["DBSIZE"]).await.unwrap(), 101);
    assert_eq!(
        cmd::<String>(&mut con, &["GET", "k77"]).await.unwrap(),
        "77"
    );
}

#[tokio::test]
async fn globals_are_read_only() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    for (body, text) in [
        (
            "x = 1",
            "ERR user_script:1: Attempt to modify a readonly table",
        ),
        (
            "return y",
            "ERR user_script:1: Script attempted to access nonexistent global variable 'y'",
        ),
        (
            "return os.execute('true')",
            "ERR user_script:1: attempt to call field 'execute' (a nil value)",
        ),
    ] {
        let e = cmd::<()>(&mut con, &["EVAL", body, "0"]).await.unwrap_err();
        assert!(err_text(&e).starts_with(text), "{body}: {}", err_text(&e));
    }
    let clock: i64 = cmd(
        &mut con,
        &["EVAL", "return os.clock() >= 0 and 1 or 0", "0"],
    )
    .await
    .unwrap();
    assert_eq!(clock, 1);
}

#[tokio::test]
async fn a_runaway_script_is_busy_and_can_be_killed() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let _: () = cmd(&mut con, &["CONFIG", "SET", "lua-time-limit", "10"])
        .await
        .unwrap();
    let mut runner = srv.client().await;
    let script =
        tokio::spawn(
            async move { cmd::<()>(&mut runner, &["EVAL", "while true do end", "0"]).await },
        );
    let mut busy = None;
    for _ in 0..200 {
        match cmd::<String>(&mut con, &["PING"]).await {
            Err(e) => {
                busy = Some(err_text(&e));
                break;
            }
            Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
        }
    }
    assert_eq!(
        busy.as_deref(),
        Some("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.")
    );
    let _: () = cmd(&mut con, &["SCRIPT", "KILL"]).await.unwrap();
    let killed = script.await.unwrap().unwrap_err();
    assert!(err_text(&killed).starts_with("ERR Script killed by user with SCRIPT KILL..."));
    assert_eq!(cmd::<String>(&mut con, &["PING"]).await.unwrap(), "PONG");
    let e = cmd::<()>(&mut con, &["SCRIPT", "KILL"]).await.unwrap_err();
    assert_eq!(err_text(&e), "NOTBUSY No scripts in execution right now.");
}
