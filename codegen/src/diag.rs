//! Diagnostics that point at a spec file and line.

use std::fmt;

/// Where something was written: a spec file and a byte range in it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Loc {
    /// Index of the file in [`crate::ir::Spec::files`].
    pub file: usize,
    /// Byte offset of the start.
    pub start: usize,
}

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The specs do not validate; nothing is generated.
    Error,
    /// Worth a look; generation goes on.
    Warning,
}

/// One finding, resolved to a file, line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diag {
    /// The spec file as shown to the user.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{}:{}:{}: {}: {}", self.file, self.line, self.col, sev, self.message)
    }
}

/// A spec file's name and text, for turning byte offsets into lines.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path shown in diagnostics (relative to the project when possible).
    pub display: String,
    /// Module stem (`cmdif` for `specs/cmdif.toml`).
    pub stem: String,
    /// Full text.
    pub text: String,
}

impl SourceFile {
    /// 1-based line and column of a byte offset (clamped to the text).
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text.as_bytes()[..offset];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        let col = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
        (line, col)
    }
}

/// Collects diagnostics against a set of source files.
#[derive(Debug, Default)]
pub struct Diags {
    /// Everything found so far.
    pub list: Vec<Diag>,
}

impl Diags {
    /// Records an error at `loc`.
    pub fn error(&mut self, files: &[SourceFile], loc: &Loc, message: impl Into<String>) {
        self.push(files, loc, Severity::Error, message.into());
    }

    /// Records a warning at `loc`.
    pub fn warning(&mut self, files: &[SourceFile], loc: &Loc, message: impl Into<String>) {
        self.push(files, loc, Severity::Warning, message.into());
    }

    fn push(&mut self, files: &[SourceFile], loc: &Loc, severity: Severity, message: String) {
        let (file, line, col) = match files.get(loc.file) {
            Some(f) => {
                let (l, c) = f.line_col(loc.start);
                (f.display.clone(), l, c)
            }
            None => ("<specs>".to_string(), 0, 0),
        };
        self.list.push(Diag { file, line, col, severity, message });
    }

    /// Whether any error was recorded.
    pub fn has_errors(&self) -> bool {
        self.list.iter().any(|d| d.severity == Severity::Error)
    }

    /// The diagnostics sorted by file, line and column, one per line.
    pub fn render(&self) -> String {
        let mut v = self.list.clone();
        v.sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
        v.dedup();
        let mut s = String::new();
        for d in v {
            s.push_str(&d.to_string());
            s.push('\n');
        }
        s
    }
}
