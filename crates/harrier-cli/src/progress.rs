//! What the user sees on stderr while a read goes: a progress bar (only on a terminal), the
//! problems as they are met, and a closing summary.

use harrier::Progress;
use harrier_read::{Observer, Problem};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Problems printed one by one before the rest are only counted.
const PROBLEMS_SHOWN: usize = 40;

pub struct Ui {
    pub quiet: bool,
}

/// Shows progress and problems during one read.
pub struct Console {
    bar: ProgressBar,
    shown: AtomicUsize,
    started: Instant,
    quiet: bool,
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
        Console { bar, shown: AtomicUsize::new(0), started: Instant::now(), quiet: ui.quiet }
    }

    /// Clears the bar and prints the closing summary of the read.
    pub fn finish(&self, summary: &harrier_read::Summary) {
        self.bar.finish_and_clear();
        let total = summary.all_problems().count();
        let shown = self.shown.load(Ordering::Relaxed);
        if total > shown {
            eprintln!(
                "harrier: {} more problems not shown (`harrier stats --format json` lists them all)",
                total - shown
            );
        }
        if !self.quiet {
            eprintln!("{}", summary_line(summary, self.started.elapsed()));
        }
    }

    /// Clears the bar (when nothing was read from files: a hunt on Spark).
    pub fn clear(&self) {
        self.bar.finish_and_clear();
    }

    /// What a hunt tells as it goes.
    pub fn on(&self, progress: Progress<'_>) {
        match progress {
            Progress::Planned { total_bytes } => self.bar.set_length(total_bytes),
            Progress::Read { bytes } => self.bar.inc(bytes),
            Progress::Problem(problem) => self.show_problem(problem),
            Progress::Note(note) => self.bar.suspend(|| eprintln!("harrier: {note}")),
        }
    }

    fn show_problem(&self, problem: &Problem) {
        if self.shown.load(Ordering::Relaxed) < PROBLEMS_SHOWN {
            self.shown.fetch_add(1, Ordering::Relaxed);
            self.bar.suspend(|| eprintln!("harrier: skipped {}: {problem}", problem.skips()));
        }
    }
}

impl Observer for Console {
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
    let skipped: Vec<String> = [
        (summary.skipped_records(), "record"),
        (summary.skipped_chunks(), "chunk"),
        (summary.failed_files() as u64, "file"),
    ]
    .iter()
    .filter(|(count, _)| *count > 0)
    .map(|(count, what)| plural(*count, what))
    .collect();
    if !skipped.is_empty() {
        line.push_str(&format!("; skipped {}", skipped.join(", ")));
    }
    if !summary.ignored.is_empty() {
        line.push_str(&format!("; ignored {} (not event logs)", plural(summary.ignored.len() as u64, "file")));
    }
    line
}

fn plural(count: u64, what: &str) -> String {
    if count == 1 { format!("1 {what}") } else { format!("{count} {what}s") }
}

/// The inputs named on the command line (`-` is standard input).
pub fn inputs(paths: &[String]) -> Vec<harrier_read::Input> {
    paths.iter().map(|path| harrier_read::Input::from_arg(path)).collect()
}

/// The output format to use when none is asked for: one for people, one for pipes.
pub fn default_format<T>(chosen: Option<T>, on_terminal: T, piped: T) -> T {
    chosen.unwrap_or(if std::io::stdout().is_terminal() { on_terminal } else { piped })
}
