//! A search for hundreds or thousands of literals at once: each literal is found by one
//! four-byte piece of it (its anchor), which a table of bits tells apart from most other
//! four bytes of a text, and only where the table says an anchor may be are literals
//! compared. The `aho-corasick` crate's NFA over SigmaHQ's 8,724 `CommandLine` witnesses
//! searched the shared EVTX files' command lines at some 135 cycles a byte, its states
//! scattered over megabytes, and took a sixth of the instructions of a hunt of them to
//! build; this searches them at some 45 (a fifth of their places hold an anchor, most of
//! the cost) and builds in a few milliseconds.

use aho_corasick::AhoCorasick;
use rustc_hash::FxHashMap;

/// Bytes of an anchor.
const ANCHOR_BYTES: usize = 4;

/// Literals at most that share one anchor: a crafted rule set whose literals all hold the
/// same few pieces (`abab…`) would have each text compared with thousands of them at each
/// place. The literals past it are searched by the automaton, as the short ones are.
const MAX_LITERALS_PER_ANCHOR: usize = 16;

/// Literals at most of the automaton beside the sieve for it to be a DFA.
const MAX_DFA_OTHERS: usize = 300;

/// Bits of the table per anchor: some 6 % of its bits are set, so that four bytes of a text
/// that are no anchor find a clear bit 94 times in 100. With 8 or 64 bits, the command lines
/// above were searched within 5 % of the same time: the anchors they hold cost the most.
const BITS_PER_ANCHOR: usize = 16;

pub(crate) struct Sieve {
    /// A bit per hash of four bytes, set when some anchor has that hash.
    bits: Box<[u64]>,
    /// The bits of a hash, from the top of a 32-bit product (see [`Sieve::bit_of`]).
    hash_bits: u32,
    /// For each anchor, where its literals are in `anchored`.
    anchors: FxHashMap<u32, (u32, u32)>,
    /// Literals by anchor: each literal's number and where its anchor is in it.
    anchored: Box<[(u32, u32)]>,
    /// An automaton of the literals shorter than an anchor and of those beyond
    /// [`MAX_LITERALS_PER_ANCHOR`] on theirs, and their numbers.
    others: Option<(AhoCorasick, Box<[u32]>)>,
}

impl Sieve {
    /// The sieve of `literals`, numbered in order.
    pub(crate) fn new(literals: &[&[u8]]) -> Sieve {
        let counts = anchor_counts(literals);
        let mut by_anchor: Vec<(u32, u32, u32)> = Vec::new();
        let mut others: Vec<u32> = Vec::new();
        for (number, literal) in (0u32..).zip(literals) {
            match best_anchor(literal, &counts) {
                Some((anchor, offset)) => by_anchor.push((anchor, number, offset)),
                None => others.push(number),
            }
        }
        by_anchor.sort_unstable();
        let (mut anchors, mut anchored) = (FxHashMap::default(), Vec::with_capacity(by_anchor.len()));
        for group in by_anchor.chunk_by(|a, b| a.0 == b.0) {
            let (keep, crowded) = group.split_at(group.len().min(MAX_LITERALS_PER_ANCHOR));
            anchors.insert(group[0].0, (anchored.len() as u32, (anchored.len() + keep.len()) as u32));
            anchored.extend(keep.iter().map(|&(_, number, offset)| (number, offset)));
            others.extend(crowded.iter().map(|&(_, number, _)| number));
        }
        let hash_bits = (anchors.len() * BITS_PER_ANCHOR).next_power_of_two().trailing_zeros().clamp(6, 24);
        let mut bits = vec![0u64; (1 << hash_bits) / 64].into_boxed_slice();
        for &anchor in anchors.keys() {
            let bit = bit_of(anchor, hash_bits);
            bits[bit / 64] |= 1 << (bit % 64);
        }
        let others = (!others.is_empty()).then(|| {
            // A DFA for a few: they are the short literals, a few hundred at most but in crafted rules.
            let kind = (others.len() <= MAX_DFA_OTHERS).then_some(aho_corasick::AhoCorasickKind::DFA);
            let automaton =
                AhoCorasick::builder().kind(kind).build(others.iter().map(|&number| literals[number as usize]));
            (automaton.expect("literal patterns build an automaton"), others.into_boxed_slice())
        });
        Sieve { bits, hash_bits, anchors, anchored: anchored.into(), others }
    }

    /// Whether `four` may be an anchor: its bit is set.
    fn may_be_anchor(&self, four: u32) -> bool {
        let bit = bit_of(four, self.hash_bits);
        self.bits[bit / 64] >> (bit % 64) & 1 == 1
    }

    /// Calls `found` with the number of each literal that occurs in `text`, as often as it
    /// occurs; `literal` gives a literal's bytes by its number.
    pub(crate) fn find<'s>(&'s self, text: &[u8], literal: impl Fn(u32) -> &'s [u8], found: &mut impl FnMut(u32)) {
        if let Some((automaton, numbers)) = &self.others {
            for other in automaton.find_overlapping_iter(text) {
                found(numbers[other.pattern().as_usize()]);
            }
        }
        for (at, four) in text.windows(ANCHOR_BYTES).map(four_bytes).enumerate() {
            if !self.may_be_anchor(four) {
                continue;
            }
            let Some(&(start, end)) = self.anchors.get(&four) else { continue };
            for &(number, offset) in &self.anchored[start as usize..end as usize] {
                let bytes = literal(number);
                let starts = at.checked_sub(offset as usize);
                if starts.is_some_and(|starts| text[starts..].starts_with(bytes)) {
                    found(number);
                }
            }
        }
    }
}

