//! Every ESCU detection of `../shared/escu` through the loader.

use harrier_spl::escu::{self, Library, Outcome};
use std::collections::BTreeMap;
use std::path::Path;

struct Row {
    path: String,
    status: String,
    group: String,
    tier: u32,
}

fn manifest(root: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(root.join("MANIFEST.tsv")).expect("MANIFEST.tsv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    let column = |name: &str| header.iter().position(|column| *column == name).expect(name);
    let (path, status, group, tier) = (column("path"), column("status"), column("group"), column("tier_needed"));
    lines
        .map(|line| {
            let cells: Vec<&str> = line.split('\t').collect();
            Row {
                path: cells[path].to_owned(),
                status: cells[status].to_owned(),
                group: cells[group].to_owned(),
                tier: cells[tier].parse().expect("tier"),
            }
        })
        .collect()
}

#[test]
fn tier_two_detections_parse() {
    let Some(root) = harrier_testdata::escu("") else { return };
    let library = Library::load(&[root.join("macros")], &[root.join("lookups")]);
    assert!(library.problems.is_empty(), "{:?}", library.problems);
    let mut reasons: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let (mut total, mut parsed) = (0, 0);
    for row in manifest(&root).iter().filter(|row| row.status != "deprecated" && row.tier <= 2) {
        total += 1;
        let detection = escu::load_file(&root.join(&row.path), &library);
        match detection.outcome {
            Outcome::Runnable(_) => parsed += 1,
            Outcome::Deprecated(_) => panic!("{} is not deprecated in the manifest", row.path),
            Outcome::Failed(why) => {
                let first = why.lines().next().unwrap_or_default().to_owned();
                reasons.entry(first).or_default().push(format!("{} ({})", row.path, row.group));
            }
        }
    }
    for (reason, files) in &reasons {
        eprintln!("{:>4}  {reason}\n      e.g. {}", files.len(), files[0]);
    }
    eprintln!("{parsed} of {total} tier ≤ 2 detections parse");
    assert!(parsed * 100 >= total * 95, "{parsed} of {total}");
}
