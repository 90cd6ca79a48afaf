//! CRC-64/Jones (reflected, polynomial `0xad93d23594c935a9`, initial value
//! and final XOR 0): the checksum Redis puts at the end of every DUMP
//! payload and RDB file. Computed byte by byte from a 256-entry table built
//! at compile time; DUMP payloads are small enough that slicing-by-8 would
//! not pay for itself.

/// The polynomial, bit-reversed (the algorithm is reflected).
const POLY_REFLECTED: u64 = 0x95ac_9329_ac4b_c9b5;

const TABLE: [u64; 256] = {
    let mut table = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY_REFLECTED
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// The CRC-64/Jones of `data`.
pub fn crc64(data: &[u8]) -> u64 {
    data.iter().fold(0u64, |crc, &b| {
        TABLE[((crc ^ u64::from(b)) & 0xff) as usize] ^ (crc >> 8)
    })
}

#[cfg(test)]
mod tests {
    use super::crc64;

    #[test]
    fn check_value_matches_the_catalogue() {
        // The standard check input; Redis's crc64.c test prints this value.
        assert_eq!(crc64(b"123456789"), 0xe9c6_d914_c4b8_d9ca);
        assert_eq!(crc64(b""), 0);
    }
}
