//! One command must not be able to kill the server by asking for a reply
//! of its own choosing. `ZRANDMEMBER key -2147483649` on a one-member set
//! made Sluice (and Redis) allocate until the process aborted; with no
//! memory cap it took the whole machine. The server here runs as its own
//! process under an address-space cap, so a regression fails this test
//! instead of exhausting the machine.

mod common;

use common::process::Server;

const CAP: u64 = 2 << 30;

#[test]
fn a_client_chosen_reply_size_is_bounded_and_the_server_stays_up() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_capped(dir.path(), "everysec", &[], Some(CAP));
    let mut con = server.connect();
    let _: () = redis::cmd("ZADD")
        .arg("z")
        .arg(1)
        .arg("a")
        .query(&mut con)
        .unwrap();

    for count in [
        "-2147483649",
        "-4611686018427387903",
        "-9223372036854775807",
    ] {
        let e = redis::cmd("ZRANDMEMBER")
            .arg("z")
            .arg(count)
            .query::<Vec<String>>(&mut con)
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("over the 536870912 bytes of proto-max-bulk-len"),
            "ZRANDMEMBER z {count}: {e}"
        );
    }
    // WITHSCORES keeps Redis's own range check.
    let e = redis::cmd("ZRANDMEMBER")
        .arg("z")
        .arg("-9223372036854775807")
        .arg("WITHSCORES")
        .query::<Vec<String>>(&mut con)
        .unwrap_err();
    assert!(e.to_string().contains("value is out of range"), "{e}");

    // Ordinary repeated picks still work, and the bound follows the
    // configured limit and the members' size.
    let picked: Vec<String> = redis::cmd("ZRANDMEMBER")
        .arg("z")
        .arg(-1000)
        .query(&mut con)
        .unwrap();
    assert_eq!(picked.len(), 1000);
    assert!(picked.iter().all(|m| m == "a"));
    let _: () = redis::cmd("ZADD")
        .arg("big")
        .arg(1)
        .arg("m".repeat(1000))
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("proto-max-bulk-len")
        .arg("1mb")
        .query(&mut con)
        .unwrap();
    let e = redis::cmd("ZRANDMEMBER")
        .arg("big")
        .arg(-2000)
        .query::<Vec<String>>(&mut con)
        .unwrap_err();
    assert!(e.to_string().contains("proto-max-bulk-len"), "{e}");
    let picked: Vec<String> = redis::cmd("ZRANDMEMBER")
        .arg("big")
        .arg(-500)
        .query(&mut con)
        .unwrap();
    assert_eq!(picked.len(), 500);

    // Strings grown past proto-max-bulk-len are refused as in Redis.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("proto-max-bulk-len")
        .arg("512mb")
        .query(&mut con)
        .unwrap();
    let e = redis::cmd("SETRANGE")
        .arg("s")
        .arg(536870912)
        .arg("x")
        .query::<i64>(&mut con)
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("string exceeds maximum allowed size"),
        "{e}"
    );

    let pong: String = redis::cmd("PING").query(&mut con).unwrap();
    assert_eq!(pong, "PONG");
    drop(con);
    server.shutdown();
}
