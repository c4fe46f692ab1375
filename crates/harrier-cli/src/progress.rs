//! What the user sees on stderr while a read goes: a progress bar (only on a terminal), the
//! problems as they are met, and a closing summary.

use clap::ValueEnum;
use harrier::Progress;
use harrier_read::{Observer, Problem};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// What the user asked of stderr and colour.
pub struct Ui {
    /// Nothing but errors.
    pub quiet: bool,
    /// Each problem and rule that cannot run named, not only counted.
    pub verbose: bool,
    pub color: Color,
    /// `--max-record-size`, in bytes.
    pub max_record_bytes: usize,
}

impl Ui {
    /// How to read logs, with the user's record limit.
    pub fn read_options(&self) -> harrier_read::ReadOptions {
        harrier_read::ReadOptions { max_record_bytes: self.max_record_bytes, ..harrier_read::ReadOptions::default() }
    }
}

/// `--color`.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

impl Color {
    /// Colour on an output that is (or is not) a terminal.
    pub fn wanted(self, terminal: bool) -> bool {
        match self {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => terminal && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty()),
        }
    }

    /// Colour in a file: only when asked for.
    pub fn always(self) -> bool {
        self == Color::Always
    }
}

/// Shows progress and problems during one read.
pub struct Console {
    bar: ProgressBar,
    started: Instant,
    quiet: bool,
    verbose: bool,
}

impl Console {
    pub fn new(ui: &Ui) -> Console {
        let bar = if ui.quiet || !std::io::stderr().is_terminal() {
            ProgressBar::hidden()
        } else {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        };
        Console { bar, started: Instant::now(), quiet: ui.quiet, verbose: ui.verbose }
    }

    /// Clears the bar and prints the closing summary of the read: what was read, and what was
    /// skipped (named one by one with `-v`, as it was met).
    pub fn finish(&self, summary: &harrier_read::Summary) {
        self.bar.finish_and_clear();
        if self.quiet {
            return;
        }
        eprintln!("{}", summary_line(summary, self.started.elapsed()));
        let problems = summary.all_problems().count() as u64;
        if problems > 0 && !self.verbose {
            eprintln!(
                "harrier: {} met (-v names each as it is met; `harrier stats` lists them with their files)",
                plural(problems, "problem")
            );
        }
    }

    /// Clears the bar (before results are written, or when nothing was read from files).
    pub fn clear(&self) {
        self.bar.finish_and_clear();
    }

    /// What a hunt tells as it goes.
    pub fn on(&self, progress: Progress<'_>) {
        match progress {
            Progress::Planned { total_bytes } => self.bar.set_length(total_bytes),
            Progress::Read { bytes } => self.bar.inc(bytes),
            Progress::Problem(problem) => self.show_problem(problem),
            Progress::Note(note) if !self.quiet => self.bar.suspend(|| eprintln!("harrier: {note}")),
            Progress::Note(_) => {}
        }
    }

    fn show_problem(&self, problem: &Problem) {
        if self.verbose {
            self.bar.suspend(|| eprintln!("harrier: {} {}: {problem}", problem.verb(), problem.skips()));
        }
    }
}

impl Observer for &Console {
    fn planned(&mut self, total_bytes: u64) {
        self.on(Progress::Planned { total_bytes });
    }

    fn problem(&mut self, problem: &Problem) {
        self.on(Progress::Problem(problem));
    }

    fn progress(&mut self, bytes: u64) {
        self.on(Progress::Read { bytes });
    }
}

/// `read 301 files, 25140 events, 38.3 MB in 1.20 s; skipped 3 records, 1 chunk, 2 files; ignored 5 files`
pub fn summary_line(summary: &harrier_read::Summary, elapsed: Duration) -> String {
    let mut line = format!(
        "harrier: read {} files, {} events, {:.1} MB in {:.2} s",
        summary.files.len() - summary.failed_files(),
        summary.events(),
        summary.bytes() as f64 / 1e6,
        elapsed.as_secs_f64()
    );
    if let Some(skipped) = skipped_text(summary) {
        line.push_str(&format!("; {skipped}"));
    }
    if summary.flagged() > 0 {
        line.push_str(&format!(
            "; {} read but flagged (a checksum or time that does not hold)",
            plural(summary.flagged(), "record or chunk")
        ));
    }
    if !summary.ignored.is_empty() {
        line.push_str(&format!("; ignored {} (not event logs)", plural(summary.ignored.len() as u64, "file")));
    }
    line
}

/// `skipped 3 records, 1 chunk, 2 files`, or none when nothing was.
fn skipped_text(summary: &harrier_read::Summary) -> Option<String> {
    let skipped: Vec<String> = [
        (summary.skipped_records(), "record"),
        (summary.skipped_chunks(), "chunk"),
        (summary.failed_files() as u64, "file"),
    ]
    .iter()
    .filter(|(count, _)| *count > 0)
    .map(|(count, what)| plural(*count, what))
    .collect();
    (!skipped.is_empty()).then(|| format!("skipped {}", skipped.join(", ")))
}

pub fn plural(count: u64, what: &str) -> String {
    if count == 1 { format!("1 {what}") } else { format!("{count} {what}s") }
}

/// The inputs named on the command line (`-` is standard input).
pub fn inputs(paths: &[String]) -> Vec<harrier_read::Input> {
    paths.iter().map(|path| harrier_read::Input::from_arg(path)).collect()
}
