//! Request decoding: RESP multibulk arrays and inline commands.
//!
//! A server only ever receives arrays of bulk strings (what every client
//! library sends) or inline commands (a line of space-separated words, what
//! `telnet`, `nc` and redis-cli's raw input send). The decoder is
//! incremental: it consumes each argument from the buffer as soon as it is
//! complete, so a large request that arrives in many reads is never parsed
//! twice, and it allocates only for bytes that have actually arrived: a
//! hostile declared length or argument count costs nothing up front.

use bytes::{Buf, Bytes, BytesMut};

use crate::error::ProtocolError;

/// Longest line (inline command, or a `*`/`$` header) accepted before a
/// newline arrives.
pub const MAX_INLINE_LEN: usize = 64 * 1024;
/// Default `proto-max-bulk-len`: the longest single argument.
pub const DEFAULT_MAX_BULK_LEN: usize = 512 * 1024 * 1024;
/// Longest argument accepted from a client that has not authenticated.
const UNAUTH_MAX_BULK_LEN: usize = 16 * 1024;
/// Most arguments accepted from a client that has not authenticated.
const UNAUTH_MAX_ARGS: i64 = 10;
/// Arguments preallocated for a multibulk, whatever count it declares.
const PREALLOC_ARGS: usize = 1024;

/// Limits that depend on configuration and connection state.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest single argument (`proto-max-bulk-len`).
    pub max_bulk_len: usize,
    /// Whether the client has authenticated (or needs no authentication);
    /// unauthenticated clients get much smaller limits, as in Redis.
    pub authenticated: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: DEFAULT_MAX_BULK_LEN,
            authenticated: true,
        }
    }
}

/// The incremental state of one connection's request stream.
#[derive(Debug, Default)]
pub struct RequestDecoder {
    /// A multibulk whose header has been read: arguments still expected, and
    /// the ones read so far.
    partial: Option<(usize, Vec<Bytes>)>,
    /// The length of the bulk being read, once its `$` header has been read.
    bulk_len: Option<usize>,
}

impl RequestDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes of the request in progress already taken out of the read
    /// buffer: the arguments read so far. With what is still in the
    /// buffer, this is the client's query buffer (`client-query-buffer-limit`).
    pub fn held_bytes(&self) -> usize {
        self.partial
            .as_ref()
            .map_or(0, |(_, args)| args.iter().map(|a| a.len()).sum())
    }

    /// Decodes the next complete request from `buf`, consuming its bytes.
    ///
    /// Returns `Ok(None)` when more bytes are needed. Empty requests (`*0`,
    /// negative counts, blank inline lines) are skipped, as Redis does.
    pub fn decode(
        &mut self,
        buf: &mut BytesMut,
        limits: Limits,
    ) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        loop {
            if self.partial.is_none() {
                if buf.is_empty() {
                    return Ok(None);
                }
                if buf[0] != b'*' {
                    match decode_inline(buf)? {
                        None => return Ok(None),
                        Some(args) if args.is_empty() => continue,
                        Some(args) => return Ok(Some(args)),
                    }
                }
                let Some(line) = take_line(buf, ProtocolError::TooBigMultibulkCount)? else {
                    return Ok(None);
                };
                let count = parse_int(&line[1..])
                    .filter(|&n| n <= i32::MAX as i64)
                    .ok_or(ProtocolError::InvalidMultibulkLength)?;
                if !limits.authenticated && count > UNAUTH_MAX_ARGS {
                    return Err(ProtocolError::UnauthenticatedMultibulk);
                }
                if count <= 0 {
                    continue;
                }
                let count = count as usize;
                self.partial = Some((count, Vec::with_capacity(count.min(PREALLOC_ARGS))));
            }
            if !self.read_bulks(buf, limits)? {
                return Ok(None);
            }
            let (_, args) = self.partial.take().expect("multibulk in progress");
            return Ok(Some(args));
        }
    }

    /// Reads bulk arguments of the current multibulk; true once all are in.
    fn read_bulks(&mut self, buf: &mut BytesMut, limits: Limits) -> Result<bool, ProtocolError> {
        let (expected, args) = self.partial.as_mut().expect("multibulk in progress");
        while args.len() < *expected {
            let len = match self.bulk_len {
                Some(len) => len,
                None => {
                    if buf.is_empty() {
                        return Ok(false);
                    }
                    if buf[0] != b'$' {
                        return Err(ProtocolError::ExpectedDollar(buf[0] as char));
                    }
                    let Some(line) = take_line(buf, ProtocolError::TooBigBulkCount)? else {
                        return Ok(false);
                    };
                    let len = parse_int(&line[1..])
                        .filter(|&n| n >= 0 && n as u64 <= limits.max_bulk_len as u64)
                        .ok_or(ProtocolError::InvalidBulkLength)?
                        as usize;
                    if !limits.authenticated && len > UNAUTH_MAX_BULK_LEN {
                        return Err(ProtocolError::UnauthenticatedBulk);
                    }
                    self.bulk_len = Some(len);
                    len
                }
            };
            if buf.len() < len + 2 {
                // Make room for the rest of the argument in one allocation
                // once its bytes start arriving; never for bytes not sent.
                return Ok(false);
            }
            // Copy: an argument may live on as a key or value, and must not
            // pin the whole read buffer it arrived in.
            args.push(Bytes::copy_from_slice(&buf[..len]));
            buf.advance(len + 2);
            self.bulk_len = None;
        }
        Ok(true)
    }
}

