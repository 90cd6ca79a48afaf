//! One client connection: read, decode every complete request, run each in
//! order, write all replies with one write.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tracing::{debug, warn};

use super::{blocking, dispatch, AfterLock, ClientHandle, Session, Shared};
use crate::config::FsyncPolicy;
use crate::error::{self, CommandError};
use crate::protocol::{Limits, Reply, RequestDecoder};

/// Read buffer size; it grows for larger requests.
const READ_CHUNK: usize = 16 * 1024;
/// A buffer that a large request or reply grew past this is given back
/// once the connection is idle (see [`shrink_idle`]).
const SHRINK_ABOVE: usize = 64 * 1024;

/// What a client connection runs over: a TCP stream, or TLS on one.
pub trait Transport: AsyncRead + AsyncWrite + Unpin + Send {
    /// The TCP stream underneath (addresses, file descriptor, options).
    fn tcp(&self) -> &TcpStream;
}

impl Transport for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

/// Serves one client until it quits, is killed, errs or the server stops.
pub async fn serve<S: Transport>(
    shared: Arc<Shared>,
    mut stream: S,
    peer: SocketAddr,
    id: u64,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = stream.tcp().set_nodelay(true);
    let local = stream.tcp().local_addr().unwrap_or(peer);
    let fd = stream.tcp().as_raw_fd();
    let handle = Arc::new(ClientHandle::new(
        id,
        peer,
        local,
        fd,
        shared.clock.now_ms(),
    ));
    let max_clients = shared.config.read().expect("config lock").maxclients;
    // A new connection is the default user's, logged in only if that user
    // is on and needs no password: requirepass sets its password, and so
    // may ACL SETUSER default.
    let default = shared.acl.get(b"default");
    let needs_auth = default.as_ref().is_none_or(|d| !(d.enabled && d.nopass));
    let default_has_password = default.as_ref().is_none_or(|d| !d.nopass);
    if !shared.clients.register(handle.clone(), max_clients) {
        shared
            .stats
            .rejected_connections
            .fetch_add(1, Ordering::Relaxed);
        let mut out = BytesMut::new();
        Reply::Error(error::MAX_CLIENTS).encode(&mut out, false);
        let _ = stream.write_all(&out).await;
        let _ = stream.flush().await;
        return;
    }
    let refused = {
        let config = shared.config.read().expect("config lock");
        super::refused_by_protected_mode(&config, default_has_password, peer)
    };
    if refused {
        shared
            .stats
            .rejected_connections
            .fetch_add(1, Ordering::Relaxed);
        let mut out = BytesMut::new();
        out.extend_from_slice(b"-");
        out.extend_from_slice(error::PROTECTED_MODE.as_bytes());
        out.extend_from_slice(b"\r\n");
        let _ = stream.write_all(&out).await;
        let _ = stream.shutdown().await;
        shared.clients.unregister(id);
        return;
    }
    // The server kills every registered client when it stops; one that
    // registered after that sweep sees the flag here.
    if *shutdown.borrow() {
        shared.clients.unregister(id);
        return;
    }
    let mut session = Session::new(handle.clone(), needs_auth, peer.ip().is_loopback());
    let mut decoder = RequestDecoder::new();
    let mut rbuf = BytesMut::with_capacity(READ_CHUNK);
    // The largest the read buffer has been since it was last replaced: once
    // a request is consumed, `capacity()` no longer shows the allocation.
    let mut rbuf_held = READ_CHUNK;
    let mut wbuf = BytesMut::with_capacity(READ_CHUNK);

    'conn: loop {
        let (max_bulk_len, query_limit) = {
            let config = shared.config.read().expect("config lock");
            (config.proto_max_bulk_len, config.client_query_buffer_limit)
        };
        let mut closing = false;
        loop {
            let limits = Limits {
                max_bulk_len,
                authenticated: session.authenticated,
            };
            rbuf_held = rbuf_held.max(rbuf.capacity());
            match decoder.decode(&mut rbuf, limits) {
                Ok(Some(words)) => {
                    let skip = std::mem::take(&mut session.skip_next);
                    let mut reply = dispatch::run(&shared, &mut session, words);
                    if let Some((rx, timeout)) = session.waiting.take() {
                        // Earlier replies go out before the wait starts.
                        if !flush_replies(&shared, &mut session, &mut stream, &mut wbuf).await {
                            cancel_wait(&shared, id);
                            break 'conn;
                        }
                        let waited = wait_blocked(
                            &shared,
                            &mut stream,
                            &mut rbuf,
                            &handle,
                            &mut shutdown,
                            rx,
                            timeout,
                        )
                        .await;
                        match waited {
                            Some((served, lsn)) => {
                                handle.mark_active(shared.clock.now_ms());
                                // Messages that arrived while it waited go
                                // before the reply, as Redis writes them
                                // to a blocked client at once.
                                session.pubsub_mark = shared.pubsub.mark();
                                session.unflushed_lsn = session.unflushed_lsn.max(lsn);
                                reply = served;
                            }
                            None => break 'conn,
                        }
                    }
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
                    // Messages published before the command ran precede its reply.
                    handle
                        .pubsub
                        .drain_into(Some(session.pubsub_mark), &mut wbuf);
                    let suppressed = std::mem::take(&mut session.suppress_current);
                    // (Un)subscribe confirmations are pushes: CLIENT REPLY
                    // OFF/SKIP does not silence them, as in Redis.
                    let push = matches!(reply, Reply::Frames(_));
                    if push || !(session.reply_off || skip || suppressed) {
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
        handle.pubsub.drain_into(None, &mut wbuf);
        if !flush_replies(&shared, &mut session, &mut stream, &mut wbuf).await {
            break 'conn;
        }
        if closing {
            break;
        }
        shrink_idle(&mut rbuf, &mut rbuf_held, &mut wbuf);
        if rbuf.capacity() - rbuf.len() < READ_CHUNK / 4 {
            rbuf.reserve(READ_CHUNK);
        }
        // Only a subscriber can be sent messages, and only its own commands
        // subscribe it, so others need not arm the wake-up (registering and
        // dropping a waiter on every turn showed in profiles). A server stop
        // reaches every connection through its kill signal.
        let listening = handle.pubsub.is_subscribed();
        tokio::select! {
            read = stream.read_buf(&mut rbuf) => match read {
                Ok(0) | Err(_) => break 'conn,
                Ok(n) => {
                    shared.stats.total_net_input_bytes.fetch_add(n as u64, Ordering::Relaxed);
                    if rbuf.len() + decoder.held_bytes() > query_limit {
                        query_buffer_overrun(&shared, &handle, &rbuf);
                        break 'conn;
                    }
                }
            },
            _ = handle.pubsub.notified(), if listening => {}
            _ = handle.kill_signal.notified() => break 'conn,
        }
    }
    shared.pubsub.unsubscribe_all(&handle);
    let _ = stream.shutdown().await;
    {
        let mut keyspace = shared.keyspace.lock().expect("keyspace lock");
        session.unwatch_all(&mut keyspace);
    }
    shared.clients.unregister(id);
}

/// Gives back what a large request or reply grew the buffers to, now that
/// the connection waits for input: every reply is written (`wbuf` is
/// empty) and `rbuf` holds at most the start of the next request. A read
/// buffer still filling with a large argument is left alone, so a large
/// request grows its buffer once, not once per read. Redis likewise frees
/// the query and reply buffers that large requests and replies leave
/// behind; doing it at once rather than on a timer keeps idle connections
/// at their base size without a periodic sweep.
fn shrink_idle(rbuf: &mut BytesMut, rbuf_held: &mut usize, wbuf: &mut BytesMut) {
    let mut released = 0;
    if wbuf.capacity() > SHRINK_ABOVE {
        released += wbuf.capacity();
        *wbuf = BytesMut::with_capacity(READ_CHUNK);
    }
    if *rbuf_held > SHRINK_ABOVE && rbuf.len() <= SHRINK_ABOVE / 2 {
        released += *rbuf_held;
        let mut fresh = BytesMut::with_capacity(READ_CHUNK);
        fresh.extend_from_slice(rbuf);
        *rbuf = fresh;
        *rbuf_held = READ_CHUNK;
    }
    if released > 0 {
        crate::memory::released(released);
    }
}

/// Writes the buffered replies, after the writes they acknowledge are in
/// the OS (and, under `always`, on disk). False if the connection must
/// close: the writes could not be made durable, or the socket failed.
async fn flush_replies(
    shared: &Shared,
    session: &mut Session,
    stream: &mut impl Transport,
    wbuf: &mut BytesMut,
) -> bool {
    if session.unflushed_lsn > 0 {
        let lsn = std::mem::take(&mut session.unflushed_lsn);
        // Connections the same event-loop turn woke run their commands
        // first; the first back here writes the log for all of them: one
        // write(2) per turn instead of one per command, as Redis writes its
        // AOF once per event-loop iteration.
        tokio::task::yield_now().await;
        let journal = &shared.storage.journal;
        let durable = match journal.flush(lsn) {
            Ok(()) if journal.policy() == FsyncPolicy::Always => journal.wait_durable(lsn).await,
            other => other,
        };
        if let Err(e) = durable {
            debug!(
                "client {}: closing, its writes could not be made durable: {e}",
                session.id
            );
            if journal.rollback_pending() {
                let mut keyspace = shared.keyspace.lock().expect("keyspace lock");
                shared.rollback_if_needed(&mut keyspace);
            }
            return false;
        }
    }
    if !wbuf.is_empty() {
        shared
            .stats
            .total_net_output_bytes
            .fetch_add(wbuf.len() as u64, Ordering::Relaxed);
        // A client that stops reading must not hold its task here forever:
        // an output-buffer overrun (or CLIENT KILL) ends the write.
        // (TLS holds written records until flushed; TCP's flush is a no-op.)
        let write = async {
            stream.write_all(wbuf).await?;
            stream.flush().await
        };
        tokio::select! {
            written = write => if written.is_err() {
                return false;
            },
            _ = session.handle.kill_signal.notified() => return false,
        }
        wbuf.clear();
        session.handle.pubsub.written();
        session.handle.mark_active(shared.clock.now_ms());
    }
    true
}

/// A client sent more than `client-query-buffer-limit` without completing
/// its requests: logged as Redis logs it, counted, and closed without a
/// reply.
fn query_buffer_overrun(shared: &Shared, handle: &ClientHandle, rbuf: &[u8]) {
    let start = &rbuf[..rbuf.len().min(64)];
    warn!(
        "Closing client that reached max query buffer length: id={} addr={} (qbuf initial bytes: {:?})",
        handle.id,
        handle.addr,
        String::from_utf8_lossy(start)
    );
    shared
        .stats
        .query_buffer_disconnections
        .fetch_add(1, Ordering::Relaxed);
}

fn cancel_wait(shared: &Shared, id: u64) {
    let mut keyspace = shared.keyspace.lock().expect("keyspace lock");
    blocking::cancel(&mut keyspace, id);
}

/// Waits, without the keyspace lock, for a blocked read's reply: served by
/// a write, its timeout (a null reply), or the end of the connection
/// (`None`). Bytes the client sends meanwhile are kept for later.
async fn wait_blocked(
    shared: &Shared,
    stream: &mut impl Transport,
    rbuf: &mut BytesMut,
    handle: &ClientHandle,
    shutdown: &mut watch::Receiver<bool>,
    mut rx: tokio::sync::oneshot::Receiver<blocking::Served>,
    timeout: Option<std::time::Duration>,
) -> Option<blocking::Served> {
    let id = handle.id;
    let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
    let mut timed_out = false;
    loop {
        let sleep = async {
            match deadline {
                Some(at) if !timed_out => tokio::time::sleep_until(at).await,
                _ => std::future::pending().await,
            }
        };
        if rbuf.capacity() - rbuf.len() < READ_CHUNK / 4 {
            rbuf.reserve(READ_CHUNK);
        }
        tokio::select! {
            served = &mut rx => return served.ok(),
            _ = sleep => {
                let mut keyspace = shared.keyspace.lock().expect("keyspace lock");
                if blocking::cancel(&mut keyspace, id) {
                    return Some((Reply::NullArray, 0));
                }
                // Served just now: the reply is on its way.
                timed_out = true;
            }
            read = stream.read_buf(rbuf) => match read {
                Ok(0) | Err(_) => {
                    cancel_wait(shared, id);
                    return None;
                }
                Ok(n) => {
                    shared.stats.total_net_input_bytes.fetch_add(n as u64, Ordering::Relaxed);
                    let limit = shared.config.read().expect("config lock").client_query_buffer_limit;
                    if rbuf.len() > limit {
                        query_buffer_overrun(shared, handle, rbuf);
                        cancel_wait(shared, id);
                        return None;
                    }
                }
            },
            _ = handle.kill_signal.notified() => {
                cancel_wait(shared, id);
                return None;
            }
            _ = shutdown.changed() => {
                cancel_wait(shared, id);
                return None;
            }
        }
    }
}
