//! ZUNION, ZINTER, ZDIFF, their STORE forms, and ZINTERCARD.
//!
//! As in Redis, the input keys are looked up (and their types checked)
//! before the options after them are judged, so a wrong-typed key reports
//! WRONGTYPE even when an option is bad; parsing keeps the option error
//! for the execution to report in that order.

use ahash::AHashMap;
use bytes::Bytes;

use super::{limits, members_reply, store};
use crate::commands::args::{is, parse_f64, parse_i64, parse_i64_opt};
use crate::commands::{boxed, Args, Ctx, Execute};
use crate::error::{self, CommandError};
use crate::keyspace::{Entry, Value, ZSet};
use crate::protocol::Reply;

/// Which set operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

/// How scores of a member present in several inputs combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    fn fold(self, acc: f64, value: f64) -> f64 {
        match self {
            Aggregate::Sum => {
                // inf + -inf: Redis stores 0 rather than NaN.
                let sum = acc + value;
                if sum.is_nan() {
                    0.0
                } else {
                    sum
                }
            }
            Aggregate::Min => acc.min(value),
            Aggregate::Max => acc.max(value),
        }
    }
}

/// The options after the keys.
#[derive(Debug, Clone)]
struct Options {
    weights: Vec<f64>,
    aggregate: Aggregate,
    withscores: bool,
    limit: usize,
}

/// What the command does with the result.
#[derive(Debug)]
enum Output {
    /// Reply with the members (ZUNION, ZINTER, ZDIFF).
    Reply,
    /// Store at this key and reply with the count (…STORE).
    Store(Bytes),
    /// Reply with the intersection's size (ZINTERCARD).
    Card,
}

struct ZSetOps {
    op: SetOp,
    keys: Vec<Bytes>,
    output: Output,
    /// The options, or the error judging them gave (reported after the key
    /// types are checked).
    options: Result<Options, CommandError>,
}

/// Parses `numkeys key… options` for `name`; `output` says what to do.
fn parse(
    name: &str,
    op: SetOp,
    output: Output,
    mut args: Args,
) -> Result<Box<dyn Execute>, CommandError> {
    let numkeys = parse_i64(&args.next_arg()?)?;
    if numkeys < 1 {
        return Err(CommandError::new(format!(
            "ERR at least 1 input key is needed for '{name}' command"
        )));
    }
    let rest = args.rest();
    let numkeys = usize::try_from(numkeys).unwrap_or(usize::MAX);
    if numkeys > rest.len() {
        return Err(error::SYNTAX);
    }
    let mut rest = rest.into_iter();
    let keys: Vec<Bytes> = rest.by_ref().take(numkeys).collect();
    let options = parse_options(op, &output, numkeys, rest.collect());
    boxed(ZSetOps {
        op,
        keys,
        output,
        options,
    })
}

fn parse_options(
    op: SetOp,
    output: &Output,
    numkeys: usize,
    words: Vec<Bytes>,
) -> Result<Options, CommandError> {
    let mut opts = Options {
        weights: vec![1.0; numkeys],
        aggregate: Aggregate::Sum,
        withscores: false,
        limit: 0,
    };
    let card = matches!(output, Output::Card);
    let scored = op != SetOp::Diff && !card;
    let mut i = 0;
    while i < words.len() {
        let word = &words[i];
        let remaining = words.len() - i;
        if scored && remaining > numkeys && is(word, "WEIGHTS") {
            for (w, raw) in opts.weights.iter_mut().zip(&words[i + 1..=i + numkeys]) {
                *w = parse_f64(raw).ok_or(error::WEIGHT_NOT_FLOAT)?;
            }
            i += 1 + numkeys;
        } else if scored && remaining >= 2 && is(word, "AGGREGATE") {
            let how = &words[i + 1];
            opts.aggregate = if is(how, "SUM") {
                Aggregate::Sum
            } else if is(how, "MIN") {
                Aggregate::Min
            } else if is(how, "MAX") {
                Aggregate::Max
            } else {
                return Err(error::SYNTAX);
            };
            i += 2;
        } else if matches!(output, Output::Reply) && is(word, "WITHSCORES") {
            opts.withscores = true;
            i += 1;
        } else if card && remaining >= 2 && is(word, "LIMIT") {
            let limit = parse_i64_opt(&words[i + 1])
                .filter(|&n| n >= 0)
                .ok_or(error::LIMIT_NEGATIVE)?;
            opts.limit = usize::try_from(limit).unwrap_or(usize::MAX);
            i += 2;
        } else {
            return Err(error::SYNTAX);
        }
    }
    Ok(opts)
}

pub(super) fn parse_zunion(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse("zunion", SetOp::Union, Output::Reply, args)
}

pub(super) fn parse_zinter(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse("zinter", SetOp::Inter, Output::Reply, args)
}

pub(super) fn parse_zdiff(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse("zdiff", SetOp::Diff, Output::Reply, args)
}

