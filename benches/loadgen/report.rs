//! Collecting rounds and printing the comparison table (Markdown, so a run
//! can go straight into docs/BENCHMARKS.md).

use std::fmt::Write as _;

use crate::server::Kind;
use crate::workloads::Round;

/// The figure a row compares, and which way is better.
#[derive(Debug, Clone, Copy)]
pub enum Metric {
    /// Operations (or entries, messages) per second; higher is better.
    Throughput,
    /// p99 latency in ns; lower is better.
    P99,
    /// The worst latency in ns; lower is better.
    Worst,
    /// Seconds; lower is better.
    Seconds,
    /// Bytes; lower is better.
    Bytes,
}

impl Metric {
    fn label(self) -> &'static str {
        match self {
            Metric::Throughput => "ops/s (higher is better)",
            Metric::P99 => "p99 latency (lower is better)",
            Metric::Worst => "worst latency (lower is better)",
            Metric::Seconds => "seconds (lower is better)",
            Metric::Bytes => "bytes (lower is better)",
        }
    }

    fn format(self, v: f64) -> String {
        match self {
            Metric::Throughput => thousands(v.round() as u64),
            Metric::P99 | Metric::Worst => latency(v as u64),
            Metric::Seconds => format!("{v:.2} s"),
            Metric::Bytes => bytes(v),
        }
    }
}

/// What one server did in one workload over all rounds.
#[derive(Debug)]
pub enum Cell {
    /// Rounds run so far.
    Rounds(Vec<Round>),
    /// The server answered a command of the workload with an error.
    Unsupported(String),
    /// Something else went wrong (crash, timeout, lost data).
    Failed(String),
}

impl Cell {
    /// Whether more rounds should run.
    pub fn is_live(&self) -> bool {
        matches!(self, Cell::Rounds(_))
    }

    /// Adds the outcome of a round.
    pub fn push(&mut self, r: Round) {
        if let Cell::Rounds(v) = self {
            v.push(r);
        }
    }

    fn values(&self) -> Vec<f64> {
        match self {
            Cell::Rounds(v) => v.iter().map(|r| r.value).collect(),
            _ => Vec::new(),
        }
    }
}

/// One line of the table.
#[derive(Debug)]
pub struct Row {
    pub name: String,
    pub metric: Metric,
    /// Whether the latency columns mean anything for this row.
    pub latencies: bool,
    pub cells: [Cell; 2],
}

impl Row {
    /// A row with no rounds yet.
    pub fn new(name: String, metric: Metric, latencies: bool) -> Row {
        Row {
            name,
            metric,
            latencies,
            cells: [Cell::Rounds(Vec::new()), Cell::Rounds(Vec::new())],
        }
    }

    /// The cell of `kind`.
    pub fn cell(&mut self, kind: Kind) -> &mut Cell {
        &mut self.cells[kind as usize]
    }

    /// Per-round ratios Sluice/Redis, for the rounds both ran.
    fn ratios(&self) -> Vec<f64> {
        let (s, r) = (self.cells[0].values(), self.cells[1].values());
        s.iter()
            .zip(&r)
            .filter(|(_, r)| **r > 0.0)
            .map(|(s, r)| s / r)
            .collect()
    }

    /// Whether any cell failed (not merely unsupported).
    pub fn failed(&self) -> bool {
        self.cells.iter().any(|c| matches!(c, Cell::Failed(_)))
    }
}

