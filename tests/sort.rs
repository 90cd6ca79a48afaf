//! SORT through the stock crate: BY/GET patterns over strings and hash
//! fields, and a STORE result that is an ordinary list, journaled like any
//! write (it survives a restart).

mod common;

use common::{cmd, TestServer};

#[tokio::test]
async fn sort_by_get_and_store_survive_a_restart() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let _: i64 = cmd(&mut con, &["RPUSH", "jobs", "3", "1", "2"])
        .await
        .unwrap();
    let _: () = cmd(
        &mut con,
        &["MSET", "prio_1", "9", "prio_2", "5", "prio_3", "7"],
    )
    .await
    .unwrap();
    for (id, name) in [("1", "one"), ("2", "two"), ("3", "three")] {
        let _: i64 = cmd(&mut con, &["HSET", &format!("job_{id}"), "name", name])
            .await
            .unwrap();
    }
    let by_prio: Vec<String> = cmd(
        &mut con,
        &["SORT", "jobs", "BY", "prio_*", "GET", "job_*->name"],
    )
    .await
    .unwrap();
    assert_eq!(by_prio, ["two", "three", "one"]);
    let stored: i64 = cmd(
        &mut con,
        &["SORT", "jobs", "BY", "prio_*", "DESC", "STORE", "order"],
    )
    .await
    .unwrap();
    assert_eq!(stored, 3);
    drop(con);

    let srv = srv.restart().await;
    let mut con = srv.client().await;
    let order: Vec<String> = cmd(&mut con, &["LRANGE", "order", "0", "-1"])
        .await
        .unwrap();
    assert_eq!(order, ["1", "3", "2"]);
    let kind: String = cmd(&mut con, &["TYPE", "order"]).await.unwrap();
    assert_eq!(kind, "list");
}
