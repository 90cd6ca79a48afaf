//! The x87 80-bit extended precision ("long double") arithmetic that
//! INCRBYFLOAT uses in Redis: numbers are read with a correctly rounded
//! conversion to a 64-bit significand, added with one rounding, and printed
//! with 17 digits after the point (trailing zeros dropped), so that
//! `0.1 + 0.2` gives `0.3` and `10000000000 + 0.1` gives
//! `10000000000.09999999962747097`, exactly as Redis replies.

use std::cmp::Ordering;

/// Exponent of the lowest significand bit of the smallest subnormal.
const MIN_LSB_EXP: i64 = -16445;
/// Values must stay below 2^MAX_EXP.
const MAX_EXP: i64 = 16384;
/// The longest text Redis reads as a long double.
const MAX_CHARS: usize = 5 * 1024;

/// A finite extended-precision value: `(-1)^neg * mant * 2^exp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongDouble {
    neg: bool,
    mant: u64,
    exp: i64,
}

/// Either a finite value or an infinity (which INCRBYFLOAT rejects).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed {
    /// A finite value.
    Finite(LongDouble),
    /// Plus or minus infinity.
    Infinite,
}

impl LongDouble {
    /// Zero.
    pub const ZERO: LongDouble = LongDouble {
        neg: false,
        mant: 0,
        exp: 0,
    };

    fn is_zero(&self) -> bool {
        self.mant == 0
    }

    /// The sum, rounded to nearest; `None` if it overflows (or either
    /// side is infinite).
    pub fn add(&self, other: &Parsed) -> Option<LongDouble> {
        let Parsed::Finite(b) = other else {
            return None;
        };
        let a = *self;
        let b = *b;
        if a.is_zero() {
            return Some(b);
        }
        if b.is_zero() {
            return Some(a);
        }
        let emin = a.exp.min(b.exp);
        if a.exp - emin > 200 || b.exp - emin > 200 {
            // One side is below a quarter of the other's last bit: the
            // larger side is the rounded result.
            return Some(if a.exp > b.exp { a } else { b });
        }
        let mut x = Big::from_u64(a.mant);
        x.shl(((a.exp - emin) as u64) as u32);
        let mut y = Big::from_u64(b.mant);
        y.shl(((b.exp - emin) as u64) as u32);
        let (neg, sum) = if a.neg == b.neg {
            x.add(&y);
            (a.neg, x)
        } else {
            match x.cmp(&y) {
                Ordering::Equal => return Some(LongDouble::ZERO),
                Ordering::Greater => {
                    x.sub(&y);
                    (a.neg, x)
                }
                Ordering::Less => {
                    y.sub(&x);
                    (b.neg, y)
                }
            }
        };
        match round(sum, emin, false, neg) {
            Parsed::Finite(v) => Some(v),
            Parsed::Infinite => None,
        }
    }

    /// `printf("%.17Lf")` with trailing zeros (and a bare point)
    /// removed, and `-0` shown as `0`: Redis's human-friendly form.
    pub fn to_human_string(self) -> String {
        // value * 10^17, rounded half to even.
        let mut scaled = Big::from_u64(self.mant);
        scaled.mul_pow10(17);
        let scaled = if self.exp >= 0 {
            scaled.shl(self.exp as u32);
            scaled
        } else {
            let shift = (-self.exp) as u64;
            let mut q = scaled.shr(shift);
            let half = shift > 0 && scaled.bit(shift - 1);
            let sticky = shift > 1 && scaled.any_below(shift - 1);
            if half && (sticky || q.bit(0)) {
                q.add(&Big::from_u64(1));
            }
            q
        };
        let mut digits = scaled.to_decimal();
        if digits.len() < 18 {
            digits = format!("{}{digits}", "0".repeat(18 - digits.len()));
        }
        let (int, frac) = digits.split_at(digits.len() - 17);
        let frac = frac.trim_end_matches('0');
        let mut out = String::with_capacity(digits.len() + 2);
        if self.neg {
            out.push('-');
        }
        out.push_str(int);
        if !frac.is_empty() {
            out.push('.');
            out.push_str(frac);
        }
        if out == "-0" {
            out = "0".into();
        }
        out
    }
}

