//! Replies and their encoding in RESP2 and RESP3.
//!
//! Commands build a [`Reply`] without knowing the connection's protocol; the
//! connection encodes it in the version the client chose with HELLO. RESP3's
//! richer types fall back to their RESP2 shapes: a map becomes a flat array,
//! a set an array, a double a bulk string, a boolean an integer, and both
//! nulls become RESP2's null bulk or null array.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::CommandError;

/// One reply, in protocol-independent form.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `+OK`
    Simple(&'static str),
    /// A simple string built at run time (`+QUEUED`-like or status text).
    Status(Bytes),
    /// `-ERR …`
    Error(CommandError),
    /// `:42`
    Int(i64),
    /// `$3\r\nfoo`
    Bulk(Bytes),
    /// RESP2 `$-1`, RESP3 `_`.
    Null,
    /// RESP2 `*-1`, RESP3 `_`.
    NullArray,
    /// `*n`
    Array(Vec<Reply>),
    /// RESP3 `%n`; RESP2 a flat array of keys and values.
    Map(Vec<(Reply, Reply)>),
    /// RESP3 `%n`; RESP2 an array of `[key, value]` pairs (XREAD's
    /// per-stream results).
    PairMap(Vec<(Reply, Reply)>),
    /// RESP3 `~n`; RESP2 an array.
    Set(Vec<Reply>),
    /// RESP3 `,1.5`; RESP2 a bulk string.
    Double(f64),
    /// RESP3 `#t`; RESP2 `:1`.
    Bool(bool),
    /// RESP3 `=` verbatim text (`txt:`); RESP2 a bulk string.
    Verbatim(Bytes),
    /// RESP3 `>n` out-of-band push; RESP2 an array.
    Push(Vec<Reply>),
    /// Several top-level replies written back to back (SUBSCRIBE's one
    /// confirmation per channel).
    Frames(Vec<Reply>),
    /// A reply already encoded, by a command that knew the connection's
    /// protocol (long member lists: see [`Encoder`]).
    Encoded(Bytes),
}

/// `+OK`
pub const OK: Reply = Reply::Simple("OK");

impl Reply {
    /// A bulk string from anything byte-like.
    pub fn bulk(data: impl Into<Bytes>) -> Reply {
        Reply::Bulk(data.into())
    }

    /// A bulk string, or null when absent.
    pub fn bulk_or_null(data: Option<Bytes>) -> Reply {
        data.map_or(Reply::Null, Reply::Bulk)
    }

    /// Whether this reply is an error (for error statistics).
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }

    /// Appends the encoding of this reply in the given protocol version.
    pub fn encode(&self, out: &mut BytesMut, resp3: bool) {
        match self {
            Reply::Simple(s) => text_line(out, b'+', s.as_bytes()),
            Reply::Status(s) => text_line(out, b'+', s),
            Reply::Error(e) => text_line(out, b'-', &e.0),
            Reply::Int(n) => int_line(out, b':', *n),
            Reply::Bulk(data) => bulk(out, data),
            Reply::Null if resp3 => out.put_slice(b"_\r\n"),
            Reply::Null => out.put_slice(b"$-1\r\n"),
            Reply::NullArray if resp3 => out.put_slice(b"_\r\n"),
            Reply::NullArray => out.put_slice(b"*-1\r\n"),
            Reply::Array(items) => aggregate(out, b'*', items, resp3),
            Reply::Set(items) => aggregate(out, if resp3 { b'~' } else { b'*' }, items, resp3),
            Reply::Push(items) => aggregate(out, if resp3 { b'>' } else { b'*' }, items, resp3),
            Reply::Frames(frames) => {
                for frame in frames {
                    frame.encode(out, resp3);
                }
            }
            Reply::Map(pairs) => {
                if resp3 {
                    int_line(out, b'%', pairs.len() as i64);
                } else {
                    int_line(out, b'*', 2 * pairs.len() as i64);
                }
                for (k, v) in pairs {
                    k.encode(out, resp3);
                    v.encode(out, resp3);
                }
            }
            Reply::PairMap(pairs) if resp3 => {
                int_line(out, b'%', pairs.len() as i64);
                for (k, v) in pairs {
                    k.encode(out, resp3);
                    v.encode(out, resp3);
                }
            }
            Reply::PairMap(pairs) => {
                int_line(out, b'*', pairs.len() as i64);
                for (k, v) in pairs {
                    out.put_slice(b"*2\r\n");
                    k.encode(out, resp3);
                    v.encode(out, resp3);
                }
            }
            Reply::Double(d) => {
                let text = format_double(*d);
                if resp3 {
                    line(out, b',', text.as_bytes());
                } else {
                    bulk(out, text.as_bytes());
                }
            }
            Reply::Bool(b) if resp3 => out.put_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
            Reply::Bool(b) => int_line(out, b':', *b as i64),
            Reply::Verbatim(text) if resp3 => {
                int_line(out, b'=', text.len() as i64 + 4);
                out.put_slice(b"txt:");
                out.put_slice(text);
                out.put_slice(b"\r\n");
            }
            Reply::Verbatim(text) => bulk(out, text),
            Reply::Encoded(bytes) => out.put_slice(bytes),
        }
    }
}

