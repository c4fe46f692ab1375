//! The export layouts and how each maps its keys to the canonical names.

use crate::builder::FieldBuilder;
use crate::xml;
use harrier_event::{Event, Provenance, Value, names};
use serde_json::{Map, Value as Json};
use std::borrow::Cow;

/// How an event was exported, detected from the keys of its JSON object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `evtx_dump` JSON: `{"Event": {"System": {..}, "EventData": {..}}}`; also what the
    /// EVTX reader produces.
    EvtxJson,
    /// Winlogbeat 7+ / Elastic Common Schema: `winlog.event_id`, `winlog.event_data.*`.
    Ecs,
    /// Winlogbeat 6 (HELK): `event_id`, `log_name`, `event_data.*` at the top level.
    Winlogbeat6,
    /// Azure Log Analytics / Sentinel (`SecurityEvent`, `WindowsEvent`, `Event` tables):
    /// `TimeGenerated`, `EventData` held as a string of XML or JSON.
    AzureLogAnalytics,
    /// Flat keys (NXLog, Security-Datasets): `EventID`, `Channel`, EventData fields at the top.
    Flat,
}

/// Where a layout keeps the canonical `System` fields, and which keys hold EventData/UserData.
struct KeyMap {
    /// (dotted source key, canonical name); the first key present wins.
    system: &'static [(&'static str, &'static str)],
    /// (dotted source key, canonical section path) of the containers of event fields.
    sections: &'static [(&'static str, &'static str)],
}

/// Keys outside a layout's known places keep their dotted path as their name.
const NO_KEYS: KeyMap = KeyMap { system: &[], sections: &[] };

const EVENT_DATA: &str = "Event.EventData";
const USER_DATA: &str = "Event.UserData";

const ECS: KeyMap = KeyMap {
    system: &[
        ("winlog.event_id", names::EVENT_ID),
        ("winlog.channel", names::CHANNEL),
        ("winlog.computer_name", names::COMPUTER),
        ("winlog.provider_name", names::PROVIDER_NAME),
        ("winlog.provider_guid", names::PROVIDER_GUID),
        ("winlog.record_id", names::EVENT_RECORD_ID),
        ("winlog.process.pid", names::PROCESS_ID),
        ("winlog.process.thread.id", names::THREAD_ID),
        ("winlog.user.identifier", names::USER_ID),
        ("winlog.version", names::VERSION),
        ("winlog.activity_id", names::ACTIVITY_ID),
        ("winlog.related_activity_id", names::RELATED_ACTIVITY_ID),
        ("@timestamp", names::TIME_CREATED),
    ],
    sections: &[("winlog.event_data", EVENT_DATA), ("winlog.user_data", USER_DATA)],
};

const WINLOGBEAT6: KeyMap = KeyMap {
    system: &[
        ("event_id", names::EVENT_ID),
        ("log_name", names::CHANNEL),
        ("computer_name", names::COMPUTER),
        ("source_name", names::PROVIDER_NAME),
        ("provider_guid", names::PROVIDER_GUID),
        ("record_number", names::EVENT_RECORD_ID),
        ("process_id", names::PROCESS_ID),
        ("thread_id", names::THREAD_ID),
        ("user.identifier", names::USER_ID),
        ("version", names::VERSION),
        ("activity_id", names::ACTIVITY_ID),
        ("related_activity_id", names::RELATED_ACTIVITY_ID),
        ("@timestamp", names::TIME_CREATED),
    ],
    sections: &[("event_data", EVENT_DATA), ("user_data", USER_DATA)],
};

const AZURE: KeyMap = KeyMap {
    system: &[
        ("EventID", names::EVENT_ID),
        ("Channel", names::CHANNEL),
        ("EventLog", names::CHANNEL),
        ("Computer", names::COMPUTER),
        ("Provider", names::PROVIDER_NAME),
        ("EventSourceName", names::PROVIDER_NAME),
        ("Source", names::PROVIDER_NAME),
        ("EventRecordId", names::EVENT_RECORD_ID),
        ("TimeGenerated", names::TIME_CREATED),
    ],
    sections: &[("EventData", EVENT_DATA), ("EventData_dynamic", EVENT_DATA), ("EventData_string", EVENT_DATA)],
};