/// Reads a number as Redis's `strtold`-based check does: decimal or
/// hexadecimal notation, optional sign and exponent, `inf`/`infinity`;
/// no NaN, no surrounding spaces, nothing left over, no overflow, and no
/// underflow to zero. `None` means "not a valid float".
pub fn parse(raw: &[u8]) -> Option<Parsed> {
    if raw.is_empty() || raw.len() >= MAX_CHARS {
        return None;
    }
    let (neg, body) = match raw[0] {
        b'-' => (true, &raw[1..]),
        b'+' => (false, &raw[1..]),
        _ => (false, raw),
    };
    let lower = body.to_ascii_lowercase();
    if lower == b"inf" || lower == b"infinity" {
        return Some(Parsed::Infinite);
    }
    let (hex, body) = if lower.starts_with(b"0x") {
        (true, &lower[2..])
    } else {
        (false, &lower[..])
    };
    let radix: u32 = if hex { 16 } else { 10 };
    let exp_char = if hex { b'p' } else { b'e' };
    // Significand digits, with the count of those after the point.
    let mut mant = Big::from_u64(0);
    let mut any_digit = false;
    let mut frac_digits: i64 = 0;
    let mut seen_point = false;
    let mut significant = 0usize;
    let mut i = 0;
    while i < body.len() {
        let c = body[i];
        if c == b'.' && !seen_point {
            seen_point = true;
        } else if let Some(d) = (c as char).to_digit(radix) {
            any_digit = true;
            if d != 0 || !mant.is_zero() {
                significant += 1;
            }
            mant.mul_small(radix);
            mant.add(&Big::from_u64(d as u64));
            if seen_point {
                frac_digits += 1;
            }
        } else {
            break;
        }
        i += 1;
    }
    if !any_digit {
        return None;
    }
    let mut exp: i64 = 0;
    if i < body.len() {
        if body[i] != exp_char {
            return None;
        }
        i += 1;
        let exp_neg = match body.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        if i >= body.len() {
            return None;
        }
        for &c in &body[i..] {
            if !c.is_ascii_digit() {
                return None;
            }
            exp = (exp * 10 + (c - b'0') as i64).min(1_000_000);
        }
        if exp_neg {
            exp = -exp;
        }
    }
    if mant.is_zero() {
        return Some(Parsed::Finite(LongDouble::ZERO));
    }
    let parsed = if hex {
        round(mant, exp - 4 * frac_digits, false, neg)
    } else {
        let e10 = exp - frac_digits;
        let magnitude = significant as i64 + e10; // value < 10^magnitude
        if magnitude > 4934 {
            return None; // far beyond the largest long double
        }
        if magnitude < -4952 {
            return None; // rounds to zero
        }
        if e10 >= 0 {
            mant.mul_pow10(e10 as u32);
            round(mant, 0, false, neg)
        } else {
            // mant / 10^m with about 68 quotient bits and a sticky
            // remainder.
            let mut den = Big::from_u64(1);
            den.mul_pow10((-e10) as u32);
            let k = 68 + den.bits() as i64 - mant.bits() as i64;
            if k > 0 {
                mant.shl(k as u32);
            } else {
                den.shl((-k) as u32);
            }
            let (q, inexact) = mant.div(&den);
            round(q, -k, inexact, neg)
        }
    };
    match parsed {
        Parsed::Finite(v) if v.is_zero() => None,
        Parsed::Infinite => None,
        p => Some(p),
    }
}

/// Rounds `n * 2^e2` (plus a sticky bit below it when `inexact`) to a
/// 64-bit significand, half to even, with gradual underflow.
fn round(n: Big, e2: i64, inexact: bool, neg: bool) -> Parsed {
    let (n, e2) = if inexact {
        let mut n = n;
        n.shl(1);
        n.add(&Big::from_u64(1));
        (n, e2 - 1)
    } else {
        (n, e2)
    };
    if n.is_zero() {
        return Parsed::Finite(LongDouble::ZERO);
    }
    let bits = n.bits() as i64;
    let shift = (bits - 64).max(MIN_LSB_EXP - e2);
    let (mut mant, mut exp) = if shift <= 0 {
        (n.low_u64() << (-shift) as u32, e2 + shift)
    } else {
        let s = shift as u64;
        let mant = n.shr(s).low_u64();
        let half = n.bit(s - 1);
        let sticky = s > 1 && n.any_below(s - 1);
        let mut mant = mant;
        let mut exp = e2 + shift;
        if half && (sticky || mant & 1 == 1) {
            match mant.checked_add(1) {
                Some(m) => mant = m,
                None => {
                    mant = 1 << 63;
                    exp += 1;
                }
            }
        }
        (mant, exp)
    };
    if mant == 0 {
        return Parsed::Finite(LongDouble::ZERO);
    }
    // Keep the significand normalized where the exponent allows, so
    // that equal values compare equal.
    while mant >> 63 == 0 && exp > MIN_LSB_EXP {
        mant <<= 1;
        exp -= 1;
    }
    let top = exp + 64 - mant.leading_zeros() as i64;
    if top > MAX_EXP {
        return Parsed::Infinite;
    }
    Parsed::Finite(LongDouble { neg, mant, exp })
}