/// Takes one `\r\n`-terminated line (without the terminator) off the buffer.
fn take_line(buf: &mut BytesMut, too_big: ProtocolError) -> Result<Option<Bytes>, ProtocolError> {
    match memchr_cr(buf) {
        Some(pos) => {
            if pos + 1 >= buf.len() {
                return Ok(None);
            }
            let line = buf.split_to(pos).freeze();
            buf.advance(2);
            Ok(Some(line))
        }
        None if buf.len() > MAX_INLINE_LEN => Err(too_big),
        None => Ok(None),
    }
}

fn memchr_cr(buf: &[u8]) -> Option<usize> {
    buf.iter().position(|&b| b == b'\r')
}

/// Parses a decimal i64 the way Redis reads protocol lengths: `0`, or an
/// optional minus sign and digits without a leading zero; no plus sign,
/// spaces or other bytes, and nothing that overflows. So `*+1`, `$+4`,
/// `*01`, `$04` and `$-0` are protocol errors, as in Redis, where Rust's
/// own integer parser would take them.
fn parse_int(digits: &[u8]) -> Option<i64> {
    if digits == b"0" {
        return Some(0);
    }
    let (negative, rest) = match digits.split_first()? {
        (b'-', rest) => (true, rest),
        _ => (false, digits),
    };
    if !matches!(rest.first(), Some(b'1'..=b'9')) {
        return None;
    }
    let mut n: i64 = 0;
    for &b in rest {
        if !b.is_ascii_digit() {
            return None;
        }
        let d = i64::from(b - b'0');
        n = n.checked_mul(10)?;
        n = if negative {
            n.checked_sub(d)?
        } else {
            n.checked_add(d)?
        };
    }
    Some(n)
}

/// Decodes one inline command line; `Some(vec![])` for a blank line.
fn decode_inline(buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
    let Some(newline) = buf.iter().position(|&b| b == b'\n') else {
        if buf.len() > MAX_INLINE_LEN {
            return Err(ProtocolError::TooBigInline);
        }
        return Ok(None);
    };
    let mut line = buf.split_to(newline + 1);
    line.truncate(newline);
    if line.last() == Some(&b'\r') {
        line.truncate(newline - 1);
    }
    split_args(&line)
        .map(Some)
        .ok_or(ProtocolError::UnbalancedQuotes)
}

