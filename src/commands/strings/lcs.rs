//! LCS: the longest common subsequence of two strings, its length, or the
//! matching ranges (IDX, MINMATCHLEN, WITHMATCHLEN).
//!
//! The dynamic-programming table takes (len(a)+1)·(len(b)+1) four-byte
//! cells; as in Redis 7.2+, a table over proto-max-bulk-len bytes is
//! refused before it is allocated.

use bytes::Bytes;

use super::{as_str, boxed, Args, CommandSpec, Ctx, Execute, Parser};
use crate::commands::args::{is, parse_i64};
use crate::error::{self, CommandError};
use crate::protocol::Reply;

/// A string-group table row.
const fn spec(
    name: &'static str,
    arity: i32,
    flags: &'static [&'static str],
    keys: (i32, i32, i32),
    since: &'static str,
    summary: &'static str,
    parser: Parser,
) -> CommandSpec {
    CommandSpec::new("string", name, arity, flags, keys, since, summary, parser)
}

/// LCS's table row.
pub static COMMANDS: &[CommandSpec] = &[spec(
    "lcs",
    -3,
    &["readonly"],
    (1, 2, 1),
    "7.0.0",
    "Finds the longest common subsequence of two strings.",
    Lcs::parse,
)];

/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]
struct Lcs {
    a: Bytes,
    b: Bytes,
    len_only: bool,
    idx: bool,
    min_match: u64,
    with_match_len: bool,
}

impl Lcs {
    fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        let a = args.next_arg()?;
        let b = args.next_arg()?;
        let mut cmd = Lcs {
            a,
            b,
            len_only: false,
            idx: false,
            min_match: 0,
            with_match_len: false,
        };
        while let Some(word) = args.try_next() {
            if is(&word, "LEN") {
                cmd.len_only = true;
            } else if is(&word, "IDX") {
                cmd.idx = true;
            } else if is(&word, "WITHMATCHLEN") {
                cmd.with_match_len = true;
            } else if is(&word, "MINMATCHLEN") && !args.is_empty() {
                let n = parse_i64(&args.next_arg()?)?;
                cmd.min_match = n.max(0) as u64;
            } else {
                return Err(error::SYNTAX);
            }
        }
        if cmd.len_only && cmd.idx {
            return Err(error::LCS_LEN_AND_IDX);
        }
        boxed(cmd)
    }

    fn run(self, ctx: &mut Ctx<'_>) -> Result<Reply, CommandError> {
        let limit = super::bits::max_len(ctx);
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let mut strings = Vec::with_capacity(2);
        for key in [&self.a, &self.b] {
            strings.push(match db.get(key, now, stats) {
                None => Bytes::new(),
                Some(e) => as_str(&e.value).cloned().ok_or(error::LCS_NOT_STRINGS)?,
            });
        }
        let (a, b) = (&strings[0], &strings[1]);
        let cells = (a.len() as u64 + 1).saturating_mul(b.len() as u64 + 1);
        if cells > limit / 4 {
            return Err(error::LCS_TOO_BIG);
        }
        // table[i][j]: LCS length of a[..i] and b[..j].
        let width = b.len() + 1;
        let mut table = vec![0u32; (a.len() + 1) * width];
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                table[i * width + j] = if a[i - 1] == b[j - 1] {
                    table[(i - 1) * width + j - 1] + 1
                } else {
                    table[(i - 1) * width + j].max(table[i * width + j - 1])
                };
            }
        }
        let total = table[a.len() * width + b.len()] as usize;
        if self.len_only {
            return Ok(Reply::Int(total as i64));
        }
        // Walk back from the end, collecting the sequence and, for IDX,
        // the contiguous matching ranges (last ones first, as Redis).
        let mut seq = vec![0u8; total];
        let mut k = total;
        let mut matches = Vec::new();
        let (mut i, mut j) = (a.len(), b.len());
        let none = a.len();
        let (mut a_start, mut a_end, mut b_start, mut b_end) = (none, 0, 0, 0);
        while i > 0 && j > 0 {
            let mut emit = false;
            if a[i - 1] == b[j - 1] {
                seq[k - 1] = a[i - 1];
                if a_start == none {
                    (a_start, a_end, b_start, b_end) = (i - 1, i - 1, j - 1, j - 1);
                } else if a_start == i && b_start == j {
                    a_start -= 1;
                    b_start -= 1;
                } else {
                    emit = true;
                }
                if a_start == 0 || b_start == 0 {
                    emit = true;
                }
                k -= 1;
                i -= 1;
                j -= 1;
            } else {
                if table[(i - 1) * width + j] > table[i * width + j - 1] {
                    i -= 1;
                } else {
                    j -= 1;
                }
                if a_start != none {
                    emit = true;
                }
            }
            if emit {
                let len = (a_end - a_start + 1) as u64;
                if self.min_match == 0 || len >= self.min_match {
                    let mut item = vec![
                        Reply::Array(vec![Reply::Int(a_start as i64), Reply::Int(a_end as i64)]),
                        Reply::Array(vec![Reply::Int(b_start as i64), Reply::Int(b_end as i64)]),
                    ];
                    if self.with_match_len {
                        item.push(Reply::Int(len as i64));
                    }
                    matches.push(Reply::Array(item));
                }
                a_start = none;
            }
        }
        if !self.idx {
            return Ok(Reply::Bulk(Bytes::from(seq)));
        }
        Ok(Reply::Map(vec![
            (Reply::bulk("matches"), Reply::Array(matches)),
            (Reply::bulk("len"), Reply::Int(total as i64)),
        ]))
    }
}

impl Execute for Lcs {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        self.run(ctx).into()
    }
}
