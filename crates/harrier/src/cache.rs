//! The cache of loaded Sigma rules. Parsing some four thousand YAML documents and turning
//! them into routed IR is most of what loading SigmaHQ costs; the result depends only on the
//! files' bytes, the load options and the Harrier build, so it is kept on disk under a key
//! made of all three, and the next load with the same key reads it back instead.
//!
//! A cache file is `MAGIC`, the 16-byte key, the payload's length and XXH3 checksum, then the
//! payload: each entry `postcard`-encoded after its length (4 bytes), so that reading it back
//! holds one entry's bytes at a time rather than the whole file beside the rules it becomes.
//! The entries' conditions stay encoded (see [`crate::packed`]): reading copies their bytes.
//! A file whose key, length, checksum or encoding does not check out is not used: the rules
//! are loaded from their files and the cache file is written anew. Writing goes to a
//! temporary file renamed into place, so a reader never sees half a file; a cache that
//! cannot be written costs time, never a rule.
//!
//! Hashing the files' bytes means reading them all; [`stamps`] records which key the files had
//! under their current stamps, so that a later load of unchanged files reads none of them.

mod stamps;

use crate::files::RuleFiles;
use crate::packed::{PackedEntry, load_packed};
use harrier_sigma::{LoadOptions, RuleText};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use xxhash_rust::xxh3::{Xxh3, xxh3_64};

const MAGIC: &[u8; 16] = b"harrier-sigma:3\n";
const HEADER_BYTES: usize = MAGIC.len() + 16 + 8 + 8;
/// Cache files kept in the directory: the newest ones, so that a few rule sets used in turn
/// all stay cached, and the directory stays small whatever happens.
const FILES_KEPT: usize = 8;

/// Whether loading read the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheUse {
    /// No cache directory was given.
    Off,
    /// The rules were read from the cache.
    Hit,
    /// The rules were loaded from their files (no cache file yet, or a stale or damaged one),
    /// and the cache was written.
    Miss,
}

/// The user's cache directory for Harrier: `$HARRIER_CACHE_DIR`, else `$XDG_CACHE_HOME/harrier`,
/// else `~/.cache/harrier`.
pub fn default_cache_dir() -> Option<PathBuf> {
    let from = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty()).map(PathBuf::from);
    from("HARRIER_CACHE_DIR")
        .or_else(|| from("XDG_CACHE_HOME").map(|dir| dir.join("harrier")))
        .or_else(|| from("HOME").map(|home| home.join(".cache").join("harrier")))
}

/// Loads the Sigma rules among the `listed` files, through the cache in `dir` when there is
/// one; also returns the ESCU detections among them (told apart by their text).
pub(crate) fn load(
    dir: Option<&Path>,
    listed: &[PathBuf],
    options: &LoadOptions,
) -> (Vec<PackedEntry>, Vec<PathBuf>, CacheUse) {
    let Some(dir) = dir else {
        let files = RuleFiles::read(listed);
        return (load_packed(&files.sigma, options), files.escu, CacheUse::Off);
    };
    // Stamped before the files are read: a file changed in between then has a stamp that
    // differs from the one recorded, so the record is never used for it.
    let stamped = stamps::key(listed, options);
    if let Some((key, escu)) = stamped.and_then(|stamp_key| stamps::read(dir, stamp_key, listed))
        && let Some(entries) = read(&cache_path(dir, key), key)
    {
        return (entries, escu, CacheUse::Hit);
    }
    let files = RuleFiles::read(listed);
    let key = key(&files.sigma, options);
    let path = cache_path(dir, key);
    let (entries, cache_use) = match read(&path, key) {
        Some(entries) => (entries, CacheUse::Hit),
        None => {
            let entries = load_packed(&files.sigma, options);
            let _ = write(dir, &path, key, &entries);
            (entries, CacheUse::Miss)
        }
    };
    if let Some(stamp_key) = stamped {
        let _ = stamps::write(dir, stamp_key, key, listed, &files.escu);
    }
    (entries, files.escu, cache_use)
}

fn cache_path(dir: &Path, key: u128) -> PathBuf {
    dir.join(format!("sigma-{key:032x}.bin"))
}