/// A small unsigned big integer (little-endian 32-bit limbs), just
/// enough for exact conversions.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Big(Vec<u32>);

impl Big {
    fn from_u64(v: u64) -> Big {
        let mut b = Big(vec![v as u32, (v >> 32) as u32]);
        b.trim();
        b
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    fn bits(&self) -> u64 {
        match self.0.last() {
            None => 0,
            Some(&top) => (self.0.len() as u64 - 1) * 32 + (32 - top.leading_zeros()) as u64,
        }
    }

    fn bit(&self, i: u64) -> bool {
        let limb = (i / 32) as usize;
        limb < self.0.len() && (self.0[limb] >> (i % 32)) & 1 == 1
    }

    /// Whether any bit below position `i` is set.
    fn any_below(&self, i: u64) -> bool {
        let full = ((i / 32) as usize).min(self.0.len());
        if self.0[..full].iter().any(|&l| l != 0) {
            return true;
        }
        let rem = i % 32;
        full < self.0.len() && rem > 0 && self.0[full] & ((1u32 << rem) - 1) != 0
    }

    fn low_u64(&self) -> u64 {
        let lo = self.0.first().copied().unwrap_or(0) as u64;
        let hi = self.0.get(1).copied().unwrap_or(0) as u64;
        lo | (hi << 32)
    }

    fn mul_small(&mut self, m: u32) {
        let mut carry = 0u64;
        for limb in &mut self.0 {
            let v = *limb as u64 * m as u64 + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            self.0.push(carry as u32);
        }
        self.trim();
    }

    fn mul_pow10(&mut self, mut n: u32) {
        while n >= 9 {
            self.mul_small(1_000_000_000);
            n -= 9;
        }
        if n > 0 {
            self.mul_small(10u32.pow(n));
        }
    }

    fn add(&mut self, other: &Big) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        let mut carry = 0u64;
        for i in 0..self.0.len() {
            let v = self.0[i] as u64 + other.0.get(i).copied().unwrap_or(0) as u64 + carry;
            self.0[i] = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            self.0.push(carry as u32);
        }
    }

    /// `self -= other`; `self` must not be smaller.
    fn sub(&mut self, other: &Big) {
        let mut borrow = 0i64;
        for i in 0..self.0.len() {
            let v = self.0[i] as i64 - other.0.get(i).copied().unwrap_or(0) as i64 - borrow;
            if v < 0 {
                self.0[i] = (v + (1i64 << 32)) as u32;
                borrow = 1;
            } else {
                self.0[i] = v as u32;
                borrow = 0;
            }
        }
        debug_assert_eq!(borrow, 0, "subtraction underflow");
        self.trim();
    }