/// NXLog's `im_msvistalog` names, plus the canonical names themselves so that an already
/// normalized flat export (such as `harrier events` output) reads back unchanged.
const FLAT: KeyMap = KeyMap {
    system: &[
        ("EventID", names::EVENT_ID),
        ("Channel", names::CHANNEL),
        ("Computer", names::COMPUTER),
        ("Hostname", names::COMPUTER),
        ("Provider_Name", names::PROVIDER_NAME),
        ("SourceName", names::PROVIDER_NAME),
        ("Provider_Guid", names::PROVIDER_GUID),
        ("ProviderGuid", names::PROVIDER_GUID),
        ("EventRecordID", names::EVENT_RECORD_ID),
        ("RecordNumber", names::EVENT_RECORD_ID),
        ("Execution_ProcessID", names::PROCESS_ID),
        ("ExecutionProcessID", names::PROCESS_ID),
        ("Execution_ThreadID", names::THREAD_ID),
        ("ThreadID", names::THREAD_ID),
        ("Security_UserID", names::USER_ID),
        ("UserID", names::USER_ID),
        ("Version", names::VERSION),
        ("TimeCreated_SystemTime", names::TIME_CREATED),
        ("@timestamp", names::TIME_CREATED),
        ("TimeCreated", names::TIME_CREATED),
    ],
    sections: &[],
};

/// The top-level keys and values of a JSON event, in document order: kept as a list rather
/// than a map, since each key is looked at once and hashing forty keys an event costs more.
pub(crate) type Entries<'k> = Vec<(Cow<'k, str>, Json)>;

impl Layout {
    pub fn detect(map: &Map<String, Json>) -> Layout {
        Layout::detect_by(|key| map.get(key))
    }

    pub(crate) fn detect_entries(entries: &Entries) -> Layout {
        Layout::detect_by(|key| entries.iter().find(|(name, _)| same_text(name, key)).map(|(_, value)| value))
    }

    fn detect_by<'v>(get: impl Fn(&str) -> Option<&'v Json>) -> Layout {
        let has_object = |key: &str| get(key).is_some_and(Json::is_object);
        if has_object("Event") {
            Layout::EvtxJson
        } else if has_object("winlog") {
            Layout::Ecs
        } else if has_object("event_data") || (get("event_id").is_some() && get("log_name").is_some()) {
            Layout::Winlogbeat6
        } else if get("TimeGenerated").is_some() {
            Layout::AzureLogAnalytics
        } else {
            Layout::Flat
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Layout::EvtxJson => "evtx-json",
            Layout::Ecs => "winlogbeat-ecs",
            Layout::Winlogbeat6 => "winlogbeat6",
            Layout::AzureLogAnalytics => "azure-log-analytics",
            Layout::Flat => "flat",
        }
    }

    pub(crate) fn normalize(self, entries: Entries, provenance: Provenance) -> Event {
        // Each top-level key gives a field or more (System keys and EventData nest).
        let mut builder = FieldBuilder::with_capacity(entries.len() + 16);
        match self {
            Layout::EvtxJson => push_evtx_json(&mut builder, entries),
            Layout::Ecs => push_mapped(&mut builder, &ECS, entries),
            Layout::Winlogbeat6 => push_mapped(&mut builder, &WINLOGBEAT6, entries),
            Layout::AzureLogAnalytics => push_mapped(&mut builder, &AZURE, entries),
            Layout::Flat => push_mapped(&mut builder, &FLAT, entries),
        }
        builder.finish(provenance)
    }
}

/// `{"Event": {"System": .., "EventData": .., "UserData": {"Inner": ..}}}`; keys beside
/// `Event` (rare) are kept as they are.
fn push_evtx_json(builder: &mut FieldBuilder, mut entries: Entries) {
    let Some(at) = entries.iter().position(|(key, value)| key == "Event" && value.is_object()) else {
        return;
    };
    let Json::Object(event) = entries.remove(at).1 else { return };
    for (section, value) in event {
        match (section.as_str(), value) {
            ("#attributes", _) | (_, Json::Null) => {}
            ("UserData", Json::Object(user_data)) => in_section(builder, USER_DATA, |b| push_user_data(b, user_data)),
            (_, Json::Object(children)) => {
                in_section(builder, &format!("Event.{section}"), |b| b.push_children(children));
            }
            (_, other) => builder.push(&section, Some(&format!("Event.{section}")), Value::from(other)),
        }
    }
    walk_mapped(builder, &NO_KEYS, &mut Vec::new(), "", entries);
}

