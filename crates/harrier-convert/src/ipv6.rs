//! An IPv6 network as a regular expression over address text, for query languages that test
//! text only (SQL). It accepts exactly the texts Rust's `Ipv6Addr` parser reads as an address
//! of the network (the embedded engine's `cidr` test), surrounding spaces, tabs and line
//! breaks allowed (the engine trims the value): hexadecimal groups of one to four digits in
//! either case, `::` standing for one or more zero groups, and the last 32 bits as a dotted
//! IPv4 address. The syntax is the common core of POSIX ERE, Java, RE2 and Rust regexes.

use ipnet::Ipv6Net;

/// Values one 16-bit group may take: those whose `fixed` leading bits are `base`'s (the
/// network's group, its other bits zero).
#[derive(Clone, Copy)]
struct Bits {
    base: u32,
    fixed: u32,
}

impl Bits {
    fn allows_zero(self) -> bool {
        self.base == 0
    }

    /// The bits `[from, from + count)` of the group (from the most significant): the first
    /// and last value they may take.
    fn slice(self, from: u32, count: u32) -> (u32, u32) {
        let value = (self.base >> (16 - from - count)) & ((1 << count) - 1);
        let free = count - self.fixed.saturating_sub(from).min(count);
        let first = value & !((1 << free) - 1);
        (first, first | ((1 << free) - 1))
    }
}

/// The network's regular expression (anchored at both ends).
pub(crate) fn network_regex(network: &Ipv6Net) -> String {
    let address = u128::from(network.network());
    let prefix = u32::from(network.prefix_len());
    let groups: Vec<Bits> = (0..8u32)
        .map(|group| Bits {
            base: ((address >> (112 - 16 * group)) & 0xffff) as u32,
            fixed: prefix.saturating_sub(16 * group).min(16),
        })
        .collect();
    let hex = alternatives(layouts(&groups, 8));
    // Groups 6 and 7 as a dotted IPv4 address: the groups before it, then the address.
    let dotted = alternatives(layouts(&groups, 6));
    format!("^{SPACE}*({hex}|{dotted}{}){SPACE}*$", ipv4_tail(groups[6], groups[7]))
}

/// The ways to write groups `0..count` in hexadecimal: every one of them, or `::` for a run of
/// one or more that may be zero. When `count` is 6 a dotted address follows: a written group
/// is followed by `:`.
fn layouts(groups: &[Bits], count: usize) -> Vec<String> {
    let dotted = count < 8;
    let written = |range: std::ops::Range<usize>| {
        let text = run_lengths(range.clone().map(|at| hex_group(groups[at])).collect());
        if dotted && !range.is_empty() { format!("{text}:") } else { text }
    };
    let mut layouts = vec![written(0..count)];
    for head in 0..count {
        let tails: Vec<usize> = (0..count - head)
            .filter(|&tail| groups[head..count - tail].iter().all(|group| group.allows_zero()))
            .collect();
        let Some(&longest) = tails.last() else { continue };
        let front = written(0..head);
        let front = front.strip_suffix(':').unwrap_or(&front);
        // Tails of free groups, from none to the longest: one optional repetition.
        let free = groups[count - longest..count].iter().all(|group| group.fixed == 0);
        if free && tails.len() == longest + 1 && longest > 0 {
            layouts.push(match dotted {
                true => format!("{front}::({FREE}:){{0,{longest}}}"),
                false => format!("{front}::({FREE}(:{FREE}){{0,{}}})?", longest - 1),
            });
            continue;
        }
        for tail in tails {
            layouts.push(format!("{front}::{}", written(count - tail..count)));
        }
    }
    layouts.dedup();
    layouts
}

/// Groups joined by `:`, a run of equal ones as a repetition.
fn run_lengths(parts: Vec<String>) -> String {
    let mut text = String::new();
    let mut at = 0;
    while at < parts.len() {
        let run = parts[at..].iter().take_while(|part| **part == parts[at]).count();
        let separator = if at == 0 { "" } else { ":" };
        text += &match run {
            1 => format!("{separator}{}", parts[at]),
            _ if at == 0 => format!("{}(:{}){{{}}}", parts[at], parts[at], run - 1),
            _ => format!("(:{}){{{run}}}", parts[at]),
        };
        at += run;
    }
    text
}

/// A group any value may take.
const FREE: &str = "[0-9a-fA-F]{1,4}";

/// What `str::trim` removes that logs hold around a value.
const SPACE: &str = "[ \t\r\n]";

const HEX: [&str; 16] =
    ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "[aA]", "[bB]", "[cC]", "[dD]", "[eE]", "[fF]"];

/// A hexadecimal digit in `first..=last`, either case.
fn hex_digit(first: u32, last: u32) -> String {
    if first == last {
        return HEX[first as usize].to_owned();
    }
    let range = |from: u32, to: u32, base: char| -> String {
        let low = char::from_digit(from, 16).unwrap_or('0');
        let high = char::from_digit(to, 16).unwrap_or('f');
        let (low, high) = if base == 'A' { (low.to_ascii_uppercase(), high.to_ascii_uppercase()) } else { (low, high) };
        if low == high { low.to_string() } else { format!("{low}-{high}") }
    };
    let digits = (first <= 9).then(|| range(first, last.min(9), '0'));
    let letters = (last >= 10).then(|| {
        let from = first.max(10);
        format!("{}{}", range(from, last, 'a'), range(from, last, 'A'))
    });
    format!("[{}{}]", digits.unwrap_or_default(), letters.unwrap_or_default())
}

