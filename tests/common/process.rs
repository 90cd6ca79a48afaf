//! A real `sluice-server` binary as a child process, for the crash tests:
//! start it, connect, SIGKILL it or SHUTDOWN it, read its log.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_sluice-server");

/// A running server and what it printed.
pub struct Server {
    child: Child,
    /// The port it announced.
    pub port: u16,
    /// Its log lines so far.
    pub output: Arc<Mutex<Vec<String>>>,
}

/// Copies every line of `from` into `into`, on a thread, until EOF.
fn drain(from: impl Read + Send + 'static, into: Arc<Mutex<Vec<String>>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines().map_while(Result::ok) {
            into.lock().unwrap().push(line);
        }
    });
}

impl Server {
    /// Starts the binary on `dir` with `--appendfsync policy` and `extra`
    /// flags, and waits until it is ready (recovery is done by then).
    pub fn start(dir: &Path, policy: &str, extra: &[&str]) -> Server {
        Self::start_capped(dir, policy, extra, None)
    }

    /// Like [`Server::start`], with the address space capped at
    /// `memory_cap` bytes (RLIMIT_AS): a test that could make the server
    /// allocate without bound must not take the shared machine with it.
    pub fn start_capped(
        dir: &Path,
        policy: &str,
        extra: &[&str],
        memory_cap: Option<u64>,
    ) -> Server {
        let mut command = Command::new(BIN);
        command
            .args(["--port", "0", "--appendfsync", policy, "--dir"])
            .arg(dir)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(cap) = memory_cap {
            use std::os::unix::process::CommandExt;
            // SAFETY: setrlimit is async-signal-safe and touches nothing
            // of the parent's; it runs in the child between fork and exec.
            unsafe {
                command.pre_exec(move || {
                    let limit = libc::rlimit {
                        rlim_cur: cap,
                        rlim_max: cap,
                    };
                    if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let child = command.spawn().unwrap();
        // From here on, Drop reaps the child whatever happens.
        let mut server = Server {
            child,
            port: 0,
            output: Arc::new(Mutex::new(Vec::new())),
        };
        drain(server.child.stderr.take().unwrap(), server.output.clone());
        let mut stdout = BufReader::new(server.child.stdout.take().unwrap());
        let mut line = String::new();
        loop {
            line.clear();
            if stdout.read_line(&mut line).unwrap() == 0 {
                let status = server.child.wait().unwrap();
                std::thread::sleep(Duration::from_millis(100)); // let stderr drain
                panic!(
                    "server exited ({status}) before it was ready:\n{}",
                    server.log()
                );
            }
            let text = line.trim_end().to_string();
            server.output.lock().unwrap().push(text.clone());
            if text.contains("Ready to accept connections") {
                server.port = text.rsplit(':').next().unwrap().trim().parse().unwrap();
                drain(stdout, server.output.clone());
                return server;
            }
        }
    }

    /// Runs the binary on `dir` with `extra` flags, expecting it to refuse
    /// to start: returns its exit status and everything it printed.
    pub fn start_refused(dir: &Path, extra: &[&str]) -> (std::process::ExitStatus, String) {
        let mut child = Command::new(BIN)
            .args(["--port", "0", "--dir"])
            .arg(dir)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the server started (or hung) where it should have refused");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status, text)
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn connect(&self) -> redis::Connection {
        connect(&self.url())
    }

    /// SIGKILL, and reap it.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SHUTDOWN, and wait for a clean exit.
    pub fn shutdown(mut self) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(b"SHUTDOWN\r\n").unwrap();
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "SHUTDOWN exit status {status}; reply {:?}; log {:?}",
                    String::from_utf8_lossy(&rest),
                    self.output.lock().unwrap()
                );
                return;
            }
            assert!(Instant::now() < deadline, "server did not stop on SHUTDOWN");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server's log lines so far, for failure messages.
    pub fn log(&self) -> String {
        self.output.lock().unwrap().join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A failed assertion must not leave a server behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A blocking connection with 20 s timeouts.
pub fn connect(url: &str) -> redis::Connection {
    let client = redis::Client::open(url).unwrap();
    let con = client
        .get_connection_with_timeout(Duration::from_secs(20))
        .unwrap();
    con.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    con.set_write_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    con
}

/// The crash RNG seed: `CRASH_SEED` or the clock.
pub fn seed() -> u64 {
    match std::env::var("CRASH_SEED") {
        Ok(s) => s.parse().expect("CRASH_SEED must be an integer"),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    }
}

/// The "recovered …" part of the server's start-up log.
pub fn recovery_line(server: &Server) -> String {
    let output = server.output.lock().unwrap();
    let line = output.iter().find(|l| l.contains("recovered"));
    match line.and_then(|l| l.find("recovered").map(|i| &l[i..])) {
        Some(text) => text.to_string(),
        None => "(no recovery line)".into(),
    }
}

/// Whether a client error means the server went away (killed).
pub fn is_connection_loss(e: &redis::RedisError) -> bool {
    e.is_io_error() || e.is_connection_dropped() || e.is_unrecoverable_error()
}
