//! A small hand-written argument parser: options anywhere, `--name value` or `--name=value`.

use mlx5_cmdif::command::Scope;

use crate::error::CliError;
use crate::render::Format;

/// Options that apply to every subcommand.
pub struct Global {
    /// `--device`: `sim`, a device node, or `None` (first fwctl device, else the model).
    pub device: Option<String>,
    /// `--scope`.
    pub scope: Scope,
    /// `-H`, `-B`, `--json` or the default.
    pub format: Format,
    /// `-h` / `--help`.
    pub help: bool,
    /// `-V` / `--version`.
    pub version: bool,
}

/// The arguments not consumed yet.
pub struct Args {
    rest: Vec<String>,
}

impl Args {
    /// Wraps the arguments (without the program name).
    pub fn new(args: Vec<String>) -> Self {
        Args { rest: args }
    }

    /// Removes every occurrence of a flag; whether there was one.
    pub fn flag(&mut self, names: &[&str]) -> bool {
        let before = self.rest.len();
        self.rest.retain(|a| !names.contains(&a.as_str()));
        self.rest.len() != before
    }

    /// Removes every `--name value` / `--name=value`; their values in order.
    pub fn values(&mut self, names: &[&str]) -> Result<Vec<String>, CliError> {
        let mut out = Vec::new();
        let mut keep = Vec::new();
        let mut it = std::mem::take(&mut self.rest).into_iter();
        while let Some(a) = it.next() {
            if names.contains(&a.as_str()) {
                match it.next() {
                    Some(v) => out.push(v),
                    None => return Err(CliError::usage(format!("{a} needs a value"))),
                }
            } else if let Some((n, v)) = a.split_once('=').filter(|(n, _)| names.contains(n)) {
                let _ = n;
                out.push(v.to_string());
            } else {
                keep.push(a);
            }
        }
        self.rest = keep;
        Ok(out)
    }

    /// The last `--name value`, if any.
    pub fn value(&mut self, names: &[&str]) -> Result<Option<String>, CliError> {
        Ok(self.values(names)?.pop())
    }

    /// A numeric option.
    pub fn num(&mut self, names: &[&str]) -> Result<Option<u64>, CliError> {
        match self.value(names)? {
            Some(v) => crate::input::parse_num(&v)
                .map(Some)
                .ok_or_else(|| CliError::usage(format!("{}: `{v}` is not a number", names.first().unwrap_or(&"")))),
            None => Ok(None),
        }
    }

    /// Whether one of the options is present (nothing is removed).
    pub fn has(&self, names: &[&str]) -> bool {
        self.rest.iter().any(|a| names.iter().any(|n| a == n || a.starts_with(&format!("{n}="))))
    }

    /// Removes and returns the first positional argument (`-` counts as one).
    pub fn take_positional(&mut self) -> Option<String> {
        let i = self.rest.iter().position(|a| !a.starts_with('-') || a == "-")?;
        Some(self.rest.remove(i))
    }

    /// What is left: positional arguments; an unknown option is an error.
    pub fn positionals(self) -> Result<Vec<String>, CliError> {
        if let Some(o) = self.rest.iter().find(|a| a.starts_with('-') && a.len() > 1) {
            return Err(CliError::usage(format!("unknown option {o} (see mlx5cmd --help)")));
        }
        Ok(self.rest)
    }

    /// Takes the global options out.
    pub fn global(&mut self) -> Result<Global, CliError> {
        let device = self.value(&["--device", "-d"])?;
        let scope = match self.value(&["--scope", "-s"])? {
            None => Scope::DebugReadOnly,
            Some(s) => Scope::from_name(&s.replace('-', "_")).ok_or_else(|| {
                CliError::usage(format!(
                    "unknown scope `{s}`: configuration, debug_read_only, debug_write or debug_write_full"
                ))
            })?,
        };
        let hex = self.flag(&["-H", "--hex"]);
        let bin = self.flag(&["-B", "--binary"]);
        let json = self.flag(&["--json", "-j"]);
        let format = match (hex, bin, json) {
            (false, false, false) => Format::Pretty,
            (true, false, false) => Format::Hex,
            (false, true, false) => Format::Binary,
            (false, false, true) => Format::Json,
            _ => return Err(CliError::usage("choose one output format: -H, -B or --json")),
        };
        let help = self.flag(&["-h", "--help"]);
        let version = self.flag(&["-V", "--version"]);
        Ok(Global { device, scope, format, help, version })
    }
}
