//! The stable harness: runs every fuzz target over a corpus (a folder per target, as
//! `cargo fuzz` keeps them) and over random mutations of it for a while, where no nightly
//! toolchain is at hand. A panic is a finding: the input is saved and the harness fails.
//!
//!   cargo run --release --bin replay -- fuzz/corpus 10     # seconds per target

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn main() {
    let mut args = std::env::args().skip(1);
    let corpus = PathBuf::from(args.next().unwrap_or_else(|| "corpus".into()));
    let seconds: u64 = args.next().and_then(|text| text.parse().ok()).unwrap_or(10);
    let mut failed = false;
    for (name, target) in harrier_fuzz::TARGETS {
        let seeds = seeds(&corpus.join(name));
        let (runs, found) = run(target, &seeds, Duration::from_secs(seconds));
        println!("{name}: {runs} runs over {} seeds and their mutations", seeds.len());
        if let Some(input) = found {
            let path = corpus.join(format!("crash-{name}"));
            std::fs::write(&path, &input).expect("the finding is saved");
            eprintln!("{name}: panicked on the input saved to {}", path.display());
            failed = true;
        }
    }
    if failed {
        std::process::exit(1);
    }
}

fn seeds(dir: &Path) -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|entry| std::fs::read(entry.ok()?.path()).ok())
        .collect();
    seeds.push(Vec::new());
    seeds
}

/// Runs a target on each seed, then on mutations of them until the time is up; the input of
/// a panic, if one happened.
fn run(target: fn(&[u8]), seeds: &[Vec<u8>], time: Duration) -> (u64, Option<Vec<u8>>) {
    let started = Instant::now();
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    let mut runs = 0;
    for seed in seeds {
        runs += 1;
        if std::panic::catch_unwind(|| target(seed)).is_err() {
            return (runs, Some(seed.clone()));
        }
    }
    while started.elapsed() < time {
        let mut input = seeds[random.below(seeds.len())].clone();
        for _ in 0..=random.below(8) {
            mutate(&mut input, &mut random);
        }
        runs += 1;
        if std::panic::catch_unwind(|| target(&input)).is_err() {
            return (runs, Some(input));
        }
    }
    (runs, None)
}

/// Flips, inserts, deletes or repeats bytes.
fn mutate(input: &mut Vec<u8>, random: &mut Random) {
    const INTERESTING: [u8; 12] = [0, 0xff, b'{', b'}', b'[', b']', b'(', b')', b'"', b'\\', b'|', b'\n'];
    let at = random.below(input.len() + 1);
    match random.below(5) {
        0 if !input.is_empty() => {
            let at = at.min(input.len() - 1);
            input[at] ^= 1 << random.below(8);
        }
        1 => input.insert(at, INTERESTING[random.below(INTERESTING.len())]),
        2 if at < input.len() => {
            input.remove(at);
        }
        3 if at < input.len() => {
            let end = (at + 1 + random.below(16)).min(input.len());
            let piece = input[at..end].to_vec();
            for _ in 0..random.below(64) {
                input.splice(at..at, piece.iter().copied());
            }
        }
        _ => input.insert(at, random.below(256) as u8),
    }
    input.truncate(1 << 20);
}

/// xorshift: enough randomness to mutate with, and reproducible.
struct Random(u64);

impl Random {
    fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound.max(1) as u64) as usize
    }
}