/// Encodes a reply piece by piece, for commands that answer with many
/// stored values: copying each one straight into the reply saves taking
/// and dropping a reference to every value (a cache miss each on a large
/// set) that building a [`Reply::Array`] of [`Reply::Bulk`]s costs.
pub struct Encoder {
    out: BytesMut,
    resp3: bool,
}

impl Encoder {
    /// An encoder for the given protocol version, with room for `bytes`.
    pub fn with_capacity(resp3: bool, bytes: usize) -> Encoder {
        Encoder {
            out: BytesMut::with_capacity(bytes),
            resp3,
        }
    }

    /// An array header of `len` elements.
    pub fn array(&mut self, len: usize) {
        int_line(&mut self.out, b'*', len as i64);
    }

    /// A set header of `len` elements: RESP3 `~`, RESP2 an array.
    pub fn set(&mut self, len: usize) {
        int_line(
            &mut self.out,
            if self.resp3 { b'~' } else { b'*' },
            len as i64,
        );
    }

    /// A map header of `len` pairs: RESP3 `%`, RESP2 a flat array.
    pub fn map(&mut self, len: usize) {
        if self.resp3 {
            int_line(&mut self.out, b'%', len as i64);
        } else {
            int_line(&mut self.out, b'*', 2 * len as i64);
        }
    }

    /// A bulk string.
    pub fn bulk(&mut self, data: &[u8]) {
        bulk(&mut self.out, data);
    }

    /// Any reply.
    pub fn reply(&mut self, reply: &Reply) {
        reply.encode(&mut self.out, self.resp3);
    }

    /// The finished reply.
    pub fn finish(self) -> Reply {
        Reply::Encoded(self.out.freeze())
    }
}

impl From<CommandError> for Reply {
    fn from(e: CommandError) -> Self {
        Reply::Error(e)
    }
}

impl From<Result<Reply, CommandError>> for Reply {
    fn from(r: Result<Reply, CommandError>) -> Self {
        r.unwrap_or_else(Reply::Error)
    }
}

