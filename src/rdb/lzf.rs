//! LZF decompression, for strings Redis stored compressed (`rdbcompression
//! yes`, strings longer than 20 bytes). Sluice never compresses what it
//! emits, so only the decoder is here.
//!
//! ```text
//! control byte c:
//!   c < 32          literal run: the next c+1 bytes are copied
//!   c >> 5 in 1..=6 back reference of (c>>5)+2 bytes, distance
//!                   ((c & 31) << 8) + next byte + 1
//!   c >> 5 == 7     long back reference: length 7 + next byte + 2, then
//!                   the distance's low byte
//! ```

/// Decompresses `input` into exactly `out_len` bytes; `None` if the input
/// is malformed or does not produce exactly that many bytes. The caller
/// bounds `out_len` before calling (it is allocated up front).
pub fn decompress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(out_len);
    let mut ip = 0;
    while ip < input.len() {
        let ctrl = usize::from(input[ip]);
        ip += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            let lit = input.get(ip..ip + run)?;
            if out.len() + run > out_len {
                return None;
            }
            out.extend_from_slice(lit);
            ip += run;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += usize::from(*input.get(ip)?);
                ip += 1;
            }
            len += 2;
            let low = usize::from(*input.get(ip)?);
            ip += 1;
            let dist = ((ctrl & 0x1f) << 8) + low + 1;
            if dist > out.len() || out.len() + len > out_len {
                return None;
            }
            let start = out.len() - dist;
            // The reference may overlap what it produces: copy byte by byte.
            for i in 0..len {
                let b = out[start + i];
                out.push(b);
            }
        }
    }
    (out.len() == out_len).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::decompress;

    #[test]
    fn literal_and_overlapping_back_reference() {
        // "aa" literal, then a 96-byte reference at distance 1 (from
        // redis-server 7.0's DUMP of 100 × "a"), then "aa".
        let input = [0x01, b'a', b'a', 0xe0, 0x57, 0x00, 0x01, b'a', b'a'];
        assert_eq!(decompress(&input, 100), Some(vec![b'a'; 100]));
        assert_eq!(decompress(&input, 99), None);
        assert_eq!(decompress(&input, 101), None);
    }

    #[test]
    fn malformed_inputs_are_refused() {
        assert_eq!(decompress(&[0x05, b'a'], 6), None); // literal runs off
        assert_eq!(decompress(&[0x20, 0x00], 3), None); // reference before start
        assert_eq!(decompress(&[0xe0], 9), None); // missing length byte
    }
}
