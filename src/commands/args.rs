//! Argument access and the number parsing rules Redis applies to them.

use bytes::Bytes;

use crate::error::{self, CommandError};

/// The arguments of one command, after its name (and subcommand).
#[derive(Debug)]
pub struct Args {
    items: std::vec::IntoIter<Bytes>,
    /// The command (or subcommand) name as the client typed it.
    typed_name: Option<Bytes>,
}

impl Args {
    /// Wraps the arguments that follow the command name.
    pub fn new(items: Vec<Bytes>) -> Self {
        Args {
            items: items.into_iter(),
            typed_name: None,
        }
    }

    /// Wraps the arguments that follow `name`, the command or subcommand
    /// word as the client typed it (some errors repeat it).
    pub fn named(items: Vec<Bytes>, name: Option<Bytes>) -> Self {
        Args {
            items: items.into_iter(),
            typed_name: name,
        }
    }

    /// The command or subcommand word as typed, when known.
    pub fn typed_name(&self) -> Option<&Bytes> {
        self.typed_name.as_ref()
    }

    /// Arguments left.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether no argument is left.
    pub fn is_empty(&self) -> bool {
        self.items.len() == 0
    }

    /// The next argument. Arity has been checked before parsing, so parsers
    /// call this for arguments the arity guarantees; a missing one is still
    /// a syntax error rather than a panic.
    pub fn next_arg(&mut self) -> Result<Bytes, CommandError> {
        self.items.next().ok_or(error::SYNTAX)
    }

    /// The next argument, if any.
    pub fn try_next(&mut self) -> Option<Bytes> {
        self.items.next()
    }

    /// The next argument as an i64 (Redis's strict integer rules).
    pub fn next_i64(&mut self) -> Result<i64, CommandError> {
        parse_i64(&self.next_arg()?)
    }

    /// Everything left.
    pub fn rest(self) -> Vec<Bytes> {
        self.items.collect()
    }

    /// Peeks at the next argument, upper-cased, for option matching.
    pub fn peek_upper(&self) -> Option<String> {
        self.items
            .as_slice()
            .first()
            .map(|a| String::from_utf8_lossy(a).to_ascii_uppercase())
    }
}

/// Parses an i64 as Redis does: optional `-`, no `+`, no spaces, no leading
/// zeros, at most 20 characters.
pub fn parse_i64(raw: &[u8]) -> Result<i64, CommandError> {
    parse_i64_opt(raw).ok_or(error::NOT_INTEGER)
}

/// [`parse_i64`] without the error.
pub fn parse_i64_opt(raw: &[u8]) -> Option<i64> {
    if raw.is_empty() || raw.len() > 20 {
        return None;
    }
    if raw == b"0" {
        return Some(0);
    }
    let (negative, digits) = match raw[0] {
        b'-' => (true, &raw[1..]),
        _ => (false, raw),
    };
    if digits.is_empty() || !(b'1'..=b'9').contains(&digits[0]) {
        return None;
    }
    let mut value: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if negative {
        if value > i64::MAX as u64 + 1 {
            return None;
        }
        Some((value as i64).wrapping_neg())
    } else {
        i64::try_from(value).ok()
    }
}

/// Parses a float as Redis does for INCRBYFLOAT and scores: decimal or
/// exponent notation, `inf`/`-inf`, no surrounding spaces, never NaN.
pub fn parse_f64(raw: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(raw).ok()?;
    if text.is_empty()
        || text.starts_with(char::is_whitespace)
        || text.ends_with(char::is_whitespace)
    {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    let value = match lower.as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ if lower.contains("inf") || lower.contains("nan") => return None,
        _ => text.parse::<f64>().ok()?,
    };
    (!value.is_nan()).then_some(value)
}

/// Whether `arg` equals `word`, ignoring ASCII case.
pub fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_follow_redis_rules() {
        assert_eq!(parse_i64_opt(b"0"), Some(0));
        assert_eq!(parse_i64_opt(b"-12"), Some(-12));
        assert_eq!(parse_i64_opt(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64_opt(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64_opt(b"9223372036854775808"), None);
        for bad in [
            &b"01"[..],
            b"+1",
            b" 1",
            b"1 ",
            b"-0",
            b"",
            b"-",
            b"1.0",
            b"abc",
        ] {
            assert_eq!(parse_i64_opt(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn floats() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"5e3"), Some(5000.0));
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b" 1"), None);
        assert_eq!(parse_f64(b"abc"), None);
    }
}