/// `a == b`, with the length and first byte compared inline: keys are looked up among a
/// layout's known keys many times an event, and most candidates differ at once.
pub(crate) fn same_text(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.as_bytes().first() == b.as_bytes().first() && a == b
}

/// A key outside the known places of a layout, kept under its dotted path.
pub(crate) fn push_leftover(builder: &mut FieldBuilder, key: &str, value: Json) {
    walk_mapped(builder, &NO_KEYS, &mut Vec::new(), "", [(key, value)]);
}

/// Runs `push` with the builder's path set to `section`.
fn in_section(builder: &mut FieldBuilder, section: &str, push: impl FnOnce(&mut FieldBuilder)) {
    let mark = builder.enter(section);
    push(builder);
    builder.leave(mark);
}

/// UserData wraps its fields in one provider element (`Operation_ClientFailure`); rules
/// name the fields inside it.
fn push_user_data(builder: &mut FieldBuilder, user_data: Map<String, Json>) {
    for (inner, value) in user_data {
        if crate::builder::is_namespace_declaration(&inner) || inner == "#attributes" {
            continue;
        }
        let mark = builder.enter(&inner);
        match value {
            Json::Object(children) => builder.push_children(children),
            other => builder.push_here(&inner, Value::from(other)),
        }
        builder.leave(mark);
    }
}

fn push_mapped(builder: &mut FieldBuilder, keys: &KeyMap, entries: Entries) {
    walk_mapped(builder, keys, &mut Vec::new(), "", entries);
}

fn walk_mapped<'k, K: AsRef<str>>(
    builder: &mut FieldBuilder,
    keys: &'k KeyMap,
    seen_system: &mut Vec<&'k str>,
    prefix: &str,
    entries: impl IntoIterator<Item = (K, Json)>,
) {
    for (key, value) in entries {
        let key = key.as_ref();
        let joined;
        let dotted = if prefix.is_empty() {
            key
        } else {
            joined = format!("{prefix}.{key}");
            &joined
        };
        if let Some((_, section)) = keys.sections.iter().find(|(source, _)| same_text(source, dotted)) {
            in_section(builder, section, |b| push_section(b, section, value));
        } else if let Some((_, canonical)) = keys.system.iter().find(|(source, _)| same_text(source, dotted)) {
            // Two source keys can map to one name (Azure `Provider`/`EventSourceName`): the
            // first takes the name, a later one keeps its own.
            if seen_system.contains(canonical) {
                builder.push(dotted, None, Value::from(value));
            } else {
                seen_system.push(canonical);
                builder.push_system(canonical, value);
            }
        } else {
            match value {
                Json::Object(children) => walk_mapped(builder, keys, seen_system, dotted, children),
                other => builder.push(dotted, None, Value::from(other)),
            }
        }
    }
}

/// An EventData/UserData container at the builder's path: an object, or (Azure) a string of
/// JSON or XML.
fn push_section(builder: &mut FieldBuilder, section: &str, value: Json) {
    let name = section.rsplit('.').next().unwrap_or(section);
    match value {
        Json::Object(children) if section == USER_DATA => push_user_data_children(builder, children),
        Json::Object(children) => builder.push_children(children),
        Json::String(text) => push_section_text(builder, name, text),
        Json::Null => {}
        other => builder.push_here(name, Value::from(other)),
    }
}

/// Winlogbeat already lifts the UserData fields out of their provider element, whose name it
/// keeps as `xml_name`.
fn push_user_data_children(builder: &mut FieldBuilder, mut children: Map<String, Json>) {
    match children.remove("xml_name") {
        Some(Json::String(inner)) => in_section(builder, &inner, |b| b.push_children(children)),
        _ => builder.push_children(children),
    }
}

fn push_section_text(builder: &mut FieldBuilder, name: &str, text: String) {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{')
        && let Ok(Json::Object(children)) = serde_json::from_str::<Json>(trimmed)
    {
        builder.push_children(children);
    } else if trimmed.starts_with('<')
        && let Some(data) = xml::event_data_fields(trimmed)
    {
        for (data_name, value) in data {
            in_section(builder, &data_name, |b| b.push_here(&data_name, value));
        }
    } else {
        builder.push_here(name, Value::Str(text));
    }
}
