//! File stamps: which cache file a list of rule files maps to, known without reading them.
//!
//! Opening and reading some 3,800 rule files to hash their bytes took a large part of a cached
//! load. A stamp record is named by the stamps of every listed file (device, inode, size,
//! modification and change times to the nanosecond) with what the cache depends on otherwise
//! (the build, the options, the paths), and holds the content key those files had when it was
//! written, and which of them are ESCU detections. A file changed since has another stamp:
//! its change time moves whatever is done to its modification time. A file changed less than
//! [`SETTLE`] before it is stamped is not trusted (a coarse file-system clock could give it
//! its old stamp again): then no record is read or written, and the files' bytes decide.

use super::{hash_context, replace_file};
use harrier_sigma::LoadOptions;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use xxhash_rust::xxh3::{Xxh3, xxh3_64};

const MAGIC: &[u8; 16] = b"harrier-stamps1\n";
const SETTLE: Duration = Duration::from_secs(2);

/// The key of the stamps of `listed`, or `None` when a file cannot be stamped or has not
/// settled.
pub(super) fn key(listed: &[PathBuf], options: &LoadOptions) -> Option<u128> {
    let now = SystemTime::now();
    let mut hasher = Xxh3::new();
    hash_context(&mut hasher, options);
    hasher.update(MAGIC);
    for path in listed {
        let stamp = stamp(path, now)?;
        let name = path.as_os_str().as_encoded_bytes();
        hasher.update(&(name.len() as u64).to_le_bytes());
        hasher.update(name);
        for part in stamp {
            hasher.update(&part.to_le_bytes());
        }
    }
    Some(hasher.digest128())
}

#[cfg(unix)]
fn stamp(path: &Path, now: SystemTime) -> Option<[i64; 7]> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(path).ok()?;
    let settled = |seconds: i64, nanos: i64| -> Option<()> {
        let changed = SystemTime::UNIX_EPOCH + Duration::new(seconds.try_into().ok()?, nanos.try_into().ok()?);
        (now.duration_since(changed).ok()? >= SETTLE).then_some(())
    };
    settled(metadata.mtime(), metadata.mtime_nsec())?;
    settled(metadata.ctime(), metadata.ctime_nsec())?;
    Some([
        metadata.dev() as i64,
        metadata.ino() as i64,
        metadata.size() as i64,
        metadata.mtime(),
        metadata.mtime_nsec(),
        metadata.ctime(),
        metadata.ctime_nsec(),
    ])
}

/// Elsewhere files are always read: no stamp here is known to move on every change.
#[cfg(not(unix))]
fn stamp(_: &Path, _: SystemTime) -> Option<[i64; 7]> {
    None
}

fn record_path(dir: &Path, stamp_key: u128) -> PathBuf {
    dir.join(format!("stamps-{stamp_key:032x}.bin"))
}

/// The content key and the ESCU detections a record gives for `listed`, if there is an intact
/// record for these stamps.
pub(super) fn read(dir: &Path, stamp_key: u128, listed: &[PathBuf]) -> Option<(u128, Vec<PathBuf>)> {
    let bytes = std::fs::read(record_path(dir, stamp_key)).ok()?;
    let (body, checksum) = bytes.split_at_checked(bytes.len().checked_sub(8)?)?;
    if u64::from_le_bytes(checksum.try_into().ok()?) != xxh3_64(body) {
        return None;
    }
    let rest = body.strip_prefix(MAGIC)?.strip_prefix(&stamp_key.to_le_bytes()[..])?;
    let (key, rest) = rest.split_at_checked(16)?;
    let key = u128::from_le_bytes(key.try_into().ok()?);
    let escu = rest
        .chunks(4)
        .map(|index| listed.get(u32::from_le_bytes(index.try_into().ok()?) as usize).cloned())
        .collect::<Option<Vec<PathBuf>>>()?;
    Some((key, escu))
}

/// Records that the files stamped `stamp_key` have the content key `key`, and which of them
/// (a subsequence of `listed`) are ESCU detections.
pub(super) fn write(
    dir: &Path,
    stamp_key: u128,
    key: u128,
    listed: &[PathBuf],
    escu: &[PathBuf],
) -> std::io::Result<()> {
    let mut body = Vec::with_capacity(MAGIC.len() + 32 + 4 * escu.len());
    body.extend_from_slice(MAGIC);
    body.extend_from_slice(&stamp_key.to_le_bytes());
    body.extend_from_slice(&key.to_le_bytes());
    let mut detections = escu.iter().peekable();
    for (index, path) in listed.iter().enumerate() {
        if detections.next_if(|detection| *detection == path).is_some() {
            body.extend_from_slice(&(index as u32).to_le_bytes());
        }
    }
    let checksum = xxh3_64(&body).to_le_bytes();
    replace_file(dir, &record_path(dir, stamp_key), &[&body, &checksum], "stamps-")
}