    fn cmp(&self, other: &Big) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }

    fn shl(&mut self, bits: u32) {
        if self.is_zero() {
            return;
        }
        let limbs = (bits / 32) as usize;
        let rem = bits % 32;
        if rem > 0 {
            let mut carry = 0u32;
            for limb in &mut self.0 {
                let v = *limb;
                *limb = (v << rem) | carry;
                carry = v >> (32 - rem);
            }
            if carry > 0 {
                self.0.push(carry);
            }
        }
        if limbs > 0 {
            self.0.splice(0..0, std::iter::repeat_n(0, limbs));
        }
    }

    fn shr(&self, bits: u64) -> Big {
        let limbs = (bits / 32) as usize;
        if limbs >= self.0.len() {
            return Big(Vec::new());
        }
        let rem = (bits % 32) as u32;
        let src = &self.0[limbs..];
        let mut out = Vec::with_capacity(src.len());
        for i in 0..src.len() {
            let lo = src[i] >> rem;
            let hi = if rem > 0 {
                src.get(i + 1).map_or(0, |&h| h << (32 - rem))
            } else {
                0
            };
            out.push(lo | hi);
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    /// Quotient of `self / den` and whether there is a remainder.
    fn div(&self, den: &Big) -> (Big, bool) {
        let nb = self.bits();
        let db = den.bits();
        if nb < db {
            return (Big(Vec::new()), !self.is_zero());
        }
        let steps = nb - db;
        let mut rem = self.clone();
        let mut d = den.clone();
        d.shl(steps as u32);
        let mut q = Big(vec![0; (steps / 32 + 1) as usize]);
        for i in (0..=steps).rev() {
            if rem.cmp(&d) != Ordering::Less {
                rem.sub(&d);
                q.0[(i / 32) as usize] |= 1 << (i % 32);
            }
            d = d.shr(1);
        }
        q.trim();
        (q, !rem.is_zero())
    }

    /// Divides in place by a small number; returns the remainder.
    fn div_small(&mut self, d: u32) -> u32 {
        let mut rem = 0u64;
        for limb in self.0.iter_mut().rev() {
            let v = (rem << 32) | *limb as u64;
            *limb = (v / d as u64) as u32;
            rem = v % d as u64;
        }
        self.trim();
        rem as u32
    }

    fn to_decimal(&self) -> String {
        if self.is_zero() {
            return "0".into();
        }
        let mut n = self.clone();
        let mut chunks = Vec::new();
        while !n.is_zero() {
            chunks.push(n.div_small(1_000_000_000));
        }
        let mut out = chunks.pop().expect("nonzero").to_string();
        for chunk in chunks.iter().rev() {
            out.push_str(&format!("{chunk:09}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incr(a: &str, b: &str) -> Option<String> {
        let Parsed::Finite(a) = parse(a.as_bytes())? else {
            return None;
        };
        let b = parse(b.as_bytes())?;
        Some(a.add(&b)?.to_human_string())
    }

    #[test]
    fn sums_match_redis() {
        // Expected values are what Redis 7 replies on x86-64.
        assert_eq!(incr("10.5", "0.1").as_deref(), Some("10.6"));
        assert_eq!(incr("0.1", "0.2").as_deref(), Some("0.3"));
        assert_eq!(incr("5.0e3", "2.0e2").as_deref(), Some("5200"));
        assert_eq!(
            incr("10000000000", "0.1").as_deref(),
            Some("10000000000.09999999962747097")
        );
        assert_eq!(incr("0", "1.5e-17").as_deref(), Some("0.00000000000000002"));
        assert_eq!(incr("0", "-0.0000000000000000001").as_deref(), Some("0"));
        assert_eq!(incr("0", "3.0000000000000000005").as_deref(), Some("3"));
        assert_eq!(incr("0", "0x10").as_deref(), Some("16"));
        assert_eq!(incr("1", "-1").as_deref(), Some("0"));
        assert_eq!(incr("-1.5", "0.25").as_deref(), Some("-1.25"));
        assert_eq!(incr("0", "1e-4940").as_deref(), Some("0"));
        let big = incr("1e300", "1").unwrap();
        assert!(big.starts_with("100000000000000000000899732407955919387052394427329074793826"));
    }

    #[test]
    fn rejects_what_strtold_rejects() {
        for bad in [
            "", " 1", "1 ", "abc", "1e", "1e+", "nan", "-nan", "1.2.3", "0x", "1e5000", "-1e5000",
            "1e-5000", "--1",
        ] {
            assert_eq!(parse(bad.as_bytes()), None, "{bad:?}");
        }
        assert_eq!(parse(b"inf"), Some(Parsed::Infinite));
        assert_eq!(parse(b"-Infinity"), Some(Parsed::Infinite));
        assert!(parse(b"1.").is_some());
        assert!(parse(b".5").is_some());
        assert!(parse(b"+2").is_some());
        assert!(parse(b"0e99999").is_some());
    }

    #[test]
    fn overflow_is_infinite() {
        let max = parse(b"1.1e4932").unwrap();
        let Parsed::Finite(m) = max else { panic!() };
        assert_eq!(m.add(&max), None);
    }
}
