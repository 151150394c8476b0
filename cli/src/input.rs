//! Reading bytes: hex text or raw binary, from a file, stdin or an argument; field settings.

use std::io::Read;

use mlx5_cmdif::layout::{FieldKind, LayoutDesc};

use crate::error::CliError;

/// Whether `data` reads as hex text: hex digits, `0x` prefixes, separators (space, `,`, `:`) and `#`
/// comments only.
pub fn looks_like_hex(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else { return false };
    let mut any = false;
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        for c in line.chars() {
            if c.is_ascii_hexdigit() {
                any = true;
            } else if !(c.is_whitespace() || c == ',' || c == ':' || c == 'x' || c == 'X') {
                return false;
            }
        }
    }
    any
}

/// Parses hex text (see [`looks_like_hex`]); tokens of any even length are split into bytes.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, CliError> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        for tok in line.split(|c: char| c.is_whitespace() || c == ',' || c == ':').filter(|t| !t.is_empty()) {
            let digits = tok.strip_prefix("0x").or_else(|| tok.strip_prefix("0X")).unwrap_or(tok);
            if digits.len() % 2 != 0 {
                return Err(CliError::usage(format!("hex input: `{tok}` has an odd number of digits")));
            }
            for i in (0..digits.len()).step_by(2) {
                let pair = digits.get(i..i + 2).unwrap_or("");
                let b = u8::from_str_radix(pair, 16)
                    .map_err(|_| CliError::usage(format!("hex input: `{tok}` is not hexadecimal")))?;
                out.push(b);
            }
        }
    }
    Ok(out)
}

/// Reads bytes from `path` (`-` or `None`: stdin): hex text when it looks like hex (unless `raw`),
/// else the bytes themselves.
pub fn read_bytes(path: Option<&str>, raw: bool) -> Result<Vec<u8>, CliError> {
    let data = match path {
        None | Some("-") => {
            let mut v = Vec::new();
            std::io::stdin().read_to_end(&mut v)?;
            v
        }
        Some(p) => std::fs::read(p).map_err(|e| CliError::other(format!("{p}: {e}")))?,
    };
    if !raw && looks_like_hex(&data) {
        parse_hex(&String::from_utf8_lossy(&data))
    } else {
        Ok(data)
    }
}

/// Parses a number: decimal or `0x` hex.
pub fn parse_num(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Applies `name=value` to `bytes` laid out as `desc`: the value is a number, `true`/`false`, or the name
/// of a value of the field's enum; `name[i]=value` sets array element `i`.
pub fn apply_setting(desc: &LayoutDesc, bytes: &mut [u8], setting: &str) -> Result<(), CliError> {
    let (lhs, value) =
        setting.split_once('=').ok_or_else(|| CliError::usage(format!("`{setting}`: expected field=value")))?;
    let (name, index) = match lhs.split_once('[') {
        Some((n, rest)) => {
            let i = rest.strip_suffix(']').and_then(|i| i.parse().ok());
            (n, i.ok_or_else(|| CliError::usage(format!("`{lhs}`: expected field[index]")))?)
        }
        None => (lhs, 0),
    };
    let field = desc.field(name).ok_or_else(|| {
        let names: Vec<&str> = desc.fields.iter().filter(|f| !f.is_reserved()).map(|f| f.name).collect();
        CliError::usage(format!("{} has no field `{name}` (fields: {})", desc.name, names.join(", ")))
    })?;
    let v = match (value, field.kind) {
        ("true", _) => Some(1),
        ("false", _) => Some(0),
        (s, FieldKind::Enum(e)) => parse_num(s).or_else(|| e.value_of(s)),
        (s, _) => parse_num(s),
    }
    .ok_or_else(|| CliError::usage(format!("`{value}` is not a value of {}.{name}", desc.name)))?;
    if field.width < 64 && v >> field.width != 0 {
        return Err(CliError::usage(format!("{value} does not fit in {}.{name} ({} bits)", desc.name, field.width)));
    }
    field.write(bytes, index, v).ok_or_else(|| {
        CliError::usage(format!("{}.{name}[{index}] cannot be set (not a scalar field, or out of range)", desc.name))
    })
}
