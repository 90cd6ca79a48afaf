//! A minimal pipelining RESP2 client: queue commands, send them with one
//! write, read the replies in order. The load generator uses it instead of a
//! full client library so the client side costs as little as possible and
//! does the same work against both servers.

use std::io;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One RESP2 reply (RESP3-only types are not needed: we never send HELLO).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+OK`
    Status(String),
    /// `-ERR ...`
    Error(String),
    /// `:42`
    Int(i64),
    /// `$n` bulk, `None` for `$-1`.
    Bulk(Option<Vec<u8>>),
    /// `*n` array, `None` for `*-1`.
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// The elements of an array reply (empty for a null array).
    pub fn items(&self) -> &[Reply] {
        match self {
            Reply::Array(Some(v)) => v,
            _ => &[],
        }
    }

    /// The bytes of a bulk or status reply.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Reply::Bulk(Some(b)) => Some(b),
            Reply::Status(s) => Some(s.as_bytes()),
            _ => None,
        }
    }
}

/// Errors the workloads tell apart: the server refused a command (the
/// workload is unsupported there) or something else went wrong.
#[derive(Debug)]
pub enum ClientError {
    /// The server answered with an error reply.
    Server(String),
    /// I/O, protocol or timeout trouble.
    Other(String),
}

impl From<io::Error> for ClientError {
    fn from(e: io::Error) -> Self {
        ClientError::Other(format!("I/O: {e}"))
    }
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Server(e) => write!(f, "server error: {e}"),
            ClientError::Other(e) => write!(f, "{e}"),
        }
    }
}

/// One connection.
pub struct Conn {
    stream: TcpStream,
    wbuf: Vec<u8>,
    rbuf: BytesMut,
}

impl Conn {
    /// Connects to 127.0.0.1:`port`.
    pub async fn connect(port: u16) -> io::Result<Conn> {
        let stream = TcpStream::connect(("127.0.0.1", port)).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            wbuf: Vec::with_capacity(16 * 1024),
            rbuf: BytesMut::with_capacity(64 * 1024),
        })
    }

    /// Queues one command (sent by the next [`Conn::flush`]).
    pub fn push(&mut self, args: &[&[u8]]) {
        let w = &mut self.wbuf;
        w.push(b'*');
        w.extend_from_slice(args.len().to_string().as_bytes());
        w.extend_from_slice(b"\r\n");
        for a in args {
            w.push(b'$');
            w.extend_from_slice(a.len().to_string().as_bytes());
            w.extend_from_slice(b"\r\n");
            w.extend_from_slice(a);
            w.extend_from_slice(b"\r\n");
        }
    }

    /// Sends every queued command.
    pub async fn flush(&mut self) -> io::Result<()> {
        self.stream.write_all(&self.wbuf).await?;
        self.wbuf.clear();
        Ok(())
    }

    /// Reads the next reply.
    pub async fn read(&mut self) -> Result<Reply, ClientError> {
        loop {
            match parse(&self.rbuf) {
                Ok(Some((reply, used))) => {
                    self.rbuf.advance(used);
                    return Ok(reply);
                }
                Ok(None) => {}
                Err(e) => return Err(ClientError::Other(format!("bad reply: {e}"))),
            }
            self.rbuf.reserve(16 * 1024);
            if self.stream.read_buf(&mut self.rbuf).await? == 0 {
                return Err(ClientError::Other("server closed the connection".into()));
            }
        }
    }

    /// Reads the next reply and turns an error reply into `Err`.
    pub async fn read_ok(&mut self) -> Result<Reply, ClientError> {
        match self.read().await? {
            Reply::Error(e) => Err(ClientError::Server(e)),
            r => Ok(r),
        }
    }

    /// Sends one command and reads its reply (error replies become `Err`).
    pub async fn call(&mut self, args: &[&[u8]]) -> Result<Reply, ClientError> {
        self.push(args);
        self.flush().await?;
        self.read_ok().await
    }

    /// [`Conn::call`] with a time limit.
    pub async fn call_within(
        &mut self,
        limit: Duration,
        args: &[&[u8]],
    ) -> Result<Reply, ClientError> {
        match tokio::time::timeout(limit, self.call(args)).await {
            Ok(r) => r,
            Err(_) => Err(ClientError::Other(format!(
                "no reply to {} within {limit:?}",
                String::from_utf8_lossy(args[0])
            ))),
        }
    }
}

/// Parses one reply from the front of `buf`: `Ok(None)` if incomplete.
fn parse(buf: &[u8]) -> Result<Option<(Reply, usize)>, String> {
    let Some(nl) = buf.windows(2).position(|w| w == b"\r\n") else {
        return Ok(None);
    };
    if nl == 0 {
        return Err("empty line".into());
    }
    let line = &buf[1..nl];
    let after = nl + 2;
    let text = || String::from_utf8_lossy(line).into_owned();
    let int = || -> Result<i64, String> {
        std::str::from_utf8(line)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad integer {:?}", String::from_utf8_lossy(line)))
    };
    Ok(Some(match buf[0] {
        b'+' => (Reply::Status(text()), after),
        b'-' => (Reply::Error(text().trim_end().to_string()), after),
        b':' => (Reply::Int(int()?), after),
        b'$' => {
            let n = int()?;
            if n < 0 {
                (Reply::Bulk(None), after)
            } else {
                let end = after + n as usize;
                if buf.len() < end + 2 {
                    return Ok(None);
                }
                (Reply::Bulk(Some(buf[after..end].to_vec())), end + 2)
            }
        }
        b'*' => {
            let n = int()?;
            if n < 0 {
                (Reply::Array(None), after)
            } else {
                let mut items = Vec::with_capacity(n as usize);
                let mut pos = after;
                for _ in 0..n {
                    match parse(&buf[pos..])? {
                        Some((r, used)) => {
                            items.push(r);
                            pos += used;
                        }
                        None => return Ok(None),
                    }
                }
                (Reply::Array(Some(items)), pos)
            }
        }
        other => return Err(format!("unexpected reply type byte {other:#x}")),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_and_partial() {
        let full = b"*2\r\n$3\r\nabc\r\n*1\r\n:7\r\n+OK\r\n";
        let (r, used) = parse(full).unwrap().unwrap();
        assert_eq!(
            r,
            Reply::Array(Some(vec![
                Reply::Bulk(Some(b"abc".to_vec())),
                Reply::Array(Some(vec![Reply::Int(7)])),
            ]))
        );
        assert_eq!(used, full.len() - 5);
        for cut in 0..used {
            assert!(parse(&full[..cut]).unwrap().is_none(), "cut at {cut}");
        }
        assert_eq!(parse(b"$-1\r\n").unwrap().unwrap().0, Reply::Bulk(None));
        assert_eq!(
            parse(b"-ERR x\r\n").unwrap().unwrap().0,
            Reply::Error("ERR x".into())
        );
    }
}
