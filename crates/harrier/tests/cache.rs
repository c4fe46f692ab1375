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
    let rules = example_rules();
    let cache = tempfile::tempdir().unwrap();
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

/// The rule files of `examples/rules`, copied into a new directory.
fn example_rules() -> tempfile::TempDir {
    let rules = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(repository().join("examples/rules")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, rules.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    rules
}

fn stamp_records(cache: &Path) -> Vec<PathBuf> {
    let files = std::fs::read_dir(cache).unwrap().map(|entry| entry.unwrap().path());
    files.filter(|path| path.file_name().unwrap().to_string_lossy().starts_with("stamps-")).collect()
}

/// Rule files that have not changed for two seconds are looked up by their stamps (no file
/// read); a rule rewritten with its old size and modification time is still seen changed.
#[cfg(unix)]
#[test]
fn settled_rules_are_found_by_their_stamps_and_a_rewrite_that_keeps_size_and_time_is_seen() {
    let settle = || std::thread::sleep(std::time::Duration::from_millis(2_100));
    let rules = example_rules();
    let cache = tempfile::tempdir().unwrap();
    let fresh = RuleSet::builder().rules(rules.path()).build().unwrap();
    assert_eq!(load(rules.path(), cache.path()).cache_use(), CacheUse::Miss);
    assert!(stamp_records(cache.path()).is_empty(), "files just written have not settled");

    settle();
    assert_eq!(load(rules.path(), cache.path()).cache_use(), CacheUse::Hit);
    assert_eq!(stamp_records(cache.path()).len(), 1, "settled files are stamped");
    let stamped = load(rules.path(), cache.path());
    assert_eq!(stamped.cache_use(), CacheUse::Hit);
    assert_eq!(outcomes(&stamped), outcomes(&fresh));

    // One letter of a title changes case: same size; the old modification time is put back.
    let rule = rules.path().join("proc_creation_net_group_domain_admins.yml");
    let modified = std::fs::metadata(&rule).unwrap().modified().unwrap();
    let text = std::fs::read_to_string(&rule).unwrap();
    let at = text.find("title: ").unwrap() + "title: ".len();
    let flipped = text[at..].chars().next().unwrap().to_ascii_lowercase();
    let changed = format!("{}{flipped}{}", &text[..at], &text[at + 1..]);
    assert_eq!(changed.len(), text.len());
    assert_ne!(changed, text);
    std::fs::write(&rule, &changed).unwrap();
    std::fs::File::options().write(true).open(&rule).unwrap().set_modified(modified).unwrap();
    let rewritten = load(rules.path(), cache.path());
    assert_eq!(rewritten.cache_use(), CacheUse::Miss);
    let outcome = rewritten.outcomes().find(|outcome| outcome.file.ends_with("net_group_domain_admins.yml")).unwrap();
    assert_eq!(outcome.title.unwrap().chars().next(), Some(flipped));

    // Settled again: the new stamps give the new rules; a damaged record is not used.
    settle();
    load(rules.path(), cache.path());
    let again = load(rules.path(), cache.path());
    assert_eq!(outcomes(&again), outcomes(&rewritten));
    for record in stamp_records(cache.path()) {
        let mut bytes = std::fs::read(&record).unwrap();
        bytes[20] ^= 1;
        std::fs::write(&record, bytes).unwrap();
    }
    let after_damage = load(rules.path(), cache.path());
    assert_eq!(after_damage.cache_use(), CacheUse::Hit, "the cache itself is intact");
    assert_eq!(outcomes(&after_damage), outcomes(&rewritten));
}