/// One group written with one to four digits (the leading ones it leaves out being zero).
fn hex_group(bits: Bits) -> String {
    if bits.fixed == 0 {
        return FREE.to_owned();
    }
    if bits.fixed == 16 && bits.base == 0 {
        return "0{1,4}".to_owned();
    }
    let digits: Vec<(u32, u32)> = (0..4).map(|digit| bits.slice(4 * digit, 4)).collect();
    let written: Vec<String> = (1..=4usize)
        .rev()
        .filter(|&count| digits[..4 - count].iter().all(|&(first, _)| first == 0))
        .map(|count| digits[4 - count..].iter().map(|&(first, last)| hex_digit(first, last)).collect())
        .collect();
    alternatives(written)
}

/// Groups 6 and 7 as a dotted IPv4 address (octets in decimal without leading zeros).
fn ipv4_tail(high: Bits, low: Bits) -> String {
    let octets = [(high, 0), (high, 8), (low, 0), (low, 8)].map(|(group, from)| {
        let (first, last) = group.slice(from, 8);
        if first == 0 && last == 255 {
            "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])".to_owned()
        } else {
            alternatives((first..=last).map(|octet| octet.to_string()).collect())
        }
    });
    octets.join("[.]")
}

fn alternatives(choices: Vec<String>) -> String {
    match choices.as_slice() {
        [one] => one.clone(),
        _ => format!("({})", choices.join("|")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    /// Texts around the network: in it or not, in every spelling Rust reads or refuses.
    fn spellings(address: Ipv6Addr) -> Vec<String> {
        let groups = address.segments();
        let mut texts = vec![
            address.to_string(),
            address.to_string().to_uppercase(),
            groups.iter().map(|group| format!("{group:x}")).collect::<Vec<_>>().join(":"),
            groups.iter().map(|group| format!("{group:04X}")).collect::<Vec<_>>().join(":"),
            groups.iter().map(|group| format!("{group:05x}")).collect::<Vec<_>>().join(":"),
            format!(" {address}\t"),
            format!("{address}%12"),
            format!("x{address}"),
        ];
        let octets = address.octets();
        let head: Vec<String> = groups[..6].iter().map(|group| format!("{group:x}")).collect();
        texts.push(format!("{}:{}.{}.{}.{}", head.join(":"), octets[12], octets[13], octets[14], octets[15]));
        texts.push(format!("{}:{:02}.{}.{}.{}", head.join(":"), octets[12], octets[13], octets[14], octets[15]));
        let dotted = format!("{}.{}.{}.{}", octets[12], octets[13], octets[14], octets[15]);
        // `::` over every run of zero groups.
        for start in 0..8 {
            for end in start + 1..=8 {
                if groups[start..end].iter().all(|&group| group == 0) {
                    let part =
                        |range: &[u16]| range.iter().map(|group| format!("{group:x}")).collect::<Vec<_>>().join(":");
                    texts.push(format!("{}::{}", part(&groups[..start]), part(&groups[end..])));
                    if end <= 6 {
                        let middle = part(&groups[end..6]);
                        let middle = if middle.is_empty() { middle } else { format!("{middle}:") };
                        texts.push(format!("{}::{middle}{dotted}", part(&groups[..start])));
                    }
                }
            }
        }
        texts
    }

    #[test]
    fn a_network_regex_accepts_what_the_engine_parses_into_the_network() {
        let networks = [
            "::1/128",
            "fe80::/10",
            "fc00::/7",
            "2620:1ec:d::11/128",
            "2603:1006::/40",
            "::ffff:0:0/96",
            "::/0",
            "2001:db8::ff00:0/120",
            "64:ff9b::/97",
        ];
        let addresses = [
            "::1",
            "::",
            "::2",
            "fe80::1",
            "febf:ffff::",
            "fec0::1",
            "fc00::",
            "fdff::1:2",
            "fe00::",
            "2620:1ec:d::11",
            "2620:1ec:d::10",
            "2620:1ec:d:0:0:1:0:11",
            "2603:1006::1",
            "2603:10ff::",
            "2603:1106::",
            "::ffff:10.1.2.3",
            "::ffff:0:0",
            "2001:db8::ff00:7",
            "2001:db8::fe00:7",
            "64:ff9b::7f00:1",
            "64:ff9b::8000:1",
            "1:0:0:0:0:0:0:0",
        ];
        for network in networks {
            let network: Ipv6Net = network.parse().unwrap();
            let pattern = ::regex::Regex::new(&network_regex(&network)).unwrap();
            for address in addresses {
                for text in spellings(address.parse().unwrap()) {
                    let engine = text.trim().parse::<Ipv6Addr>().is_ok_and(|parsed| network.contains(&parsed));
                    assert_eq!(pattern.is_match(&text), engine, "{network} against {text:?}");
                }
            }
        }
    }
}
