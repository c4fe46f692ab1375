//! Literals as one regular expression that a backtracking matcher (Java's, in Spark) tests fast.

use std::collections::BTreeMap;

/// `(?:...)`: a regular expression matching exactly the literals, each taken literally, written
/// as a trie: `ab(?:c|d)` rather than `abc|abd`. Java's matcher tries every alternative at
/// every place of a value; with the literals' shared prefixes written once, an alternative
/// that fails costs one character, not a whole literal (a list of 300 PowerShell cmdlets over
/// a command line, hashes that all begin `md5=`).
pub(crate) fn alternation(literals: &[String]) -> String {
    let mut trie = Trie::default();
    for literal in literals {
        trie.insert(literal);
    }
    // An empty literal: every value holds it.
    let optional = if trie.nodes[0].ends { "?" } else { "" };
    format!("(?:{}){optional}", trie.pattern())
}

/// The literals' characters, one node per distinct prefix; node 0 is the empty prefix.
struct Trie {
    nodes: Vec<Node>,
}

#[derive(Default)]
struct Node {
    next: BTreeMap<char, usize>,
    /// A literal ends here.
    ends: bool,
}

impl Default for Trie {
    fn default() -> Trie {
        Trie { nodes: vec![Node::default()] }
    }
}

/// What is left to write of a pattern (an explicit stack: a literal may be as long as an
/// attacker's rule makes it, too deep for recursion).
enum Step {
    Node(usize),
    Text(&'static str),
    Char(char),
}

impl Trie {
    fn insert(&mut self, literal: &str) {
        let mut at = 0;
        for c in literal.chars() {
            at = match self.nodes[at].next.get(&c) {
                Some(&next) => next,
                None => {
                    self.nodes.push(Node::default());
                    let next = self.nodes.len() - 1;
                    self.nodes[at].next.insert(c, next);
                    next
                }
            };
        }
        self.nodes[at].ends = true;
    }

    /// The pattern of what may follow the empty prefix: each node's continuations are one
    /// group of alternatives, optional where a literal ends, and a chain of single
    /// continuations is written as plain characters.
    fn pattern(&self) -> String {
        let mut pattern = String::new();
        let mut steps = vec![Step::Node(0)];
        while let Some(step) = steps.pop() {
            match step {
                Step::Text(text) => pattern.push_str(text),
                Step::Char(c) => pattern.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
                Step::Node(at) => {
                    let node = &self.nodes[at];
                    // The root is grouped by the caller; a node with one way on and no end
                    // needs no group, nor does a node with none.
                    let grouped = at != 0 && !node.next.is_empty() && (node.ends || node.next.len() > 1);
                    if grouped {
                        steps.push(Step::Text(if node.ends { ")?" } else { ")" }));
                    }
                    for (position, (&c, &next)) in node.next.iter().enumerate().rev() {
                        steps.push(Step::Node(next));
                        steps.push(Step::Char(c));
                        if position > 0 {
                            steps.push(Step::Text("|"));
                        }
                    }
                    if grouped {
                        steps.push(Step::Text("(?:"));
                    }
                }
            }
        }
        pattern
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn shared_prefixes_are_written_once() {
        assert_eq!(alternation(&strings(&["abc", "abd", "x.y"])), r"(?:ab(?:c|d)|x\.y)");
        assert_eq!(alternation(&strings(&["md5=aa", "md5=ab", "md5"])), "(?:md5(?:=a(?:a|b))?)");
        assert_eq!(alternation(&strings(&["ab", "ab", "a"])), "(?:a(?:b)?)");
        assert_eq!(alternation(&strings(&["é€", "éa"])), "(?:é(?:a|€))");
    }

    #[test]
    fn the_trie_matches_where_the_plain_alternation_does() {
        let lists = [
            strings(&["add-exfiltration", "add-persistence", "add-", "get-gpp", "get-gppassword", "g"]),
            strings(&["md5=f741", "md5=d40a", "sha1=9c14", "sha256=0", "(x)", "a|b", "[c]", "*", ""]),
            strings(&["\\\\pingcastle.exe", "\\pc.exe", "ping castle", "日本", "日"]),
        ];
        let values = [
            "",
            "add",
            "add-",
            "x add-persistence y",
            "get-gp",
            "get-gppassword",
            "md5=f74",
            "md5=f7411",
            "sha1=9c14",
            "(x)",
            "a|b",
            "a",
            "[c]",
            "c",
            "*",
            "\\\\pingcastle.exe",
            "\\pc.ex",
            "ping castle",
            "日本",
            "本",
        ];
        for literals in &lists {
            let flat: Vec<String> = literals.iter().map(|literal| regex::escape(literal)).collect();
            for (start, end) in [("", ""), ("^", ""), ("", "\\z")] {
                let plain = regex::Regex::new(&format!("{start}(?:{}){end}", flat.join("|"))).unwrap();
                let trie = regex::Regex::new(&format!("{start}{}{end}", alternation(literals))).unwrap();
                for value in values {
                    assert_eq!(trie.is_match(value), plain.is_match(value), "{literals:?} {start}{end} {value:?}");
                }
            }
        }
    }

    #[test]
    fn a_literal_too_long_to_recurse_over_is_written_all_the_same() {
        let long = "a".repeat(1_000_000);
        let pattern = alternation(&[long.clone(), format!("{long}b")]);
        assert_eq!(pattern.len(), long.len() + "(?:(?:b)?)".len());
    }
}
