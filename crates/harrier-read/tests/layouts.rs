//! The same Sysmon event exported in five layouts normalizes to the same fields.

mod common;

use common::{examples, read_all, texts};
use harrier_event::Value;

fn first_event(file: &str) -> harrier_event::Event {
    let (events, summary) = read_all(&[&examples().join(file)]);
    assert_eq!(summary.all_problems().count(), 0, "{file}: {:?}", summary.files);
    events.into_iter().next().unwrap_or_else(|| panic!("{file} has no event"))
}

#[test]
fn evtx_json_ecs_winlogbeat6_and_flat_give_identical_fields() {
    let reference = first_event("sysmon-network-evtx.json");
    assert_eq!(
        reference.get("Image").and_then(Value::as_str),
        Some("C:\\Users\\Public\\Downloads\\invoice-viewer.exe")
    );
    for file in ["sysmon-network-ecs.jsonl", "sysmon-network-winlogbeat6.jsonl", "sysmon-network-flat.jsonl"] {
        let event = first_event(file);
        assert_eq!(texts(&event), texts(&reference), "{file}");
        assert_eq!(event.timestamp(), reference.timestamp(), "{file}");
        for path in ["Event.System.EventID", "Event.System.Provider.Name", "Event.System.TimeCreated.SystemTime"] {
            assert_eq!(event.get(path), reference.get(path), "{file}: {path}");
        }
    }
}

#[test]
fn azure_log_analytics_fields_are_the_same_as_far_as_it_exports_them() {
    let reference = texts(&first_event("sysmon-network-evtx.json"));
    let azure = texts(&first_event("sysmon-network-azure.jsonl"));
    for pair in &azure {
        assert!(reference.contains(pair), "{pair:?} is not in the EVTX export");
    }
    // Azure drops record ids, guids and execution ids; all the EventData is there.
    assert!(azure.len() >= 21, "{azure:?}");
}

#[test]
fn azure_security_event_xml_becomes_event_data_fields() {
    let (events, _) = read_all(&[&examples().join("sysmon-network-azure.jsonl")]);
    let security = &events[1];
    assert_eq!(security.event_id(), Some(4688));
    assert_eq!(security.provider(), Some("Microsoft-Windows-Security-Auditing"));
    assert_eq!(security.text("NewProcessName").as_deref(), Some("C:\\Windows\\System32\\net.exe"));
    assert_eq!(security.text("CommandLine").as_deref(), Some("net group \"Domain Admins\" /domain"));
    assert_eq!(security.record_id(), 2, "JSON events are numbered by line");
}

#[test]
fn evtx_json_keeps_value_types_and_document_order() {
    let event = first_event("sysmon-network-evtx.json");
    assert_eq!(event.get("EventID"), Some(&Value::Int(3)));
    assert_eq!(event.get("Initiated"), Some(&Value::Bool(true)));
    assert_eq!(event.get("ProcessId"), Some(&Value::Int(7344)));
    assert_eq!(event.get("Execution_ProcessID"), Some(&Value::Int(3012)));
    let names: Vec<&str> = event.fields().iter().map(|field| field.name()).collect();
    assert_eq!(&names[..3], ["Provider_Name", "Provider_Guid", "EventID"]);
    assert_eq!(event.record_id(), 1, "a pretty-printed document is numbered by its first line");
}