/// The value at percentile `p` of sorted `v` (0 when empty).
pub fn percentile(v: &[u64], p: f64) -> u64 {
    if v.is_empty() {
        return 0;
    }
    // Nearest rank; the small slack keeps 99.9% of 1000 at rank 999 despite
    // floating-point error.
    let rank = (p * v.len() as f64 / 100.0 - 1e-9).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn latency(ns: u64) -> String {
    if ns < 1_000_000 {
        format!("{:.0} µs", ns as f64 / 1e3)
    } else if ns < 1_000_000_000 {
        format!("{:.1} ms", ns as f64 / 1e6)
    } else {
        format!("{:.2} s", ns as f64 / 1e9)
    }
}

fn bytes(b: f64) -> String {
    if b < 10_000.0 {
        format!("{b:.0} B")
    } else if b < 10e6 {
        format!("{:.1} KiB", b / 1024.0)
    } else {
        format!("{:.1} MiB", b / (1024.0 * 1024.0))
    }
}

fn value_cell(metric: Metric, cell: &Cell) -> String {
    match cell {
        Cell::Rounds(_) => match median(cell.values()) {
            Some(v) => metric.format(v),
            None => "-".into(),
        },
        Cell::Unsupported(_) => "unsupported".into(),
        Cell::Failed(_) => "FAILED".into(),
    }
}

fn latency_cell(cell: &Cell) -> String {
    let Cell::Rounds(rounds) = cell else {
        return "-".into();
    };
    let mut all: Vec<u64> = rounds
        .iter()
        .flat_map(|r| r.lat_ns.iter().copied())
        .collect();
    if all.is_empty() {
        return "-".into();
    }
    all.sort_unstable();
    format!(
        "{} / {} / {}",
        latency(percentile(&all, 50.0)),
        latency(percentile(&all, 99.0)),
        latency(percentile(&all, 99.9))
    )
}

/// The table, then notes (unsupported and failed cells with their reason,
/// and each workload's extra facts).
pub fn render(rows: &[Row]) -> String {
    let mut out = String::new();
    out.push_str(
        "| workload | compares | sluice | redis | sluice/redis (min–max) \
         | sluice p50 / p99 / p99.9 | redis p50 / p99 / p99.9 |\n",
    );
    out.push_str("| --- | --- | ---: | ---: | ---: | ---: | ---: |\n");
    for row in rows {
        let ratios = row.ratios();
        let ratio = match median(ratios.clone()) {
            Some(m) => {
                let lo = ratios.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                if ratios.len() > 1 {
                    format!("{m:.2} ({lo:.2}–{hi:.2})")
                } else {
                    format!("{m:.2}")
                }
            }
            None => "-".into(),
        };
        let (ls, lr) = if row.latencies {
            (latency_cell(&row.cells[0]), latency_cell(&row.cells[1]))
        } else {
            ("-".into(), "-".into())
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            row.name,
            row.metric.label(),
            value_cell(row.metric, &row.cells[0]),
            value_cell(row.metric, &row.cells[1]),
            ratio,
            ls,
            lr
        );
    }
    let mut notes = String::new();
    for row in rows {
        for kind in Kind::BOTH {
            let cell = &row.cells[kind as usize];
            match cell {
                Cell::Unsupported(why) => {
                    let _ = writeln!(
                        notes,
                        "- {} on {}: unsupported ({why})",
                        row.name,
                        kind.name()
                    );
                }
                Cell::Failed(why) => {
                    let _ = writeln!(notes, "- {} on {}: FAILED: {why}", row.name, kind.name());
                }
                Cell::Rounds(rounds) => {
                    if let Some(first) = rounds.first() {
                        for n in &first.notes {
                            let _ = writeln!(notes, "- {} on {}: {n}", row.name, kind.name());
                        }
                    }
                }
            }
        }
    }
    if !notes.is_empty() {
        out.push_str("\nNotes:\n\n");
        out.push_str(&notes);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_ratio() {
        let v: Vec<u64> = (1..=1000).collect();
        assert_eq!(percentile(&v, 50.0), 500);
        assert_eq!(percentile(&v, 99.0), 990);
        assert_eq!(percentile(&v, 99.9), 999);
        assert_eq!(median(vec![3.0, 1.0, 2.0, 10.0]), Some(2.5));
        assert_eq!(thousands(1234567), "1,234,567");
        let mut row = Row::new("x".into(), Metric::Throughput, false);
        for (s, r) in [(1.0, 2.0), (3.0, 3.0), (2.0, 1.0)] {
            row.cell(Kind::Sluice).push(Round {
                value: s,
                ..Round::default()
            });
            row.cell(Kind::Redis).push(Round {
                value: r,
                ..Round::default()
            });
        }
        assert_eq!(row.ratios(), vec![0.5, 1.0, 2.0]);
        assert!(render(&[row]).contains("| 1.00 (0.50–2.00) |"));
    }
}