/// Formats a double as Redis 7.4 does: the shortest text that reads back
/// as the same value, `inf`/`-inf`/`nan` for the special values, and an
/// exponent (`1e+20`) where `%.17g` would use one.
pub fn format_double(d: f64) -> String {
    if d.is_nan() {
        return "nan".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if d == 0.0 {
        return if d.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // `{:e}` gives the shortest round-trip digits; lay them out like %g.
    let sci = format!("{d:e}");
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` has an exponent");
    let exp: i32 = exp.parse().expect("exponent is an integer");
    if (-4..17).contains(&exp) {
        let plain = format!("{d}");
        return plain;
    }
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.abs())
}

/// A simple string or error line. Its text may echo what a client sent
/// (a key, a group, an option name), and a CR or LF in it would end the
/// line early: the rest would read as a reply of its own, forged by the
/// client, and every later reply would answer the wrong request. So, as
/// Redis does, CR and LF become spaces; this is the one place every
/// status and error line goes through.
fn text_line(out: &mut BytesMut, prefix: u8, text: &[u8]) {
    if !text.iter().any(|&b| b == b'\r' || b == b'\n') {
        return line(out, prefix, text);
    }
    out.reserve(text.len() + 3);
    out.put_u8(prefix);
    out.extend(
        text.iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
    out.put_slice(b"\r\n");
}

fn line(out: &mut BytesMut, prefix: u8, text: &[u8]) {
    out.reserve(text.len() + 3);
    out.put_u8(prefix);
    out.put_slice(text);
    out.put_slice(b"\r\n");
}

fn int_line(out: &mut BytesMut, prefix: u8, n: i64) {
    line(out, prefix, itoa::Buffer::new().format(n).as_bytes());
}

fn bulk(out: &mut BytesMut, data: &[u8]) {
    int_line(out, b'$', data.len() as i64);
    out.reserve(data.len() + 2);
    out.put_slice(data);
    out.put_slice(b"\r\n");
}

fn aggregate(out: &mut BytesMut, prefix: u8, items: &[Reply], resp3: bool) {
    int_line(out, prefix, items.len() as i64);
    for item in items {
        item.encode(out, resp3);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(r: &Reply, resp3: bool) -> String {
        let mut out = BytesMut::new();
        r.encode(&mut out, resp3);
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn status_and_error_lines_never_carry_cr_or_lf() {
        let e = Reply::Error(CommandError::new(
            "NOGROUP No such key 'a\r\n+INJECTED\r\n'".into(),
        ));
        assert_eq!(enc(&e, false), "-NOGROUP No such key 'a  +INJECTED  '\r\n");
        let s = Reply::Status(Bytes::from_static(b"x\ny\rz"));
        assert_eq!(enc(&s, true), "+x y z\r\n");
        // Bulk strings are length-prefixed: their bytes stay as they are.
        assert_eq!(enc(&Reply::bulk("a\r\nb"), false), "$4\r\na\r\nb\r\n");
    }

    #[test]
    fn scalars() {
        assert_eq!(enc(&OK, false), "+OK\r\n");
        assert_eq!(
            enc(&Reply::Int(i64::MIN), false),
            ":-9223372036854775808\r\n"
        );
        assert_eq!(enc(&Reply::Int(0), true), ":0\r\n");
        assert_eq!(enc(&Reply::bulk("ab"), false), "$2\r\nab\r\n");
        assert_eq!(enc(&Reply::Null, false), "$-1\r\n");
        assert_eq!(enc(&Reply::NullArray, false), "*-1\r\n");
        assert_eq!(enc(&Reply::Null, true), "_\r\n");
        assert_eq!(enc(&Reply::Bool(true), true), "#t\r\n");
        assert_eq!(enc(&Reply::Bool(true), false), ":1\r\n");
    }

    #[test]
    fn aggregates_fall_back_in_resp2() {
        let map = Reply::Map(vec![(Reply::bulk("a"), Reply::Int(1))]);
        assert_eq!(enc(&map, true), "%1\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(enc(&map, false), "*2\r\n$1\r\na\r\n:1\r\n");
        let set = Reply::Set(vec![Reply::bulk("x")]);
        assert_eq!(enc(&set, true), "~1\r\n$1\r\nx\r\n");
        assert_eq!(enc(&set, false), "*1\r\n$1\r\nx\r\n");
        assert_eq!(
            enc(&Reply::Verbatim(Bytes::from("hi")), true),
            "=6\r\ntxt:hi\r\n"
        );
        assert_eq!(
            enc(&Reply::Verbatim(Bytes::from("hi")), false),
            "$2\r\nhi\r\n"
        );
    }

    #[test]
    fn doubles() {
        assert_eq!(format_double(1.5), "1.5");
        assert_eq!(format_double(3.0), "3");
        assert_eq!(format_double(0.1), "0.1");
        assert_eq!(format_double(1e20), "1e+20");
        assert_eq!(format_double(1e-7), "1e-07");
        assert_eq!(format_double(f64::INFINITY), "inf");
        assert_eq!(format_double(-f64::INFINITY), "-inf");
        assert_eq!(enc(&Reply::Double(2.5), true), ",2.5\r\n");
        assert_eq!(enc(&Reply::Double(2.5), false), "$3\r\n2.5\r\n");
    }

    #[test]
    fn the_encoder_writes_what_the_reply_tree_would() {
        for resp3 in [false, true] {
            let tree = Reply::Array(vec![
                Reply::Array(vec![Reply::bulk("a"), Reply::Double(1.5)]),
                Reply::Array(vec![Reply::bulk(""), Reply::Double(-2.0)]),
            ]);
            let mut e = Encoder::with_capacity(resp3, 0);
            e.array(2);
            for (m, s) in [("a", 1.5), ("", -2.0)] {
                e.array(2);
                e.bulk(m.as_bytes());
                e.reply(&Reply::Double(s));
            }
            assert_eq!(enc(&e.finish(), resp3), enc(&tree, resp3));
        }
    }
}
