//! Test support, for tests only: finds `../shared/data` (public logs and rules kept beside
//! the repository, never in it) and applies the one policy for its absence: a test skips with a
//! visible message, unless `HARRIER_REQUIRE_SHARED=1` (CI), where it fails.

use std::path::PathBuf;

/// `../shared/data/<part>` beside the repository, or `None` (after saying so) to skip.
///
/// # Panics
/// When it is missing and `HARRIER_REQUIRE_SHARED=1`.
pub fn shared(part: &str) -> Option<PathBuf> {
    beside_repository("data", part)
}

/// `../shared/escu/<part>` (Splunk ESCU detections, macros, lookups, test logs), or `None`
/// to skip, with the same policy as [`shared`].
///
/// # Panics
/// When it is missing and `HARRIER_REQUIRE_SHARED=1`.
pub fn escu(part: &str) -> Option<PathBuf> {
    beside_repository("escu", part)
}

fn beside_repository(folder: &str, part: &str) -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared").join(folder);
    let path = root.join(part);
    if path.exists() {
        return Some(path);
    }
    if std::env::var("HARRIER_REQUIRE_SHARED").as_deref() == Ok("1") {
        panic!("{} is missing and HARRIER_REQUIRE_SHARED=1", path.display());
    }
    eprintln!("SKIPPED: {} not found (set HARRIER_REQUIRE_SHARED=1 to fail instead)", path.display());
    None
}
