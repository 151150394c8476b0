//! The CLI's errors: a message for stderr and the exit status that tells scripts what went wrong.

use std::fmt;

use mlx5_cmdif::engine::Error as EngineError;
use mlx5_cmdif::fwctl::FwctlError;

/// What kind of failure, which fixes the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Anything else (1).
    Other,
    /// Bad arguments (2).
    Usage,
    /// No such device (3).
    NoDevice,
    /// Permission denied (4).
    Permission,
    /// The command is outside the chosen scope (5).
    NotAllowed,
    /// Firmware executed the command and reported an error status (6).
    Firmware,
}

impl Kind {
    /// The process exit status.
    pub fn exit_code(self) -> u8 {
        match self {
            Kind::Other => 1,
            Kind::Usage => 2,
            Kind::NoDevice => 3,
            Kind::Permission => 4,
            Kind::NotAllowed => 5,
            Kind::Firmware => 6,
        }
    }
}

/// An error with its kind.
#[derive(Debug)]
pub struct CliError {
    /// The kind.
    pub kind: Kind,
    /// The message.
    pub msg: String,
}

impl CliError {
    /// A usage error.
    pub fn usage(msg: impl Into<String>) -> Self {
        CliError { kind: Kind::Usage, msg: msg.into() }
    }

    /// Any other error.
    pub fn other(msg: impl Into<String>) -> Self {
        CliError { kind: Kind::Other, msg: msg.into() }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl From<EngineError> for CliError {
    fn from(e: EngineError) -> Self {
        let kind = match e {
            EngineError::NotAllowed { .. } => Kind::NotAllowed,
            EngineError::Firmware { .. } => Kind::Firmware,
            EngineError::BadLength { .. } => Kind::Usage,
            _ => Kind::Other,
        };
        let msg = match e {
            EngineError::NotAllowed { cmd } => {
                let need = mlx5_cmdif::catalog::min_scope(cmd.opcode.0, cmd.op_mod);
                match need {
                    Some(s) => format!("{cmd}: not allowed at this scope (needs --scope {} or higher)", s.name()),
                    None => format!("{cmd}: never allowed through fwctl, at any scope"),
                }
            }
            other => other.to_string(),
        };
        CliError { kind, msg }
    }
}

impl From<FwctlError> for CliError {
    fn from(e: FwctlError) -> Self {
        let kind = match e {
            FwctlError::NoDevice { .. } => Kind::NoDevice,
            FwctlError::Permission { .. } => Kind::Permission,
            FwctlError::NotAllowed { .. } => Kind::NotAllowed,
            FwctlError::MessageSize { .. } => Kind::Usage,
            _ => Kind::Other,
        };
        CliError { kind, msg: e.to_string() }
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::other(e.to_string())
    }
}
