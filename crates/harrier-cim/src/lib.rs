//! Splunk's view of Windows events.
//!
//! This crate owns the fields Splunk's add-ons derive from raw Windows events (`dest`,
//! `process_name`, `dest_port`, `EventCode`, `_time`, `source` ...) and the CIM data model
//! datasets an event feeds (`Endpoint.Processes` from Sysmon 1 and Security 4688, with fields
//! named `Processes.process_name` ...). Every derivation is data, in `data/splunk-fields.yml`;
//! this code only interprets it.
//!
//! [`FieldLayer::view`] gives an event as SPL sees it: the derived fields first (they win over
//! raw fields of the same name), then the raw fields, empty values left out (Splunk reads an
//! empty value as no value), and [`DATAMODEL_FIELD`] listing the datasets it belongs to.

mod derivation;

use derivation::Derivation;
use harrier_event::{Event, Field, FieldName, Value};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::OnceLock;

/// The field listing the data model datasets of an event (`Endpoint.Processes`).
pub const DATAMODEL_FIELD: &str = "_datamodel";

/// The derivations, compiled.
pub struct FieldLayer {
    groups: Vec<Group>,
    datamodels: Vec<DataModel>,
}

struct Group {
    selector: Selector,
    fields: Vec<(FieldName, Derivation)>,
}

/// Which events a group or dataset takes: any of these channels (none: every channel), any
/// of these event ids (none: every id).
#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct Selector {
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    channels: Vec<String>,
    #[serde(default)]
    event_ids: Vec<i64>,
}

impl Selector {
    fn takes(&self, channel: &str, event_id: Option<i64>) -> bool {
        let channel_ok = (self.channel.is_none() && self.channels.is_empty())
            || self.channel.iter().chain(&self.channels).any(|wanted| wanted.eq_ignore_ascii_case(channel));
        let id_ok = self.event_ids.is_empty() || event_id.is_some_and(|id| self.event_ids.contains(&id));
        channel_ok && id_ok
    }
}

struct DataModel {
    dataset: String,
    events: Vec<Selector>,
    /// (derived field, `prefix.field`).
    fields: Vec<(String, FieldName)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    groups: Vec<GroupDocument>,
    datamodels: Vec<DataModelDocument>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupDocument {
    #[allow(dead_code)] // documents the group in the data file
    name: String,
    #[serde(flatten)]
    selector: Selector,
    fields: indexmap_free::OrderedMap,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DataModelDocument {
    dataset: String,
    prefix: String,
    events: Vec<Selector>,
    fields: Vec<String>,
}

/// YAML maps in file order, without another dependency.
mod indexmap_free {
    use serde::de::{Deserializer, MapAccess, Visitor};

    pub struct OrderedMap(pub Vec<(String, String)>);

    impl<'de> serde::Deserialize<'de> for OrderedMap {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct Entries;
            impl<'de> Visitor<'de> for Entries {
                type Value = OrderedMap;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a map of field to derivation")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedMap, A::Error> {
                    let mut entries = Vec::new();
                    while let Some(entry) = map.next_entry()? {
                        entries.push(entry);
                    }
                    Ok(OrderedMap(entries))
                }
            }
            deserializer.deserialize_map(Entries)
        }
    }
}

impl FieldLayer {
    /// The built-in derivations (`data/splunk-fields.yml`).
    pub fn builtin() -> &'static FieldLayer {
        static LAYER: OnceLock<FieldLayer> = OnceLock::new();
        LAYER.get_or_init(|| {
            FieldLayer::from_yaml(include_str!("../data/splunk-fields.yml")).expect("the built-in field layer is valid")
        })
    }

    pub fn from_yaml(text: &str) -> Result<FieldLayer, String> {
        let document: Document = yaml_serde::from_str(text).map_err(|error| error.to_string())?;
        let mut groups = Vec::new();
        for group in document.groups {
            let mut fields = Vec::new();
            for (name, text) in group.fields.0 {
                let derivation = Derivation::parse(&text).map_err(|error| format!("field `{name}`: {error}"))?;
                fields.push((FieldName::from(name.as_str()), derivation));
            }
            groups.push(Group { selector: group.selector, fields });
        }
        let datamodels = document
            .datamodels
            .into_iter()
            .map(|model| DataModel {
                dataset: model.dataset,
                events: model.events,
                fields: model
                    .fields
                    .into_iter()
                    .map(|field| {
                        let prefixed = FieldName::from(format!("{}.{field}", model.prefix).as_str());
                        (field, prefixed)
                    })
                    .collect(),
            })
            .collect();
        Ok(FieldLayer { groups, datamodels })
    }

    /// The data model datasets this layer fills (`Endpoint.Processes`, ...).
    pub fn datasets(&self) -> impl Iterator<Item = &str> {
        self.datamodels.iter().map(|model| model.dataset.as_str())
    }

    /// The event as SPL sees it.
    pub fn view(&self, event: &Event) -> Event {
        let channel = event.channel().unwrap_or_default();
        let event_id = event.event_id();
        let mut derived: Vec<(FieldName, Value)> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::new();
        for group in self.groups.iter().filter(|group| group.selector.takes(channel, event_id)) {
            for (name, derivation) in &group.fields {
                let Some(value) = derivation.apply(event) else { continue };
                match index.get(name.name()) {
                    Some(&at) => derived[at].1 = value,
                    None => {
                        index.insert(name.name(), derived.len());
                        derived.push((name.clone(), value));
                    }
                }
            }
        }
        let mut datasets = Vec::new();
        let mut model_fields = Vec::new();
        for model in self.datamodels.iter().filter(|model| model.events.iter().any(|s| s.takes(channel, event_id))) {
            datasets.push(Value::Str(model.dataset.clone()));
            for (field, prefixed) in &model.fields {
                if let Some(&at) = index.get(field.as_str()) {
                    model_fields.push((prefixed.clone(), derived[at].1.clone()));
                }
            }
        }
        let mut fields = Vec::with_capacity(derived.len() + model_fields.len() + event.fields().len() + 1);
        fields.extend(derived.into_iter().chain(model_fields).map(|(name, value)| Field::named(name, value)));
        if !datasets.is_empty() {
            fields.push(Field::new(DATAMODEL_FIELD, Value::List(datasets)));
        }
        fields.extend(event.fields().iter().filter(|field| !is_empty(&field.value)).cloned());
        Event::new(event.provenance.clone(), fields)
    }
}