/// What the entries depend on: the Harrier build, the options, every file's name and bytes.
fn key(files: &[RuleText], options: &LoadOptions) -> u128 {
    let mut hasher = Xxh3::new();
    hash_context(&mut hasher, options);
    for file in files {
        hasher.update(&(file.file.len() as u64).to_le_bytes());
        hasher.update(file.file.as_bytes());
        let (tag, bytes) = match &file.text {
            Ok(text) => (0u8, text.as_bytes()),
            Err(error) => (1u8, error.as_bytes()),
        };
        hasher.update(&[tag]);
        hasher.update(&(bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    }
    hasher.digest128()
}

/// What any cached result depends on besides the rule files: the Harrier build and the options.
fn hash_context(hasher: &mut Xxh3, options: &LoadOptions) {
    hasher.update(MAGIC);
    hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
    hasher.update(build_identity().as_bytes());
    hasher.update(options_text(options).as_bytes());
}

/// The running program's size and modification time: a rebuilt Harrier whose version did
/// not change (a developer's build) must not read what an older build wrote.
fn build_identity() -> String {
    let metadata = std::env::current_exe().and_then(std::fs::metadata);
    match metadata {
        Ok(metadata) => format!("{}:{:?}", metadata.len(), metadata.modified().ok()),
        Err(_) => String::new(),
    }
}

/// The load options as text that is the same for the same options (maps sorted).
fn options_text(options: &LoadOptions) -> String {
    let mut placeholders: Vec<_> = options.placeholders.iter().collect();
    placeholders.sort();
    format!("{:?}\n{placeholders:?}\n{}", options.logsources, options.unknown_fields)
}

fn read(path: &Path, key: u128) -> Option<Vec<PackedEntry>> {
    let mut file = std::fs::File::open(path).ok()?;
    let mut header = [0; HEADER_BYTES];
    file.read_exact(&mut header).ok()?;
    let (magic, rest) = header.split_at(MAGIC.len());
    let (stored_key, rest) = rest.split_at(16);
    let (length, checksum) = rest.split_at(8);
    let length = u64::from_le_bytes(length.try_into().ok()?);
    let intact = magic == MAGIC
        && stored_key == key.to_le_bytes()
        && file.metadata().ok()?.len() == HEADER_BYTES as u64 + length
        && u64::from_le_bytes(checksum.try_into().ok()?) == payload_checksum(&mut file).ok()?;
    if !intact {
        return None;
    }
    file.seek(SeekFrom::Start(HEADER_BYTES as u64)).ok()?;
    read_entries(BufReader::new(file), length)
}

/// The XXH3 checksum of what is left of the file, read a block at a time.
fn payload_checksum(file: &mut std::fs::File) -> std::io::Result<u64> {
    let mut hasher = Xxh3::new();
    let mut block = vec![0; 1 << 16];
    loop {
        match file.read(&mut block)? {
            0 => return Ok(hasher.digest()),
            read => hasher.update(&block[..read]),
        }
    }
}

/// The entries of a checked payload of `length` bytes, each read into one reused buffer and
/// decoded.
fn read_entries(mut payload: impl Read, length: u64) -> Option<Vec<PackedEntry>> {
    let (mut entries, mut bytes, mut left) = (Vec::new(), Vec::new(), length);
    while left > 0 {
        let mut size = [0; 4];
        payload.read_exact(&mut size).ok()?;
        let size = u32::from_le_bytes(size);
        left = left.checked_sub(4 + u64::from(size))?;
        bytes.resize(size as usize, 0);
        payload.read_exact(&mut bytes).ok()?;
        entries.push(postcard::from_bytes(&bytes).ok()?);
    }
    Some(entries)
}

fn write(dir: &Path, path: &Path, key: u128, entries: &[PackedEntry]) -> std::io::Result<()> {
    let mut payload = Vec::new();
    for entry in entries {
        let encoded = postcard::to_stdvec(entry).map_err(std::io::Error::other)?;
        let size = u32::try_from(encoded.len()).map_err(std::io::Error::other)?;
        payload.extend_from_slice(&size.to_le_bytes());
        payload.extend_from_slice(&encoded);
    }
    let (length, checksum) = ((payload.len() as u64).to_le_bytes(), xxh3_64(&payload).to_le_bytes());
    replace_file(dir, path, &[MAGIC, &key.to_le_bytes(), &length, &checksum, &payload], "sigma-")
}

/// Writes `parts` to `path` in `dir` through a temporary file renamed into place (a reader
/// never sees half a file), then prunes the older files whose names start with `prefix`.
fn replace_file(dir: &Path, path: &Path, parts: &[&[u8]], prefix: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut temporary = tempfile::NamedTempFile::new_in(dir)?;
    for part in parts {
        temporary.write_all(part)?;
    }
    temporary.as_file().sync_all()?;
    temporary.persist(path).map_err(|error| error.error)?;
    prune(dir, prefix);
    Ok(())
}

/// Removes all but the newest cache files whose names start with `prefix`.
fn prune(dir: &Path, prefix: &str) {
    let Ok(listing) = std::fs::read_dir(dir) else { return };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = listing
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(prefix))
        .filter_map(|entry| Some((entry.metadata().ok()?.modified().ok()?, entry.path())))
        .collect();
    files.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
    for (_, path) in files.into_iter().skip(FILES_KEPT) {
        let _ = std::fs::remove_file(path);
    }
}
