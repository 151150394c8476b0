//! Turning bytes into output: any layout of the specs decoded from its generated field descriptions (no
//! per-layout code), printed as `name: value` lines or JSON; raw bytes as hex or binary.

use std::fmt::Write as _;
use std::io::Write;

use mlx5_cmdif::layout::{Count, FieldKind, LayoutDesc, LayoutKind, Value};

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `name: value` lines (the default).
    Pretty,
    /// Hex bytes, 16 per line (readable back by `decode` and `rpc`).
    Hex,
    /// Raw bytes.
    Binary,
    /// JSON.
    Json,
}

/// A decoded value: its text for `name: value` lines and its JSON.
#[derive(Debug, Clone)]
pub enum Node {
    /// A scalar.
    Leaf {
        /// For humans.
        text: String,
        /// JSON text.
        json: String,
    },
    /// Named members.
    Obj(Vec<(String, Node)>),
    /// Elements.
    Arr(Vec<Node>),
}

impl Node {
    /// A string leaf.
    pub fn str(s: &str) -> Node {
        Node::Leaf { text: s.to_string(), json: json_str(s) }
    }

    /// A number leaf, printed in decimal.
    pub fn num(v: u64) -> Node {
        Node::Leaf { text: v.to_string(), json: v.to_string() }
    }
}

/// JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// Bytes as one hex string.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// One decoded value; `width` (bits) picks decimal (up to 16 bits) or hex for unsigned integers.
pub fn value_node(v: Value<'_>, width: usize) -> Node {
    match v {
        Value::Bool(b) => Node::Leaf { text: b.to_string(), json: b.to_string() },
        Value::Uint(x) if width <= 16 => Node::num(x),
        Value::Uint(x) => Node::Leaf { text: format!("{x:#x}"), json: x.to_string() },
        Value::Sint(x) => Node::Leaf { text: x.to_string(), json: x.to_string() },
        Value::Bytes(b) => Node::str(&hex(b)),
        Value::Enum(e, x) => match e.name_of(x) {
            Some(n) => Node::str(n),
            None => Node::Leaf { text: format!("{x:#x} (unknown)"), json: x.to_string() },
        },
        Value::Flags(fl, x) => {
            let mut names: Vec<&str> = Vec::new();
            let mut rest = x;
            for f in fl.values {
                if f.value != 0 && x & f.value == f.value {
                    names.push(f.name);
                    rest &= !f.value;
                }
            }
            let mut text = names.join(" | ");
            if rest != 0 || names.is_empty() {
                if !text.is_empty() {
                    text.push_str(" | ");
                }
                let _ = write!(text, "{rest:#x}");
            }
            let list: Vec<String> = names.iter().map(|n| json_str(n)).collect();
            Node::Leaf { text, json: format!("{{\"value\":{x},\"flags\":[{}]}}", list.join(",")) }
        }
        Value::Layout(l, b) => layout_node(l, b),
    }
}

/// Decodes `bytes` as layout `desc`: every named field that lies inside `bytes`; tail arrays take the
/// whole elements that follow the fixed part. Unions are shown as hex (decode a member by its name).
pub fn layout_node(desc: &'static LayoutDesc, bytes: &[u8]) -> Node {
    if desc.kind == LayoutKind::Union {
        return Node::str(&hex(bytes.get(..desc.size_bytes()).unwrap_or(bytes)));
    }
    let bits = bytes.len() * 8;
    let mut members = Vec::new();
    for f in desc.fields {
        if f.is_reserved() {
            continue;
        }
        let node = match f.count {
            Count::One => {
                if f.offset + f.width > bits {
                    continue;
                }
                match f.read(bytes, 0) {
                    Some(v) => value_node(v, f.width),
                    None => continue,
                }
            }
            Count::Fixed(n) => {
                if f.offset + f.width * n > bits {
                    continue;
                }
                if f.width == 8 && matches!(f.kind, FieldKind::Uint) {
                    let start = f.offset / 8;
                    Node::str(&hex(bytes.get(start..start + n).unwrap_or(&[])))
                } else {
                    Node::Arr((0..n).filter_map(|i| f.read(bytes, i)).map(|v| value_node(v, f.width)).collect())
                }
            }
            Count::Tail => {
                let n = bits.saturating_sub(f.offset).checked_div(f.width).unwrap_or(0);
                Node::Arr((0..n).filter_map(|i| f.read(bytes, i)).map(|v| value_node(v, f.width)).collect())
            }
        };
        members.push((f.name.to_string(), node));
    }
    Node::Obj(members)
}

fn pretty_into(node: &Node, path: &str, out: &mut String) {
    match node {
        Node::Leaf { text, .. } if path.is_empty() => {
            let _ = writeln!(out, "{text}");
        }
        Node::Leaf { text, .. } => {
            let _ = writeln!(out, "{path}: {text}");
        }
        Node::Obj(m) => {
            for (k, v) in m {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                pretty_into(v, &p, out);
            }
        }
        Node::Arr(a) => {
            if a.is_empty() {
                let _ = writeln!(out, "{path}: []");
            }
            for (i, v) in a.iter().enumerate() {
                pretty_into(v, &format!("{path}[{i}]"), out);
            }
        }
    }
}

/// `name: value` lines, nested names joined with `.`, array elements as `name[i]`.
pub fn pretty(node: &Node) -> String {
    let mut s = String::new();
    pretty_into(node, "", &mut s);
    s
}

/// Compact JSON with one trailing newline.
pub fn json(node: &Node) -> String {
    fn go(n: &Node, o: &mut String) {
        match n {
            Node::Leaf { json, .. } => o.push_str(json),
            Node::Obj(m) => {
                o.push('{');
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        o.push(',');
                    }
                    o.push_str(&json_str(k));
                    o.push(':');
                    go(v, o);
                }
                o.push('}');
            }
            Node::Arr(a) => {
                o.push('[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        o.push(',');
                    }
                    go(v, o);
                }
                o.push(']');
            }
        }
    }
    let mut s = String::new();
    go(node, &mut s);
    s.push('\n');
    s
}

/// Bytes as hex, 16 per line, separated by spaces.
pub fn hex_lines(bytes: &[u8]) -> String {
    let mut s = String::new();
    for chunk in bytes.chunks(16) {
        let line: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        s.push_str(&line.join(" "));
        s.push('\n');
    }
    s
}

/// Writes `node` (pretty or JSON) or `bytes` (hex or binary) to stdout.
pub fn emit(format: Format, node: &Node, bytes: &[u8]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Pretty => out.write_all(pretty(node).as_bytes()),
        Format::Json => out.write_all(json(node).as_bytes()),
        Format::Hex => out.write_all(hex_lines(bytes).as_bytes()),
        Format::Binary => out.write_all(bytes),
    }
}