/// Splunk has no empty values: an empty text or null is no value.
pub(crate) fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Str(text) => text.is_empty(),
        Value::List(items) => items.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use harrier_event::{Provenance, SourceFile, Timestamp};
    use std::sync::Arc;

    fn event(fields: &[(&str, Value)]) -> Event {
        let provenance = Provenance {
            source: Arc::new(SourceFile { path: "x".into() }),
            record_id: 1,
            timestamp: Timestamp::parse("2022-09-15T12:56:22.958249Z"),
        };
        let fields = fields.iter().map(|(name, value)| Field::new(name, value.clone())).collect();
        Event::new(provenance, fields)
    }

    fn sysmon_3() -> Event {
        event(&[
            ("EventID", Value::Int(3)),
            ("Channel", Value::Str("Microsoft-Windows-Sysmon/Operational".into())),
            ("Computer", Value::Str("win-dc".into())),
            ("Image", Value::Str(r"C:\Temp\agent_tesla-deob.exe".into())),
            ("User", Value::Str(r"ATTACKRANGE\Administrator".into())),
            ("Protocol", Value::Str("tcp".into())),
            ("Initiated", Value::Str("true".into())),
            ("DestinationIp", Value::Str("41.77.117.236".into())),
            ("DestinationHostname", Value::Str("".into())),
            ("DestinationPort", Value::Int(21)),
        ])
    }

    #[test]
    fn sysmon_network_events_gain_cim_fields() {
        let view = FieldLayer::builtin().view(&sysmon_3());
        let text = |name: &str| {
            view.fields().iter().find(|f| f.name() == name).and_then(|f| f.value.as_text()).map(|t| t.into_owned())
        };
        assert_eq!(text("process_name").as_deref(), Some("agent_tesla-deob.exe"));
        assert_eq!(text("dest").as_deref(), Some("41.77.117.236"), "an empty hostname is no hostname");
        assert_eq!(text("dvc").as_deref(), Some("win-dc"));
        assert_eq!(text("direction").as_deref(), Some("outbound"));
        assert_eq!(text("transport").as_deref(), Some("tcp"));
        assert_eq!(text("protocol").as_deref(), Some("ip"));
        assert_eq!(text("EventCode").as_deref(), Some("3"));
        assert_eq!(text("All_Traffic.dest_port").as_deref(), Some("21"));
        assert_eq!(text("source").as_deref(), Some("XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"));
        assert_eq!(text("_time").as_deref(), Some("1663246582.958249"));
        assert!(text("DestinationHostname").is_none());
    }

    #[test]
    fn only_process_launches_feed_endpoint_processes() {
        let process = event(&[
            ("EventID", Value::Int(4688)),
            ("Channel", Value::Str("Security".into())),
            ("NewProcessName", Value::Str(r"C:\Windows\System32\certutil.exe".into())),
        ]);
        let view = FieldLayer::builtin().view(&process);
        let field = |name: &str| view.fields().iter().find(|f| f.name() == name).map(|f| f.value.clone());
        assert_eq!(field(DATAMODEL_FIELD), Some(Value::List(vec![Value::Str("Endpoint.Processes".into())])));
        assert_eq!(field("Processes.process_name"), Some(Value::Str("certutil.exe".into())));
        let view = FieldLayer::builtin().view(&sysmon_3());
        assert!(!view.fields().iter().any(|f| f.name().starts_with("Processes.")));
    }
}
