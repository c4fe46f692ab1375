//! The normalized event model that every other Harrier crate reads.
//!
//! This crate owns four things and nothing else:
//! - [`Value`]: the typed value of one field (string, integer, float, bool, null, list);
//! - [`FieldName`]: a field's short name and dotted path, kept once per process and shared;
//! - [`Event`]: the ordered fields of one event with case-insensitive lookup by short name
//!   (`Image`, `EventID`, `Provider_Name`) or by dotted path (`Event.System.EventID`), and its
//!   [`Provenance`] (source file, record id, timestamp);
//! - [`Timestamp`]: UTC instants parsed from the formats Windows log exporters write.
//!
//! Field names follow the Sigma/Sysmon conventions; turning each export layout into them is the
//! job of `harrier-normalize`.

mod event;
mod name;
mod time;
mod value;

pub use event::{Event, Field, FieldsMap, Provenance, ShapeId, SourceFile};
pub use name::FieldName;
pub use time::{TimeWindow, Timestamp, filetime_instant, filetime_text};
pub use value::Value;

/// Canonical names of the `System` fields, shared by the normalizers and the readers of events.
pub mod names {
    pub const EVENT_ID: &str = "EventID";
    pub const CHANNEL: &str = "Channel";
    pub const COMPUTER: &str = "Computer";
    pub const PROVIDER_NAME: &str = "Provider_Name";
    pub const PROVIDER_GUID: &str = "Provider_Guid";
    pub const EVENT_RECORD_ID: &str = "EventRecordID";
    pub const TIME_CREATED: &str = "TimeCreated_SystemTime";
    pub const PROCESS_ID: &str = "Execution_ProcessID";
    pub const THREAD_ID: &str = "Execution_ThreadID";
    pub const USER_ID: &str = "Security_UserID";
    pub const VERSION: &str = "Version";
    pub const ACTIVITY_ID: &str = "Correlation_ActivityID";
    pub const RELATED_ACTIVITY_ID: &str = "Correlation_RelatedActivityID";
}
