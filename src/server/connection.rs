//! One client connection: read, decode every complete request, run each in
//! order, write all replies with one write.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tracing::debug;

use super::{dispatch, AfterLock, ClientHandle, Session, Shared};
use crate::config::FsyncPolicy;
use crate::error::{self, CommandError};
use crate::protocol::{Limits, Reply, RequestDecoder};

/// Read buffer size; it grows for larger requests.
const READ_CHUNK: usize = 16 * 1024;

/// Serves one client until it quits, is killed, errs or the server stops.
pub async fn serve(
    shared: Arc<Shared>,
    mut stream: TcpStream,
    peer: SocketAddr,
    id: u64,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let local = stream.local_addr().unwrap_or(peer);
    let fd = stream.as_raw_fd();
    let handle = Arc::new(ClientHandle::new(
        id,
        peer,
        local,
        fd,
        shared.clock.now_ms(),
    ));
    let (max_clients, needs_auth) = {
        let config = shared.config.read().expect("config lock");
        (config.maxclients, config.requirepass.is_some())
    };
    if !shared.clients.register(handle.clone(), max_clients) {
        shared
            .stats
            .rejected_connections
            .fetch_add(1, Ordering::Relaxed);
        let mut out = BytesMut::new();
        Reply::Error(error::MAX_CLIENTS).encode(&mut out, false);
        let _ = stream.write_all(&out).await;
        return;
    }
    let mut session = Session::new(handle.clone(), needs_auth, peer.ip().is_loopback());
    let mut decoder = RequestDecoder::new();
    let mut rbuf = BytesMut::with_capacity(READ_CHUNK);
    let mut wbuf = BytesMut::with_capacity(READ_CHUNK);

    'conn: loop {
        let max_bulk_len = shared
            .config
            .read()
            .expect("config lock")
            .proto_max_bulk_len;
        let mut closing = false;
        loop {
            let limits = Limits {
                max_bulk_len,
                authenticated: session.authenticated,
            };
            match decoder.decode(&mut rbuf, limits) {
                Ok(Some(words)) => {
                    let skip = std::mem::take(&mut session.skip_next);
                    let mut reply = dispatch::run(&shared, &mut session, words);
                    if let Some(AfterLock::Checkpoint { wait, reload }) = session.after_lock.take()
                    {
                        if wait {
                            if let Err(e) = shared.run_claimed_checkpoint(reload).await {
                                reply = Reply::Error(CommandError::new(e));
                            }
                        } else {
                            let shared = shared.clone();
                            tokio::spawn(
                                async move { shared.run_claimed_checkpoint(reload).await },
                            );
                        }
                    }
                    let suppressed = std::mem::take(&mut session.suppress_current);
                    if !(session.reply_off || skip || suppressed) {
                        reply.encode(&mut wbuf, session.resp3);
                    }
                    if session.shutdown_requested {
                        shared.request_shutdown();
                        closing = true;
                    }
                    if session.close_after_reply || handle.is_killed() {
                        closing = true;
                    }
                    if closing {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    debug!("client {id} protocol error: {e}");
                    shared.stats.count_error(b"ERR");
                    Reply::Error(e.to_command_error()).encode(&mut wbuf, session.resp3);
                    closing = true;
                    break;
                }
            }
        }
        // Replies that acknowledge writes wait until the writes are in the
        // OS (and, under `always`, on disk). If that fails, the client gets
        // no acknowledgement: the connection closes.
        if session.unflushed_lsn > 0 {
            let lsn = std::mem::take(&mut session.unflushed_lsn);
            let journal = &shared.storage.journal;
            let durable = match journal.flush(lsn) {
                Ok(()) if journal.policy() == FsyncPolicy::Always => {
                    journal.wait_durable(lsn).await
                }
                other => other,
            };
            if let Err(e) = durable {
                debug!("client {id}: closing, its writes could not be made durable: {e}");
                break 'conn;
            }
        }
        if !wbuf.is_empty() {
            shared
                .stats
                .total_net_output_bytes
                .fetch_add(wbuf.len() as u64, Ordering::Relaxed);
            if stream.write_all(&wbuf).await.is_err() {
                break 'conn;
            }
            wbuf.clear();
        }
        if closing {
            break;
        }
        if rbuf.capacity() - rbuf.len() < READ_CHUNK / 4 {
            rbuf.reserve(READ_CHUNK);
        }
        tokio::select! {
            read = stream.read_buf(&mut rbuf) => match read {
                Ok(0) | Err(_) => break 'conn,
                Ok(n) => {
                    shared.stats.total_net_input_bytes.fetch_add(n as u64, Ordering::Relaxed);
                }
            },
            _ = handle.kill_signal.notified() => break 'conn,
            _ = shutdown.changed() => break 'conn,
        }
    }
    let _ = stream.shutdown().await;
    {
        let mut keyspace = shared.keyspace.lock().expect("keyspace lock");
        session.unwatch_all(&mut keyspace);
    }
    shared.clients.unregister(id);
}