/// Splits an inline line into words. Double-quoted words understand the
/// escapes `\n \r \t \b \a \\ \" \xHH`; single-quoted words understand `\'`.
/// A closing quote must be followed by a space or the end of the line.
/// Returns `None` for unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Bytes>> {
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < line.len() && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i == line.len() {
            return Some(args);
        }
        let mut word = Vec::new();
        let mut in_double = false;
        let mut in_single = false;
        loop {
            if in_double {
                let c = *line.get(i)?;
                if c == b'\\' && i + 3 < line.len() && line[i + 1] == b'x' {
                    if let (Some(h), Some(l)) = (hex(line[i + 2]), hex(line[i + 3])) {
                        word.push(h * 16 + l);
                        i += 4;
                        continue;
                    }
                }
                if c == b'\\' && i + 1 < line.len() {
                    word.push(match line[i + 1] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                    i += 2;
                } else if c == b'"' {
                    if i + 1 < line.len() && !line[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    word.push(c);
                    i += 1;
                }
            } else if in_single {
                let c = *line.get(i)?;
                if c == b'\\' && i + 1 < line.len() && line[i + 1] == b'\'' {
                    word.push(b'\'');
                    i += 2;
                } else if c == b'\'' {
                    if i + 1 < line.len() && !line[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    word.push(c);
                    i += 1;
                }
            } else {
                match line.get(i) {
                    None => break,
                    Some(c) if c.is_ascii_whitespace() => break,
                    Some(b'"') => in_double = true,
                    Some(b'\'') => in_single = true,
                    Some(&c) => word.push(c),
                }
                i += 1;
            }
        }
        args.push(Bytes::from(word));
    }
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(input: &[u8]) -> Result<Vec<Vec<Bytes>>, ProtocolError> {
        let mut dec = RequestDecoder::new();
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(args) = dec.decode(&mut buf, Limits::default())? {
            out.push(args);
        }
        Ok(out)
    }

    #[test]
    fn multibulk_and_pipeline() {
        let got = decode_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n").unwrap();
        assert_eq!(
            got,
            vec![
                vec![Bytes::from("GET"), Bytes::from("k")],
                vec![Bytes::from("PING")]
            ]
        );
    }

    #[test]
    fn byte_at_a_time_gives_the_same_result() {
        let input = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\na\r\nb\0\r\nPING x\r\n";
        let mut dec = RequestDecoder::new();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for &b in input.iter() {
            buf.extend_from_slice(&[b]);
            while let Some(args) = dec.decode(&mut buf, Limits::default()).unwrap() {
                out.push(args);
            }
        }
        assert_eq!(out, decode_all(input).unwrap());
        assert_eq!(out[0][2], Bytes::from_static(b"a\r\nb\0"));
        assert_eq!(out[1], vec![Bytes::from("PING"), Bytes::from("x")]);
    }

    #[test]
    fn empty_requests_are_skipped() {
        let got = decode_all(b"*0\r\n*-1\r\n\r\n  \n*1\r\n$4\r\nPING\r\n").unwrap();
        assert_eq!(got, vec![vec![Bytes::from("PING")]]);
    }

    #[test]
    fn protocol_errors_match_redis() {
        assert_eq!(
            decode_all(b"*x\r\n"),
            Err(ProtocolError::InvalidMultibulkLength)
        );
        // Redis's integer rules for lengths: no plus sign, no leading zero,
        // no minus zero.
        for bad in [
            &b"*+1\r\n$4\r\nPING\r\n"[..],
            b"*01\r\n$4\r\nPING\r\n",
            b"*-0\r\n",
        ] {
            assert_eq!(
                decode_all(bad),
                Err(ProtocolError::InvalidMultibulkLength),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        for bad in [
            &b"*1\r\n$+4\r\nPING\r\n"[..],
            b"*1\r\n$04\r\nPING\r\n",
            b"*1\r\n$-0\r\n\r\n",
        ] {
            assert_eq!(
                decode_all(bad),
                Err(ProtocolError::InvalidBulkLength),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(parse_int(b"0"), Some(0));
        assert_eq!(parse_int(b"-1"), Some(-1));
        assert_eq!(parse_int(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_int(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_int(b"9223372036854775808"), None);
        assert_eq!(parse_int(b"00"), None);
        assert_eq!(parse_int(b"-"), None);
        assert_eq!(parse_int(b" 1"), None);
        assert_eq!(
            decode_all(b"*2\r\n:4\r\n"),
            Err(ProtocolError::ExpectedDollar(':'))
        );
        assert_eq!(
            decode_all(b"*2\r\n$-5\r\n"),
            Err(ProtocolError::InvalidBulkLength)
        );
        assert_eq!(
            decode_all(b"*3000000000\r\n"),
            Err(ProtocolError::InvalidMultibulkLength)
        );
        assert_eq!(
            decode_all(b"set a \"b\r\n"),
            Err(ProtocolError::UnbalancedQuotes)
        );
        assert_eq!(
            decode_all(b"echo \"a\"b\r\n"),
            Err(ProtocolError::UnbalancedQuotes)
        );
        let long = vec![b'a'; MAX_INLINE_LEN + 1];
        assert_eq!(decode_all(&long), Err(ProtocolError::TooBigInline));
        let mut long_count = b"*".to_vec();
        long_count.extend(vec![b'1'; MAX_INLINE_LEN + 1]);
        assert_eq!(
            decode_all(&long_count),
            Err(ProtocolError::TooBigMultibulkCount)
        );
    }

    #[test]
    fn bulk_longer_than_the_limit_is_refused_before_it_arrives() {
        let mut dec = RequestDecoder::new();
        let mut buf = BytesMut::from(&b"*1\r\n$1025\r\n"[..]);
        let limits = Limits {
            max_bulk_len: 1024,
            authenticated: true,
        };
        assert_eq!(
            dec.decode(&mut buf, limits),
            Err(ProtocolError::InvalidBulkLength)
        );
    }

    #[test]
    fn unauthenticated_limits() {
        let limits = Limits {
            max_bulk_len: DEFAULT_MAX_BULK_LEN,
            authenticated: false,
        };
        let mut buf = BytesMut::from(&b"*11\r\n"[..]);
        assert_eq!(
            RequestDecoder::new().decode(&mut buf, limits),
            Err(ProtocolError::UnauthenticatedMultibulk)
        );
        let mut buf = BytesMut::from(&b"*1\r\n$16385\r\n"[..]);
        assert_eq!(
            RequestDecoder::new().decode(&mut buf, limits),
            Err(ProtocolError::UnauthenticatedBulk)
        );
    }

    #[test]
    fn inline_quoting() {
        let got = split_args(br#"set "a b\x41\n" 'it\'s' "" x"#).unwrap();
        assert_eq!(
            got,
            vec![
                Bytes::from("set"),
                Bytes::from("a bA\n"),
                Bytes::from("it's"),
                Bytes::from(""),
                Bytes::from("x"),
            ]
        );
        assert!(split_args(b"'abc").is_none());
    }

    #[test]
    fn huge_declared_count_allocates_little() {
        let mut dec = RequestDecoder::new();
        let mut buf = BytesMut::from(&b"*2000000000\r\n$1\r\na\r\n"[..]);
        assert_eq!(dec.decode(&mut buf, Limits::default()), Ok(None));
        let (_, args) = dec.partial.as_ref().unwrap();
        assert!(args.capacity() <= PREALLOC_ARGS);
    }
}