/// Four bytes (a window of [`ANCHOR_BYTES`]) as one number.
fn four_bytes(window: &[u8]) -> u32 {
    u32::from_le_bytes([window[0], window[1], window[2], window[3]])
}

fn bit_of(four: u32, hash_bits: u32) -> usize {
    (four.wrapping_mul(0x9E37_79B1) >> (32 - hash_bits)) as usize
}

/// How many literals hold each four bytes.
fn anchor_counts(literals: &[&[u8]]) -> FxHashMap<u32, u32> {
    let mut counts = FxHashMap::default();
    for literal in literals {
        for four in literal.windows(ANCHOR_BYTES).map(four_bytes) {
            *counts.entry(four).or_insert(0) += 1;
        }
    }
    counts
}

/// The anchor of a literal and where it is in it: the four bytes least likely in a text (see
/// [`commonness`]) of those at most [`MAX_LITERALS_PER_ANCHOR`] literals hold, and of those
/// the ones fewest literals hold. A `Hashes` literal (`md5=0a1b2c…`) is found by its `=` and
/// the digits beside it, which a text holds a few times, not by four of its digits, which a
/// text of digits holds at one place in eleven.
fn best_anchor(literal: &[u8], counts: &FxHashMap<u32, u32>) -> Option<(u32, u32)> {
    let fours = literal.windows(ANCHOR_BYTES).enumerate();
    let scored = fours.map(|(offset, four)| {
        let anchor = four_bytes(four);
        let count = counts.get(&anchor).copied().unwrap_or(0);
        let commonness: u32 = four.iter().map(|&byte| commonness(byte)).sum();
        ((count as usize > MAX_LITERALS_PER_ANCHOR, commonness, count), (anchor, offset as u32))
    });
    scored.min_by_key(|&(score, _)| score).map(|(_, best)| best)
}

/// How often a byte is in the lower-cased text of a log's values, roughly: letters and
/// digits (numbers, hashes, GUIDs) most, then spaces and the punctuation of paths, then the
/// rest.
fn commonness(byte: u8) -> u32 {
    match byte {
        b'a'..=b'z' | b'0'..=b'9' => 3,
        b' ' | b'\\' | b'.' | b':' | b'/' | b'-' | b'_' => 2,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Numbers of the literals found, each as often as found, in order.
    fn found_by_sieve(literals: &[&[u8]], text: &[u8]) -> Vec<u32> {
        let sieve = Sieve::new(literals);
        let mut found = Vec::new();
        sieve.find(text, |number| literals[number as usize], &mut |number| found.push(number));
        found.sort_unstable();
        found
    }

    fn found_by_automaton(literals: &[&[u8]], text: &[u8]) -> Vec<u32> {
        let automaton = AhoCorasick::new(literals).expect("builds");
        let mut found: Vec<u32> = automaton.find_overlapping_iter(text).map(|found| found.pattern().as_u32()).collect();
        found.sort_unstable();
        found
    }

    /// Bytes from a small alphabet, so that literals overlap and recur in texts.
    fn bytes(seed: &mut u64, length: usize) -> Vec<u8> {
        const ALPHABET: &[u8] = b"ab=-\\ \xce\xbf";
        (0..length)
            .map(|_| {
                *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ALPHABET[(*seed >> 33) as usize % ALPHABET.len()]
            })
            .collect()
    }

    #[test]
    fn a_sieve_finds_each_occurrence_of_each_literal_as_an_automaton_does() {
        let mut seed = 7;
        // Short ones (searched beside the sieve), long ones, and many that share every piece
        // (more than a piece's share: crowded).
        let mut owned: Vec<Vec<u8>> = (0..400).map(|index| bytes(&mut seed, 2 + index % 14)).collect();
        owned.extend((0..40).map(|index| [b"abab".repeat(2), vec![b'a'; index]].concat()));
        owned.sort();
        owned.dedup();
        let literals: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
        for length in [0, 3, 4, 5, 64, 2000] {
            let text = bytes(&mut seed, length);
            let expected = found_by_automaton(&literals, &text);
            assert_eq!(found_by_sieve(&literals, &text), expected, "a text of {length} bytes");
        }
        let text = b"xx abababab aaaa";
        assert!(!found_by_automaton(&literals, text).is_empty());
        assert_eq!(found_by_sieve(&literals, text), found_by_automaton(&literals, text));
    }

    #[test]
    fn a_hash_is_anchored_by_its_equals_sign_not_by_its_digits() {
        let digits = |n: u64| n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 16;
        let hashes: Vec<String> = (0..200).map(|n| format!("md5={:012x}", digits(n))).collect();
        let literals: Vec<&[u8]> = hashes.iter().map(String::as_bytes).collect();
        let counts = anchor_counts(&literals);
        for literal in &literals {
            let (_, offset) = best_anchor(literal, &counts).expect("long enough");
            assert!(literal[offset as usize..offset as usize + ANCHOR_BYTES].contains(&b'='), "{literal:?}");
        }
        let sieve = Sieve::new(&literals);
        assert!(sieve.others.is_none(), "none crowded: one anchor per `=` and two digits at most");
    }
}
