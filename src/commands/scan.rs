//! What SSCAN, ZSCAN and HSCAN share: the `MATCH` / `COUNT` (and, for
//! HSCAN, `NOVALUES`) options and the `[cursor, items]` reply.

use bytes::Bytes;

use super::args::{is, parse_i64_opt};
use super::Args;
use crate::error::{self, CommandError};
use crate::protocol::Reply;

/// The options of a value scan.
#[derive(Debug)]
pub(crate) struct ScanOptions {
    /// MATCH pattern (`None` for none or `*`).
    pub pattern: Option<Bytes>,
    /// COUNT (10 by default).
    pub count: usize,
    /// NOVALUES (HSCAN only).
    pub novalues: bool,
}

/// Parses the options after the cursor; `novalues` says whether NOVALUES
/// is one of them (HSCAN). Kept as a `Result` by the callers: Redis judges
/// the options only once the key holds the right type.
pub(crate) fn options(mut args: Args, novalues: bool) -> Result<ScanOptions, CommandError> {
    let mut opts = ScanOptions {
        pattern: None,
        count: 10,
        novalues: false,
    };
    while let Some(opt) = args.try_next() {
        let has_value = !args.is_empty();
        if is(&opt, "COUNT") && has_value {
            let n = parse_i64_opt(&args.next_arg()?).ok_or(error::NOT_INTEGER)?;
            if n < 1 {
                return Err(error::SYNTAX);
            }
            opts.count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if is(&opt, "MATCH") && has_value {
            let p = args.next_arg()?;
            opts.pattern = (p.as_ref() != b"*").then_some(p);
        } else if novalues && is(&opt, "NOVALUES") {
            opts.novalues = true;
        } else {
            return Err(error::SYNTAX);
        }
    }
    Ok(opts)
}

/// `[next cursor, items]`.
pub(crate) fn reply(cursor: usize, items: Vec<Reply>) -> Reply {
    Reply::Array(vec![
        Reply::Bulk(Bytes::from(cursor.to_string())),
        Reply::Array(items),
    ])
}
