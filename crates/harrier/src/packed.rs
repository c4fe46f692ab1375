//! Rule conditions kept encoded. A rule set compiles its conditions into the engine once;
//! after that only conversions, the Spark path and the undecided-event check read them. As
//! `Expr` trees SigmaHQ's conditions take some 18 MB (a `String` per field name and value, a
//! `Vec` per node list), encoded some 4 MB, and decoding one is quick.

use harrier_engine::Engine;
use harrier_ir::{Expr, Rule};
use harrier_sigma::{Entry, LoadOptions, RuleText};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A rule document as a rule set keeps it.
pub(crate) type PackedEntry = Entry<Packed>;

/// The Sigma rules among the files, their conditions encoded as each is loaded.
pub(crate) fn load_packed(files: &[RuleText], options: &LoadOptions) -> Vec<PackedEntry> {
    harrier_sigma::load_texts_kept(files, options, Packed::pack)
}

/// The rule with its conditions decoded (for a conversion), or why they cannot be.
pub(crate) fn unpack_rule(rule: &Rule<Packed>) -> Result<Rule, String> {
    rule.clone().map_conditions(|condition| condition.unpack())
}

/// Compiles encoded conditions, decoding one at a time (each dropped once compiled), beside
/// an engine whose regular expressions it shares if one is given (see [`Engine::beside`]);
/// a condition that does not decode or compile never matches, and is returned with why, by
/// position.
pub(crate) fn compile_engine<'a>(
    conditions: impl Iterator<Item = &'a Packed>,
    beside: Option<&Engine>,
) -> (Engine, Vec<(usize, String)>) {
    let mut errors = Vec::new();
    let decoded = conditions.enumerate().map(|(position, condition)| {
        condition.unpack().unwrap_or_else(|error| {
            errors.push((position, error));
            Expr::Const(false)
        })
    });
    let (engine, compile_errors) = match beside {
        Some(other) => other.beside(decoded),
        None => Engine::new(decoded),
    };
    errors.extend(compile_errors.into_iter().map(|(position, error)| (position, error.to_string())));
    (engine, errors)
}

/// One condition, `postcard`-encoded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Packed(Box<[u8]>);

impl Packed {
    pub(crate) fn pack(condition: Expr) -> Result<Packed, postcard::Error> {
        postcard::to_stdvec(&condition).map(|bytes| Packed(bytes.into_boxed_slice()))
    }

    /// The condition back. Fails only on bytes that were not packed here (a cache file
    /// crafted to pass its checksum): the rule then cannot run, and says why.
    pub(crate) fn unpack(&self) -> Result<Expr, String> {
        postcard::from_bytes(&self.0).map_err(|error| format!("its cached condition does not decode ({error})"))
    }
}

/// As bytes, not as a sequence of numbers: read back in one copy.
impl Serialize for Packed {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Packed {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Packed, D::Error> {
        struct Bytes;
        impl serde::de::Visitor<'_> for Bytes {
            type Value = Packed;
            fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                formatter.write_str("an encoded condition")
            }
            fn visit_bytes<E>(self, bytes: &[u8]) -> Result<Packed, E> {
                Ok(Packed(bytes.into()))
            }
        }
        deserializer.deserialize_bytes(Bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_condition_unpacks_as_it_was_packed_and_foreign_bytes_say_so() {
        let entries = harrier_sigma::load_text(
            "title: t\nlogsource: {product: windows, service: security}\n\
             detection: {a: {CommandLine|contains: [x, y]}, b: {User: admin}, condition: a and not b}\n",
            "t.yml",
            &harrier_sigma::LoadOptions::default(),
        );
        let condition = entries[0].rule().expect("loads").condition.clone();
        let packed = Packed::pack(condition.clone()).expect("packs");
        assert_eq!(packed.unpack(), Ok(condition));
        let encoded = postcard::to_stdvec(&packed).expect("encodes");
        assert_eq!(postcard::from_bytes::<Packed>(&encoded).expect("decodes"), packed);
        assert!(Packed(Box::new([0xff; 3])).unpack().unwrap_err().contains("does not decode"));
    }

    #[test]
    fn a_condition_that_does_not_decode_never_matches_and_says_why() {
        let good = Packed::pack(Expr::Const(true)).expect("packs");
        let foreign = Packed(Box::new([0xff; 3]));
        let (engine, errors) = compile_engine([&good, &foreign, &good].into_iter(), None);
        assert_eq!(engine.rule_count(), 3);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].0, 1);
        assert!(errors[0].1.contains("does not decode"), "{}", errors[0].1);
    }
}
