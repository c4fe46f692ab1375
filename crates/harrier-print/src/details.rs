//! What explains an event: all its own fields (the timeline formats' details), or the few a
//! responder reads first, per channel and event id (`data/details.yml`).

use harrier_event::{Event, Value, names};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::OnceLock;

/// The fields of `<System>` (and export metadata) that every event has; details leave them out.
fn is_system(name: &str) -> bool {
    [
        names::EVENT_ID,
        names::CHANNEL,
        names::COMPUTER,
        names::PROVIDER_NAME,
        "Provider_Guid",
        "Version",
        "Level",
        "Task",
        "Opcode",
        "Keywords",
        "TimeCreated_SystemTime",
        "EventRecordID",
        "Correlation",
        "Correlation_ActivityID",
        "Execution_ProcessID",
        "Execution_ThreadID",
        "Security_UserID",
    ]
    .iter()
    .any(|system| system.eq_ignore_ascii_case(name))
        || name.starts_with('@')
}

/// `Image: C:\x.exe ¦ CommandLine: ...`: the event's own fields, as a responder reads them.
pub fn details(event: &Event) -> String {
    let fields = event.fields().iter().filter(|field| !is_system(field.name()));
    let parts = fields.filter_map(|field| Some(format!("{}: {}", field.name(), shown(&field.value)?)));
    parts.collect::<Vec<_>>().join(" ¦ ")
}

/// A value as details show it; none when it says nothing (null, empty, `-`).
fn shown(value: &Value) -> Option<String> {
    let text = match value {
        Value::Null => return None,
        Value::List(items) => {
            items.iter().filter_map(|item| item.as_text().map(|text| text.into_owned())).collect::<Vec<_>>().join(", ")
        }
        other => other.as_text().map(|text| text.into_owned()).unwrap_or_default(),
    };
    (!text.is_empty() && text != "-").then_some(text)
}

/// The fields that explain events of one channel, by event id.
#[derive(Deserialize)]
struct ChannelDetails {
    channel: String,
    events: HashMap<i64, Vec<String>>,
}

/// The built-in table, by lower-cased channel.
fn table() -> &'static HashMap<String, HashMap<i64, Vec<String>>> {
    static TABLE: OnceLock<HashMap<String, HashMap<i64, Vec<String>>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let entries: Vec<ChannelDetails> =
            yaml_serde::from_str(include_str!("../data/details.yml")).expect("data/details.yml is valid (tested)");
        entries.into_iter().map(|entry| (entry.channel.to_lowercase(), entry.events)).collect()
    })
}

/// `Image: C:\x.exe ¦ CommandLine: ... ¦ ParentImage: ... ¦ User: ...`: the few fields that
/// explain the event, or all its own fields for an event the table does not know.
pub fn key_details(event: &Event) -> String {
    let known =
        event.channel().zip(event.event_id()).and_then(|(channel, id)| table().get(&channel.to_lowercase())?.get(&id));
    match known {
        Some(names) => {
            let parts = names.iter().filter_map(|name| Some(format!("{name}: {}", shown(event.get(name)?)?)));
            parts.collect::<Vec<_>>().join(" ¦ ")
        }
        None => details(event),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_reads_and_names_known_fields() {
        let table = table();
        assert_eq!(table["microsoft-windows-sysmon/operational"][&1], ["Image", "CommandLine", "ParentImage", "User"]);
        assert!(table["security"].contains_key(&4624));
    }
}
