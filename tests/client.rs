//! CLIENT subcommands through the stock client and raw connections.

mod common;

use common::{cmd, err_text, TestServer};

#[tokio::test]
async fn id_names_and_info() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let mut con = srv.connect(resp3).await;
        let id: i64 = cmd(&mut con, &["CLIENT", "ID"]).await.unwrap();
        assert!(id > 0);
        let name: Option<String> = cmd(&mut con, &["CLIENT", "GETNAME"]).await.unwrap();
        assert_eq!(name, None);
        let ok: String = cmd(&mut con, &["CLIENT", "SETNAME", "worker-1"])
            .await
            .unwrap();
        assert_eq!(ok, "OK");
        let name: Option<String> = cmd(&mut con, &["CLIENT", "GETNAME"]).await.unwrap();
        assert_eq!(name.as_deref(), Some("worker-1"));
        let e = cmd::<String>(&mut con, &["CLIENT", "SETNAME", "a b"])
            .await
            .unwrap_err();
        assert_eq!(
            err_text(&e),
            "ERR Client names cannot contain spaces, newlines or special characters."
        );
        let _: String = cmd(&mut con, &["CLIENT", "SETINFO", "LIB-NAME", "mylib"])
            .await
            .unwrap();
        let info: String = cmd(&mut con, &["CLIENT", "INFO"]).await.unwrap();
        assert!(info.starts_with(&format!("id={id} ")), "{info}");
        assert!(info.contains(" name=worker-1 "), "{info}");
        assert!(info.contains(" lib-name=mylib "), "{info}");
        assert!(info.contains(" cmd=client|info "), "{info}");
        assert!(
            info.contains(&format!(" resp={} ", if resp3 { 3 } else { 2 })),
            "{info}"
        );
        let ok: String = cmd(&mut con, &["CLIENT", "SETNAME", ""]).await.unwrap();
        assert_eq!(ok, "OK");
        let name: Option<String> = cmd(&mut con, &["CLIENT", "GETNAME"]).await.unwrap();
        assert_eq!(name, None);
    }
}

#[tokio::test]
async fn list_filters_and_errors() {
    let srv = TestServer::start().await;
    let mut a = srv.client().await;
    let mut b = srv.client().await;
    let id_a: i64 = cmd(&mut a, &["CLIENT", "ID"]).await.unwrap();
    let id_b: i64 = cmd(&mut b, &["CLIENT", "ID"]).await.unwrap();
    let list: String = cmd(&mut a, &["CLIENT", "LIST"]).await.unwrap();
    assert_eq!(list.lines().count(), 2, "{list}");
    let only_b: String = cmd(&mut a, &["CLIENT", "LIST", "ID", &id_b.to_string()])
        .await
        .unwrap();
    assert!(
        only_b.starts_with(&format!("id={id_b} ")) && only_b.lines().count() == 1,
        "{only_b}"
    );
    let none: String = cmd(&mut a, &["CLIENT", "LIST", "ID", "999999"])
        .await
        .unwrap();
    assert_eq!(none, "");
    let e = cmd::<String>(&mut a, &["CLIENT", "LIST", "ID", "abc"])
        .await
        .unwrap_err();
    assert_eq!(err_text(&e), "ERR Invalid client ID");
    let e = cmd::<String>(&mut a, &["CLIENT", "LIST", "TYPE", "foo"])
        .await
        .unwrap_err();
    assert_eq!(err_text(&e), "ERR Unknown client type 'foo'");
    let normal: String = cmd(&mut a, &["CLIENT", "LIST", "TYPE", "normal"])
        .await
        .unwrap();
    assert!(normal.contains(&format!("id={id_a} ")));
    let e = cmd::<String>(&mut a, &["CLIENT", "NOPE"])
        .await
        .unwrap_err();
    assert_eq!(
        err_text(&e),
        "ERR unknown subcommand 'NOPE'. Try CLIENT HELP."
    );
    let e = cmd::<String>(&mut a, &["CLIENT", "KILL"])
        .await
        .unwrap_err();
    assert_eq!(
        err_text(&e),
        "ERR wrong number of arguments for 'client|kill' command"
    );
}

#[tokio::test]
async fn kill_by_id_addr_and_self() {
    let srv = TestServer::start().await;
    let mut admin = srv.client().await;
    let mut victim = srv.raw().await;
    let victim_id = victim.request(b"CLIENT ID\r\n").await;
    let victim_id = victim_id.trim_start_matches(':').trim_end().to_string();
    let killed: i64 = cmd(&mut admin, &["CLIENT", "KILL", "ID", &victim_id])
        .await
        .unwrap();
    assert_eq!(killed, 1);
    assert!(victim.closed().await);
    let e = cmd::<String>(&mut admin, &["CLIENT", "KILL", "ID", "0"])
        .await
        .unwrap_err();
    assert_eq!(err_text(&e), "ERR client-id should be greater than 0");
    let e = cmd::<String>(&mut admin, &["CLIENT", "KILL", "1.2.3.4:5"])
        .await
        .unwrap_err();
    assert_eq!(err_text(&e), "ERR No such client");

    // Old form, by address.
    let mut victim = srv.raw().await;
    let info = victim.request(b"CLIENT INFO\r\n").await;
    let addr = info
        .split(' ')
        .find_map(|f| f.strip_prefix("addr="))
        .unwrap()
        .to_string();
    let ok: String = cmd(&mut admin, &["CLIENT", "KILL", &addr]).await.unwrap();
    assert_eq!(ok, "OK");
    assert!(victim.closed().await);

    // SKIPME defaults to yes; with SKIPME no a client may kill itself, and
    // still gets its reply first.
    let mut me = srv.raw().await;
    let n = me.request(b"CLIENT KILL TYPE normal SKIPME no\r\n").await;
    assert!(n.starts_with(':'), "{n}");
    assert!(me.closed().await);
}

#[tokio::test]
async fn reply_off_skip_on() {
    let srv = TestServer::start().await;
    let mut raw = srv.raw().await;
    raw.send(b"CLIENT REPLY OFF\r\nPING a\r\nCLIENT REPLY SKIP\r\nPING b\r\nCLIENT REPLY ON\r\nPING c\r\n")
        .await;
    // Only the ON reply and the last PING come back.
    assert_eq!(raw.read_reply().await.unwrap(), "+OK\r\n");
    assert_eq!(raw.read_reply().await.unwrap(), "$1\r\nc\r\n");
    raw.send(b"CLIENT REPLY SKIP\r\nPING d\r\nPING e\r\n").await;
    assert_eq!(raw.read_reply().await.unwrap(), "$1\r\ne\r\n");
    assert_eq!(
        raw.request(b"CLIENT REPLY MAYBE\r\n").await,
        "-ERR syntax error\r\n"
    );
}

#[tokio::test]
async fn maxclients_refuses_the_extra_connection() {
    let mut config = common::test_config();
    config.maxclients = 2;
    let srv = TestServer::start_with(config, sluice::clock::Clock::system()).await;
    let mut a = srv.raw().await;
    let mut b = srv.raw().await;
    assert_eq!(a.request(b"PING\r\n").await, "+PONG\r\n");
    assert_eq!(b.request(b"PING\r\n").await, "+PONG\r\n");
    let mut c = srv.raw().await;
    assert_eq!(
        c.read_reply().await.unwrap(),
        "-ERR max number of clients reached\r\n"
    );
    assert!(c.closed().await);
}
