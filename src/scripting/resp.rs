//! Reading back a reply a command sent already encoded
//! ([`Reply::Encoded`]), so that a script sees it as data.
//!
//! Only Sluice's own encoder produces these bytes, so the input is trusted
//! to be well formed; anything unexpected ends the parse with what was read.

use bytes::Bytes;

use crate::error::CommandError;
use crate::protocol::Reply;

/// A decoded reply, plus the RESP3 types [`Reply`] has no variant for.
pub fn parse(bytes: &Bytes) -> Reply {
    let mut pos = 0;
    parse_one(bytes, &mut pos).unwrap_or(Reply::Null)
}

fn line(bytes: &Bytes, pos: &mut usize) -> Option<Bytes> {
    let rest = &bytes[*pos..];
    let end = rest.windows(2).position(|w| w == b"\r\n")?;
    let out = bytes.slice(*pos..*pos + end);
    *pos += end + 2;
    Some(out)
}

fn int(text: &[u8]) -> i64 {
    std::str::from_utf8(text)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn items(bytes: &Bytes, pos: &mut usize, n: i64) -> Option<Vec<Reply>> {
    let mut out = Vec::with_capacity(n.clamp(0, 1024) as usize);
    for _ in 0..n {
        out.push(parse_one(bytes, pos)?);
    }
    Some(out)
}

fn parse_one(bytes: &Bytes, pos: &mut usize) -> Option<Reply> {
    let kind = *bytes.get(*pos)?;
    *pos += 1;
    let head = line(bytes, pos)?;
    Some(match kind {
        b'+' => Reply::Status(head),
        b'-' => Reply::Error(CommandError(head)),
        b':' => Reply::Int(int(&head)),
        b'$' | b'=' | b'!' => {
            let n = int(&head);
            if n < 0 {
                return Some(Reply::Null);
            }
            let data = bytes.slice(*pos..*pos + n as usize);
            *pos += n as usize + 2;
            match kind {
                b'=' => Reply::Verbatim(data.slice(4.min(data.len())..)),
                b'!' => Reply::Error(CommandError(data)),
                _ => Reply::Bulk(data),
            }
        }
        b'*' if int(&head) < 0 => Reply::NullArray,
        b'*' => Reply::Array(items(bytes, pos, int(&head))?),
        b'~' => Reply::Set(items(bytes, pos, int(&head))?),
        b'>' => Reply::Push(items(bytes, pos, int(&head))?),
        b'%' => {
            let flat = items(bytes, pos, 2 * int(&head))?;
            let mut pairs = Vec::with_capacity(flat.len() / 2);
            let mut it = flat.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                pairs.push((k, v));
            }
            Reply::Map(pairs)
        }
        b'_' => Reply::Null,
        b'#' => Reply::Bool(head.as_ref() == b"t"),
        b',' => Reply::Double(
            std::str::from_utf8(&head)
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0.0),
        ),
        b'(' => Reply::Bulk(head),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_what_the_encoder_writes() {
        let reply = Reply::Array(vec![
            Reply::Int(-3),
            Reply::bulk("a\r\nb"),
            Reply::Null,
            Reply::Map(vec![(Reply::bulk("k"), Reply::Double(1.5))]),
            Reply::Set(vec![Reply::Bool(true)]),
            Reply::Simple("OK"),
        ]);
        let mut out = bytes::BytesMut::new();
        reply.encode(&mut out, true);
        assert_eq!(parse(&out.freeze()), reply.clone_as_status());
    }

    trait AsStatus {
        fn clone_as_status(&self) -> Reply;
    }

    impl AsStatus for Reply {
        // The parser gives run-time statuses for every simple string.
        fn clone_as_status(&self) -> Reply {
            match self {
                Reply::Simple(s) => Reply::Status(Bytes::from_static(s.as_bytes())),
                Reply::Array(v) => Reply::Array(v.iter().map(|r| r.clone_as_status()).collect()),
                other => other.clone(),
            }
        }
    }
}
