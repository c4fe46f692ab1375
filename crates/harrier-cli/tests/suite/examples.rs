//! Every `harrier` command in the README's shell blocks and in `--help`'s examples runs, with
//! the placeholder paths they use (`logs/`, `sigma/rules`, `escu/detections` ...) standing for
//! real ones: the repository's examples and `../shared`. Each runs under bash, as pasted, in
//! a scratch directory (files it writes land there); a command it cannot run here (a feature
//! this build lacks) is named as skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// Placeholders of the examples and what they stand for here.
fn substitutions(shared: &Path, escu: &Path) -> Vec<(&'static str, String)> {
    let repository = repository();
    let examples = repository.join("examples");
    let data = shared.join("data");
    vec![
        ("../shared/", format!("{}/", shared.display())),
        ("./target/release/harrier", env!("CARGO_BIN_EXE_harrier").to_owned()),
        ("benign-logs/", format!("{}/", data.join("evtx/benign").display())),
        ("examples/logs", examples.join("logs").display().to_string()),
        ("examples/rules", examples.join("rules").display().to_string()),
        ("logs/", format!("{}/", examples.join("logs").display())),
        ("sigma/rules", data.join("sigma/rules").display().to_string()),
        ("escu/detections", escu.display().to_string()),
        (
            "export.jsonl",
            data.join("json/security-datasets/atomic/credential_access").join(first_json(&data)).display().to_string(),
        ),
        ("rule.yml", examples.join("rules/net_connection_smtp_from_user_writable_dir.yml").display().to_string()),
    ]
}

/// A JSON Lines file of Security-Datasets.
fn first_json(data: &Path) -> String {
    let mut names: Vec<String> = std::fs::read_dir(data.join("json/security-datasets/atomic/credential_access"))
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".json"))
        .collect();
    names.sort();
    names.remove(0)
}

/// The commands of the README's `sh` blocks: lines from `harrier` or the built binary on
/// (after a `&&`), continuation lines joined, comments dropped.
fn readme_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(repository().join("README.md")).unwrap();
    let mut commands = Vec::new();
    let mut in_shell = false;
    let mut pending = String::new();
    for line in readme.lines() {
        if line.starts_with("```") {
            in_shell = line == "```sh";
            continue;
        }
        if !in_shell {
            continue;
        }
        let line = without_comment(line);
        let joined = format!("{pending}{}", line.trim_end_matches('\\'));
        if line.ends_with('\\') {
            pending = joined;
            continue;
        }
        pending.clear();
        let command = joined.rsplit(" && ").next().unwrap_or(&joined).trim().to_owned();
        if command.starts_with("harrier ") || command.starts_with("./target/release/harrier ") {
            commands.push(command);
        }
    }
    commands
}

/// The line without a `#` comment (one after white space, outside quotes).
fn without_comment(line: &str) -> &str {
    let (mut single, mut double) = (false, false);
    for (at, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && line[..at].ends_with(char::is_whitespace) => return line[..at].trim_end(),
            _ => {}
        }
    }
    line.trim_end()
}

/// The examples of every command's `--help`.
fn help_commands() -> Vec<String> {
    let commands: [&[&str]; 12] = [
        &[],
        &["hunt"],
        &["search"],
        &["events"],
        &["stats"],
        &["rules", "check"],
        &["rules", "list"],
        &["coverage"],
        &["noise"],
        &["convert"],
        &["bench"],
        &["rules"],
    ];
    let mut examples = Vec::new();
    for command in commands {
        let output = Command::new(env!("CARGO_BIN_EXE_harrier")).args(command).arg("--help").output().unwrap();
        let help = String::from_utf8(output.stdout).unwrap();
        for line in help.lines().map(str::trim) {
            let line = line.strip_prefix("Example: ").unwrap_or(line);
            if line.starts_with("harrier ") {
                examples.push(without_comment(line).to_owned());
            }
        }
    }
    examples
}

/// Runs one example; `None` when it is skipped here.
fn run(command: &str, substitutions: &[(&str, String)], scratch: &Path) -> Option<(i32, String)> {
    if ["--engine spark", "harrier ingest"].iter().any(|feature| command.contains(feature)) {
        return None;
    }
    // Each word that starts with a placeholder has it replaced, once.
    let words = command.split(' ').map(|word| {
        match substitutions.iter().find(|(placeholder, _)| word.starts_with(placeholder)) {
            Some((placeholder, real)) => format!("{real}{}", &word[placeholder.len()..]),
            None => word.to_owned(),
        }
    });
    let mut line = words.collect::<Vec<_>>().join(" ");
    if let Some(rest) = line.strip_prefix("harrier ") {
        line = format!("{} {rest}", env!("CARGO_BIN_EXE_harrier"));
    }
    // Benchmarks time three passes of each kind; one says whether the command works.
    if line.contains(" bench ") {
        line.push_str(" --repeat 1");
    }
    // A pipe into another tool (jq) is the reader's; the command before it is Harrier's.
    let line = line.split(" | jq").next().unwrap().to_owned();
    let output = Command::new("bash").args(["-c", &line]).current_dir(scratch).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    Some((output.status.code().unwrap_or(-1), format!("{line}\n{stderr}")))
}

#[test]
fn every_example_in_the_readme_and_the_help_runs() {
    let (Some(shared), Some(escu)) = (harrier_testdata::shared(""), harrier_testdata::escu("detections")) else {
        return;
    };
    let shared = shared.parent().unwrap().to_owned();
    let substitutions = substitutions(&shared, &escu);
    let scratch = tempfile::tempdir().unwrap();
    std::fs::write(scratch.path().join("exclusions.yml"), exclusions_of_readme()).unwrap();
    let readme = readme_commands();
    let help = help_commands();
    assert!(readme.len() >= 20 && help.len() >= 12, "{} README commands, {} help examples", readme.len(), help.len());
    let mut failed = Vec::new();
    for command in readme.iter().chain(&help) {
        match run(command, &substitutions, scratch.path()) {
            None => eprintln!("SKIPPED here (a feature this build lacks): {command}"),
            // `rules check` exits 1 when some rule fails to load, as ESCU's do.
            Some((code, _)) if code == 0 || (code == 1 && command.contains("rules check")) => {}
            Some((code, said)) => failed.push(format!("exit {code}: {said}")),
        }
    }
    assert!(failed.is_empty(), "examples that do not run:\n{}", failed.join("\n"));
}

/// The exclusions file the README shows, as the README shows it.
fn exclusions_of_readme() -> String {
    let readme = std::fs::read_to_string(repository().join("README.md")).unwrap();
    let start = readme.find("```yaml\nexclusions:").expect("the README shows an exclusions file") + "```yaml\n".len();
    readme[start..start + readme[start..].find("```").unwrap()].to_owned()
}
