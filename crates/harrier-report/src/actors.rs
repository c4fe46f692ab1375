//! Who and where a hit is about: the host, user and process fields of the event kinds rules
//! match, raw (Sysmon, Security, System) and as Splunk's add-ons name them.

/// Host: the EVTX `Computer`, then Splunk's `dest`.
pub const HOST_FIELDS: &[&str] = &["Computer", "dest"];

/// User: Sysmon `User`, Security target then subject account, then Splunk's `user`.
pub const USER_FIELDS: &[&str] = &["User", "TargetUserName", "SubjectUserName", "AccountName", "user"];

/// Process: Sysmon, Security (4688 new process, 4624/4648 caller, 4697 and System 7045 service
/// binary), then as Splunk names it.
pub const PROCESS_FIELDS: &[&str] = &[
    "Image",
    "NewProcessName",
    "SourceImage",
    "ProcessName",
    "ServiceFileName",
    "ImagePath",
    "process_path",
    "process_name",
];

/// The first of `names` that `get` has a value for, with the name it was found under. Empty
/// values and Windows' `-` placeholder do not count.
pub fn first_of(names: &[&'static str], get: impl Fn(&str) -> Option<String>) -> Option<(&'static str, String)> {
    names.iter().find_map(|name| {
        let value = get(name).filter(|value| !value.is_empty() && value != "-")?;
        Some((*name, value))
    })
}