pub(super) fn parse_zintercard(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse("zintercard", SetOp::Inter, Output::Card, args)
}

fn parse_store(name: &str, op: SetOp, mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let dest = args.next_arg()?;
    parse(name, op, Output::Store(dest), args)
}

pub(super) fn parse_zunionstore(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_store("zunionstore", SetOp::Union, args)
}

pub(super) fn parse_zinterstore(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_store("zinterstore", SetOp::Inter, args)
}

pub(super) fn parse_zdiffstore(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_store("zdiffstore", SetOp::Diff, args)
}

/// The result as (member, score) pairs, unordered; for ZINTERCARD only
/// the count matters and at most `limit` (0: no limit) are found.
fn combine(op: SetOp, inputs: &[(Option<&ZSet>, f64)], opts: &Options) -> Vec<(Bytes, f64)> {
    let weighted = |score: f64, weight: f64| {
        let v = score * weight;
        if v.is_nan() {
            0.0
        } else {
            v
        }
    };
    match op {
        SetOp::Union => {
            let mut acc: AHashMap<Bytes, f64> = AHashMap::new();
            for &(set, weight) in inputs {
                for (member, score) in set.into_iter().flat_map(ZSet::iter) {
                    let v = weighted(score, weight);
                    acc.entry(member.clone())
                        .and_modify(|s| *s = opts.aggregate.fold(*s, v))
                        .or_insert(v);
                }
            }
            acc.into_iter().collect()
        }
        SetOp::Inter => {
            // Walk the smallest input; an absent key makes it empty.
            let Some(smallest) =
                (0..inputs.len()).min_by_key(|&i| inputs[i].0.map_or(0, ZSet::len))
            else {
                return Vec::new();
            };
            let Some(base) = inputs[smallest].0 else {
                return Vec::new();
            };
            let mut out = Vec::new();
            'members: for (member, score) in base.iter() {
                let mut total = weighted(score, inputs[smallest].1);
                for (i, &(set, weight)) in inputs.iter().enumerate() {
                    if i == smallest {
                        continue;
                    }
                    match set.and_then(|s| s.score(member)) {
                        Some(s) => total = opts.aggregate.fold(total, s * weight),
                        None => continue 'members,
                    }
                }
                out.push((member.clone(), total));
                if opts.limit > 0 && out.len() >= opts.limit {
                    break;
                }
            }
            out
        }
        SetOp::Diff => {
            let Some(first) = inputs[0].0 else {
                return Vec::new();
            };
            first
                .iter()
                .filter(|(member, _)| {
                    !inputs[1..]
                        .iter()
                        .any(|(set, _)| set.is_some_and(|s| s.score(member).is_some()))
                })
                .map(|(member, score)| (member.clone(), score))
                .collect()
        }
    }
}

impl Execute for ZSetOps {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let limits = limits(ctx);
        let resp3 = ctx.session.resp3;
        let now = ctx.now;
        let (db, stats) = ctx.db();
        // Look every key up first (WRONGTYPE before option errors; hits,
        // misses and lazy expiry as for any read). A plain set is an input
        // too, its members scored 1, as in Redis.
        for key in &self.keys {
            match db.get(key, now, stats) {
                None
                | Some(Entry {
                    value: Value::ZSet(_) | Value::Set(_),
                    ..
                }) => {}
                Some(_) => return error::WRONGTYPE.into(),
            }
        }
        let opts = match self.options {
            Ok(opts) => opts,
            Err(e) => return e.into(),
        };
        let from_sets: Vec<Option<ZSet>> = self
            .keys
            .iter()
            .map(|key| match db.table().get(key) {
                Some(Entry {
                    value: Value::Set(set),
                    ..
                }) => Some(ZSet::from_pairs(
                    set.iter().map(|m| (Bytes::copy_from_slice(m), 1.0)),
                    limits,
                )),
                _ => None,
            })
            .collect();
        let inputs: Vec<(Option<&ZSet>, f64)> = self
            .keys
            .iter()
            .zip(&opts.weights)
            .zip(&from_sets)
            .map(|((key, &w), converted)| {
                let set = match db.table().get(key) {
                    Some(Entry {
                        value: Value::ZSet(z),
                        ..
                    }) => Some(&**z),
                    _ => converted.as_ref(),
                };
                (set, w)
            })
            .collect();
        let pairs = combine(self.op, &inputs, &opts);
        match self.output {
            Output::Card => Reply::Int(pairs.len() as i64),
            Output::Store(dest) => {
                let n = pairs.len();
                let event = match self.op {
                    SetOp::Union => "zunionstore",
                    SetOp::Inter => "zinterstore",
                    SetOp::Diff => "zdiffstore",
                };
                store(db, dest, ZSet::from_pairs(pairs, limits), now, event);
                Reply::Int(n as i64)
            }
            Output::Reply => {
                let result = ZSet::restored(pairs);
                members_reply(result.iter(), opts.withscores, resp3)
            }
        }
    }
}
