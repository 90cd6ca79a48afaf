//! One server per data directory: a second `sluice-server` on a directory
//! in use refuses to start, naming the process that holds it, and the
//! directory is free again once that process is gone (even by kill -9).
//! Before the lock, two servers on one directory ran side by side and
//! acknowledged writes vanished after both stopped.

mod common;

use common::process::Server;
use redis::Commands;

#[test]
fn a_second_server_on_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let first = Server::start(dir.path(), "always", &[]);
    let mut con = first.connect();
    for i in 0..100 {
        let _: () = con.set(format!("k{i}"), i).unwrap();
    }

    let (status, text) = Server::start_refused(dir.path(), &[]);
    assert!(!status.success(), "second server exited {status}: {text}");
    assert!(
        text.contains("in use by another Sluice server")
            && text.contains(&format!("pid {}", first.pid())),
        "refusal does not name the holder: {text}"
    );
    assert!(
        !text.contains("can't listen"),
        "a locked directory is not a listening problem: {text}"
    );

    // The first server is untouched by the attempt.
    let n: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(n, 100);
    let _: () = con.set("after", 1).unwrap();
    drop(con);

    // kill -9 leaves no lock behind: the kernel drops it with the process.
    first.kill();
    let second = Server::start(dir.path(), "always", &[]);
    let mut con = second.connect();
    let n: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(n, 101);
    second.shutdown();
}

/// A directory that cannot be loaded says so: the log line used to read
/// "can't listen: can't load the data directory", blaming the network.
#[test]
fn a_directory_that_cannot_be_loaded_is_not_a_listening_error() {
    let dir = tempfile::tempdir().unwrap();
    Server::start(dir.path(), "everysec", &[]).shutdown();
    std::fs::write(dir.path().join("journal").join("stray.txt"), b"x").unwrap();
    let (status, text) = Server::start_refused(dir.path(), &[]);
    assert!(!status.success());
    assert!(text.contains("can't load the data directory"), "{text}");
    assert!(text.contains("stray.txt"), "{text}");
    assert!(!text.contains("can't listen"), "{text}");
}
