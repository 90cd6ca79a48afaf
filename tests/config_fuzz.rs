//! Fuzz-style checks of configuration parsing, the path every config
//! file, command-line flag and CONFIG SET goes through: random directive
//! files and random CONFIG SET pairs never panic, and whatever a parameter
//! accepts reads back with CONFIG GET in a form it accepts again, unchanged
//! (so CONFIG REWRITE-style round trips hold). Bounded and seeded, so a
//! failure reproduces; `FUZZ_ROUNDS` raises the count for a long run
//! (docs/FUZZING.md).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sluice::config::{Config, IGNORED, PARAMS};

fn rounds() -> usize {
    std::env::var("FUZZ_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
}

/// A value biased toward what parsers trip on: numbers near limits, units,
/// signs, spaces, quotes, escapes, bytes that are not UTF-8.
fn random_value(rng: &mut StdRng) -> Vec<u8> {
    const PIECES: &[&[u8]] = &[
        b"0",
        b"1",
        b"-1",
        b"+1",
        b"01",
        b"65535",
        b"65536",
        b"9223372036854775807",
        b"9223372036854775808",
        b"-9223372036854775808",
        b"18446744073709551616",
        b"kb",
        b"mb",
        b"gb",
        b"k",
        b"g",
        b"KB",
        b"1.5",
        b"1e3",
        b" ",
        b"  ",
        b"\t",
        b"\"",
        b"'",
        b"\\x",
        b"\\xff",
        b"\xff",
        b"\xfe\x00",
        b"\r",
        b"\n",
        b"always",
        b"everysec",
        b"no",
        b"yes",
        b"local",
        b"strict",
        b"tolerate-corruption",
        b"normal",
        b"pubsub",
        b"replica",
        b"notice",
        b"warning",
        b"debug",
        b"verbose",
        b"127.0.0.1",
        b"::1",
        b"/tmp/x",
        b"",
        b"-",
        b"*",
        b"inf",
        b"nan",
        b"512mb",
        b"1gb",
        b"4096",
    ];
    let mut out = Vec::new();
    for _ in 0..rng.random_range(0..6) {
        if rng.random_range(0..8) == 0 {
            out.push(rng.random());
        } else {
            out.extend_from_slice(PIECES[rng.random_range(0..PIECES.len())]);
        }
    }
    out
}

fn random_name(rng: &mut StdRng) -> String {
    match rng.random_range(0..10) {
        0 => IGNORED[rng.random_range(0..IGNORED.len())].to_string(),
        1 => "no-such-option".into(),
        2 => PARAMS[rng.random_range(0..PARAMS.len())].to_ascii_uppercase(),
        _ => PARAMS[rng.random_range(0..PARAMS.len())].to_string(),
    }
}

#[test]
fn random_config_set_pairs_never_panic_and_round_trip() {
    let mut rng = StdRng::seed_from_u64(5);
    let mut accepted = 0usize;
    for _ in 0..rounds() {
        let name = random_name(&mut rng);
        let value = random_value(&mut rng);
        let mut config = Config::default();
        let running = rng.random();
        if config.set_bytes(&name, &value, running).is_err() {
            continue;
        }
        accepted += 1;
        let lower = name.to_ascii_lowercase();
        let shown = config
            .get_bytes(&lower)
            .unwrap_or_else(|| panic!("{lower} accepted {value:?} but has no value"));
        let mut again = config.clone();
        again
            .set_bytes(&lower, &shown, running)
            .unwrap_or_else(|e| panic!("{lower}: {shown:?} (from {value:?}) refused: {e}"));
        assert_eq!(
            again.get_bytes(&lower),
            Some(shown.clone()),
            "{lower}: {value:?} read back as {shown:?}, which does not round-trip"
        );
    }
    // The generator must reach the accepting paths, or this tests little.
    assert!(accepted > rounds() / 20, "only {accepted} accepted");
}

#[test]
fn random_config_files_never_panic() {
    let mut rng = StdRng::seed_from_u64(9);
    for _ in 0..rounds() / 4 {
        let mut text = Vec::new();
        for _ in 0..rng.random_range(0..8) {
            match rng.random_range(0..6) {
                0 => text.extend_from_slice(b"# a comment"),
                1 => {}
                _ => {
                    text.extend_from_slice(random_name(&mut rng).as_bytes());
                    text.push(b' ');
                    text.extend_from_slice(&random_value(&mut rng));
                }
            }
            text.push(b'\n');
        }
        // Files are read as text; what is not UTF-8 is refused before.
        let text = String::from_utf8_lossy(&text);
        let _ = Config::default().apply_file(&text, "fuzz.conf");
    }
}
