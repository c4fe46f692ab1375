//! Output never depends on the thread count: the same hunt of all of `../shared` (SigmaHQ,
//! its correlations, ESCU) on 1, 2 and 8 threads writes the same bytes.

use std::process::Command;

fn hunt(threads: &str, args: &[std::path::PathBuf]) -> Vec<u8> {
    let output = Command::new(env!("CARGO_BIN_EXE_harrier"))
        .args(["-j", threads, "-q", "hunt", "--format", "jsonl"])
        .args(args)
        .output()
        .expect("harrier runs");
    assert!(output.status.success(), "-j {threads}: {}", String::from_utf8_lossy(&output.stderr));
    output.stdout
}

#[test]
fn a_hunt_writes_the_same_bytes_on_one_two_and_eight_threads() {
    let (Some(data), Some(sigma), Some(escu)) =
        (harrier_testdata::shared(""), harrier_testdata::shared("sigma/rules"), harrier_testdata::escu("detections"))
    else {
        return;
    };
    let args = [data, "-r".into(), sigma, "-r".into(), escu];
    let one = hunt("1", &args);
    assert!(one.iter().filter(|&&byte| byte == b'\n').count() > 1_000, "a hunt with many results");
    for threads in ["2", "8"] {
        assert!(hunt(threads, &args) == one, "-j {threads} wrote other bytes than -j 1");
    }
}
