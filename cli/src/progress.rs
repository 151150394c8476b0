//! Progress of long operations on stderr, only when stderr is a terminal.

use std::io::{IsTerminal, Write};

/// A `[i/n] what` line redrawn in place; silent when stderr is not a terminal.
pub struct Progress {
    total: usize,
    on: bool,
}

impl Progress {
    /// Progress over `total` steps.
    pub fn new(total: usize) -> Self {
        Progress { total, on: std::io::stderr().is_terminal() }
    }

    /// Step `i` (0-based) is `what`.
    pub fn step(&self, i: usize, what: &str) {
        if self.on {
            let _ = write!(std::io::stderr(), "\r\x1b[K[{}/{}] {what}", i + 1, self.total);
        }
    }

    /// Clears the line.
    pub fn done(&self) {
        if self.on {
            let _ = write!(std::io::stderr(), "\r\x1b[K");
        }
    }
}
