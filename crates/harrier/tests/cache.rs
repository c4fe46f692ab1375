//! The rule cache: the same rules read back, never a stale or damaged cache.

use harrier::{CacheUse, RuleSet};
use std::path::{Path, PathBuf};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every outcome as one comparable line.
fn outcomes(set: &RuleSet) -> Vec<String> {
    set.outcomes()
        .map(|outcome| format!("{} {:?} {:?} {:?}", outcome.file, outcome.id, outcome.status, outcome.reason))
        .collect()
}

fn load(rules: &Path, cache: &Path) -> RuleSet {
    RuleSet::builder().rules(rules).cache_dir(cache).build().expect("rules load")
}

/// The cache file written last.
fn cache_file(cache: &Path) -> PathBuf {
    let files = std::fs::read_dir(cache).unwrap().map(|entry| entry.unwrap());
    files.max_by_key(|entry| entry.metadata().unwrap().modified().unwrap()).expect("a cache file").path()
}

#[test]
fn cached_rules_equal_loaded_ones_and_a_changed_or_damaged_cache_is_not_used() {
    let rules = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(repository().join("examples/rules")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, rules.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    let fresh = RuleSet::builder().rules(rules.path()).build().unwrap();
    assert_eq!(fresh.cache_use(), CacheUse::Off);

    let first = load(rules.path(), cache.path());
    assert_eq!(first.cache_use(), CacheUse::Miss);
    let second = load(rules.path(), cache.path());
    assert_eq!(second.cache_use(), CacheUse::Hit);
    assert_eq!(outcomes(&second), outcomes(&fresh));
    assert!(outcomes(&fresh).len() >= 5);

    // A rule changed: the key changes, the rules are read again and the change shows.
    let rule = rules.path().join("proc_creation_net_group_domain_admins.yml");
    let text = std::fs::read_to_string(&rule).unwrap();
    std::fs::write(&rule, text.replacen("title:", "title: Changed", 1)).unwrap();
    let changed = load(rules.path(), cache.path());
    assert_eq!(changed.cache_use(), CacheUse::Miss);
    assert!(changed.outcomes().any(|outcome| outcome.title.is_some_and(|title| title.starts_with("Changed"))));

    // Damaged cache files (a flipped payload byte, a cut file, garbage) are not used, and
    // are written anew.
    let damages: [fn(&mut Vec<u8>); 3] =
        [|bytes| *bytes.last_mut().unwrap() ^= 1, |bytes| bytes.truncate(bytes.len() / 2), |bytes| bytes.fill(7)];
    for damage in damages {
        let file = cache_file(cache.path());
        let mut bytes = std::fs::read(&file).unwrap();
        damage(&mut bytes);
        std::fs::write(&file, bytes).unwrap();
        let reloaded = load(rules.path(), cache.path());
        assert_eq!(reloaded.cache_use(), CacheUse::Miss);
        assert_eq!(outcomes(&reloaded), outcomes(&changed));
        assert_eq!(load(rules.path(), cache.path()).cache_use(), CacheUse::Hit, "rewritten");
    }
}
