//! Where a command writes: standard output or `-o FILE`, opened before any work so that a
//! path that cannot be written fails at once; and what a terminal allows there (colour, the
//! width lines are cut to).

use crate::progress::Ui;
use clap::Args;
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// `-o/--output`, the same on every command that writes.
#[derive(Args, Clone, Default)]
pub struct OutputArgs {
    /// Write to FILE instead of standard output. It is created before any work starts.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// An opened output.
pub struct Out {
    pub writer: BufWriter<Box<dyn Write>>,
    /// Lines are cut to this width (a terminal's); none in a file or a pipe.
    pub width: Option<usize>,
    /// Colour is wanted there.
    pub color: bool,
}

impl OutputArgs {
    pub fn open(&self, ui: &Ui) -> io::Result<Out> {
        match &self.output {
            Some(path) => {
                let file = create(path)?;
                Ok(Out { writer: BufWriter::new(Box::new(file)), width: None, color: ui.color.always() })
            }
            None => {
                let terminal = io::stdout().is_terminal();
                let width = terminal
                    .then(|| console::Term::stdout().size_checked().map(|(_, width)| usize::from(width)))
                    .flatten();
                Ok(Out {
                    writer: BufWriter::new(Box::new(io::stdout().lock())),
                    width: width.filter(|width| *width > 0),
                    color: ui.color.wanted(terminal),
                })
            }
        }
    }
}

/// Creates a file a command writes, the error naming it (and meaning "wrong arguments").
pub fn create(path: &Path) -> io::Result<File> {
    File::create(path).map_err(|error| {
        io::Error::new(io::ErrorKind::InvalidInput, format!("cannot write {}: {error}", path.display()))
    })
}
