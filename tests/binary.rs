//! The `sluice-server` binary itself: version, configuration file and
//! flags, Redis options it ignores, graceful stop on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_sluice-server");

/// A started server; the data directory lives as long as it does.
struct Started {
    child: Child,
    port: u16,
    lines: Vec<String>,
    /// Log lines printed after start-up, read on a thread.
    later: mpsc::Receiver<String>,
    _dir: tempfile::TempDir,
}

/// Starts the binary with `args` and returns it with its port and the log
/// lines printed before it was ready.
fn start(args: &[&str]) -> Started {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(args)
        .args(["--port", "0", "--dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in stdout.by_ref() {
        let line = line.unwrap();
        lines.push(line.clone());
        if line.contains("Ready to accept connections") {
            let port = line.rsplit(':').next().unwrap().trim().parse().unwrap();
            let (tx, later) = mpsc::channel();
            std::thread::spawn(move || {
                for line in stdout.map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            return Started {
                child,
                port,
                lines,
                later,
                _dir: dir,
            };
        }
    }
    let _ = child.wait();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    panic!("server exited before it was ready: {lines:?} {err}");
}

fn request(port: u16, req: &[u8]) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(req).unwrap();
    let mut buf = vec![0; 4096];
    let n = s.read(&mut buf).unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn stop(mut child: Child) -> std::process::ExitStatus {
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn version_line_looks_like_redis_servers() {
    let out = Command::new(BIN).arg("--version").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success());
    assert!(
        text.contains(&format!(" v={} ", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
}

#[test]
fn config_file_then_flags_and_sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("sluice.conf");
    std::fs::write(
        &conf,
        "# a redis.conf-style file\nmaxclients 123\nappendfsync always\nsave \"\"\ndaemonize no\ndatabases 4\n",
    )
    .unwrap();
    let Started {
        child,
        port,
        lines,
        _dir,
        ..
    } = start(&[conf.to_str().unwrap(), "--databases", "8"]);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("'save ") && l.contains("ignored")),
        "{lines:?}"
    );
    let reply = request(port, b"CONFIG GET maxclients\r\n");
    assert!(reply.contains("123"), "{reply}");
    let reply = request(port, b"CONFIG GET appendfsync\r\n");
    assert!(reply.contains("always"), "{reply}");
    // The flag overrides the file.
    assert_eq!(request(port, b"SELECT 7\r\n"), "+OK\r\n");
    assert_eq!(
        request(port, b"SELECT 8\r\n"),
        "-ERR DB index is out of range\r\n"
    );
    assert!(stop(child).success());
}

#[test]
fn redis_only_flags_are_accepted_with_a_warning() {
    let Started {
        child,
        port,
        lines,
        _dir,
        ..
    } = start(&[
        "--save",
        "",
        "--logfile",
        "",
        "--daemonize",
        "no",
        "--appendonly",
        "yes",
        "--enable-debug-command",
        "yes",
    ]);
    let warned = lines.iter().filter(|l| l.contains("ignored")).count();
    assert_eq!(warned, 4, "{lines:?}");
    assert_eq!(request(port, b"PING\r\n"), "+PONG\r\n");
    assert!(stop(child).success());
}

#[test]
fn bad_configuration_is_refused() {
    let out = Command::new(BIN)
        .args(["--appendfsync", "sometimes", "--port", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("appendfsync"), "{err}");
    for threads in ["0", "129", "two"] {
        let out = Command::new(BIN)
            .args(["--io-threads", threads, "--port", "0"])
            .output()
            .unwrap();
        assert!(!out.status.success(), "io-threads {threads}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("'io-threads'"), "{err}");
    }
}

#[test]
fn config_set_loglevel_changes_the_live_log() {
    let started = start(&["--loglevel", "notice"]);
    let port = started.port;
    // A protocol error is logged at debug level only.
    request(port, b"*x\r\n");
    assert_eq!(request(port, b"CONFIG SET loglevel debug\r\n"), "+OK\r\n");
    request(port, b"*1\r\n:4\r\n");
    let mut seen = Vec::new();
    while let Ok(line) = started.later.recv_timeout(Duration::from_secs(10)) {
        if line.contains("protocol error") {
            seen.push(line);
            break;
        }
    }
    assert_eq!(
        seen.len(),
        1,
        "a debug line after CONFIG SET loglevel debug"
    );
    // The first error, sent at notice level, was not logged.
    assert!(seen[0].contains("expected '$'"), "{seen:?}");
    assert!(stop(started.child).success());
}
