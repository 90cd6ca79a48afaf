//! Fuzz-style checks of the request decoder: random, mutated and truncated
//! input never panics, and valid requests decode the same whether they
//! arrive whole or in random pieces. Bounded and seeded, so a failure
//! reproduces; `FUZZ_ROUNDS` raises the count for a long run
//! (docs/FUZZING.md).

use bytes::{Bytes, BytesMut};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sluice::protocol::{Limits, RequestDecoder};

fn rounds() -> usize {
    std::env::var("FUZZ_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
}

/// Feeds `input` in chunks and collects requests until an error or the end.
fn decode_in_chunks(input: &[u8], rng: &mut StdRng, limits: Limits) -> (Vec<Vec<Bytes>>, bool) {
    let mut decoder = RequestDecoder::new();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < input.len() {
        let n = rng.random_range(1..=(input.len() - pos).min(64));
        buf.extend_from_slice(&input[pos..pos + n]);
        pos += n;
        loop {
            match decoder.decode(&mut buf, limits) {
                Ok(Some(args)) => out.push(args),
                Ok(None) => break,
                Err(_) => return (out, true),
            }
        }
    }
    (out, false)
}

fn random_request(rng: &mut StdRng) -> (Vec<u8>, Vec<Bytes>) {
    let argc = rng.random_range(1..6);
    let mut args = Vec::new();
    let mut wire = format!("*{argc}\r\n").into_bytes();
    for _ in 0..argc {
        let len = rng.random_range(0..40);
        let arg: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        wire.extend_from_slice(format!("${len}\r\n").as_bytes());
        wire.extend_from_slice(&arg);
        wire.extend_from_slice(b"\r\n");
        args.push(Bytes::from(arg));
    }
    (wire, args)
}

#[test]
fn valid_pipelines_decode_identically_in_any_chunking() {
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..rounds() / 10 {
        let mut wire = Vec::new();
        let mut expected = Vec::new();
        for _ in 0..rng.random_range(1..8) {
            let (w, args) = random_request(&mut rng);
            wire.extend(w);
            expected.push(args);
        }
        let (got, errored) = decode_in_chunks(&wire, &mut rng, Limits::default());
        assert!(!errored);
        assert_eq!(got, expected);
    }
}

#[test]
fn valid_frames_agree_with_an_independent_decoder() {
    let mut rng = StdRng::seed_from_u64(11);
    for _ in 0..rounds() / 10 {
        let (wire, args) = random_request(&mut rng);
        let (frame, used) = redis_protocol::resp2::decode::decode(&wire)
            .expect("valid frame")
            .expect("complete frame");
        assert_eq!(used, wire.len());
        let redis_protocol::resp2::types::OwnedFrame::Array(items) = frame else {
            panic!("not an array");
        };
        let theirs: Vec<Bytes> = items
            .into_iter()
            .map(|f| match f {
                redis_protocol::resp2::types::OwnedFrame::BulkString(b) => Bytes::from(b),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(theirs, args);
        let (ours, _) = decode_in_chunks(&wire, &mut rng, Limits::default());
        assert_eq!(ours, vec![theirs]);
    }
}

#[test]
fn random_and_mutated_input_never_panics() {
    let mut rng = StdRng::seed_from_u64(42);
    let alphabet: &[u8] = b"*$:+-\r\n0123456789 \"'\\xabc\x00\xff";
    for round in 0..rounds() {
        let input: Vec<u8> = if round % 2 == 0 {
            // Noise biased toward protocol characters.
            (0..rng.random_range(0..200))
                .map(|_| alphabet[rng.random_range(0..alphabet.len())])
                .collect()
        } else {
            // A valid request with a few bytes flipped, cut short.
            let (mut wire, _) = random_request(&mut rng);
            for _ in 0..rng.random_range(1..4) {
                let i = rng.random_range(0..wire.len());
                wire[i] = alphabet[rng.random_range(0..alphabet.len())];
            }
            let cut = rng.random_range(0..=wire.len());
            wire.truncate(cut);
            wire
        };
        let limits = Limits {
            max_bulk_len: 1 << 20,
            authenticated: round % 3 != 0,
        };
        let _ = decode_in_chunks(&input, &mut rng, limits);
    }
}

#[test]
fn truncated_request_waits_for_more() {
    let mut rng = StdRng::seed_from_u64(3);
    for _ in 0..rounds() / 10 {
        let (wire, args) = random_request(&mut rng);
        let cut = rng.random_range(0..wire.len());
        let mut decoder = RequestDecoder::new();
        let mut buf = BytesMut::from(&wire[..cut]);
        assert_eq!(decoder.decode(&mut buf, Limits::default()), Ok(None));
        buf.extend_from_slice(&wire[cut..]);
        assert_eq!(decoder.decode(&mut buf, Limits::default()), Ok(Some(args)));
    }
}
