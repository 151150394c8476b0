//! Structure-aware fuzzing of the spec generator: start from the valid golden specs of
//! `codegen/tests/golden/valid/specs` and apply a fuzz-chosen sequence of edits that keep the text
//! TOML-shaped (replace a number with an extreme one, insert a spec token, delete or duplicate a line,
//! truncate), then load, and emit + dump when still valid.
//!
//! Invariants: nothing panics; a load with errors renders non-empty diagnostics.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use codegen::diag::SourceFile;
use libfuzzer_sys::fuzz_target;

/// Tokens that make the parser and the passes take unusual paths.
const TOKENS: &[&str] = &[
    "0",
    "1",
    "7",
    "8",
    "31",
    "32",
    "33",
    "63",
    "64",
    "65",
    "0xffff",
    "0x10000",
    "0x7fffffffffffffff",
    "-1",
    "18446744073709551615",
    "\"\"",
    "\"x\"",
    "true",
    "false",
    "[]",
    "{}",
    "{ reserved = 8 }",
    "tail = true",
    "count = 0",
    "count = 0x7fffffffffffffff",
    "at = 0x7fffffffffffffff",
    "straddle = true",
    "signed = true",
    "kind = \"union\"",
    "layout = \"pair\"",
    "enum = \"port_state\"",
    "flags = \"feature_bits\"",
    "bits = 0x7fffffffffffffff",
    "size = 0x7fffffffffffffff",
    "\n[[layout]]\n",
    "\n[[enum]]\n",
    "\n[[command]]\n",
    "\n[[register]]\n",
    "\n[[cap]]\n",
    "=",
    ",",
    "\"",
    "{",
    "}",
    "[",
    "]",
    "#",
    "\n",
    "é",
    "\u{0}",
    "'''",
];

#[derive(Arbitrary, Debug)]
enum Edit {
    /// Replace the `nth` number of the file with a token.
    Number { nth: u16, token: u8 },
    /// Insert a token at a byte position.
    Insert { at: u16, token: u8 },
    /// Delete line `line`.
    DeleteLine { line: u16 },
    /// Copy line `from` before line `to`.
    DuplicateLine { from: u16, to: u16 },
    /// Swap two lines.
    SwapLines { a: u16, b: u16 },
    /// Cut the file at a byte position.
    Truncate { at: u16 },
    /// Overwrite one byte.
    Byte { at: u16, value: u8 },
}

#[derive(Arbitrary, Debug)]
struct Input {
    /// Which golden file each edit applies to.
    edits: Vec<(u8, Edit)>,
    /// Drop one file (cross-file references dangle).
    drop_file: Option<u8>,
}

fn golden() -> &'static [SourceFile] {
    static FILES: OnceLock<Vec<SourceFile>> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../codegen/tests/golden/valid/specs");
        codegen::read_dir(&dir, "specs").unwrap_or_default()
    })
}

fn apply(text: &str, edit: &Edit) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let nlines = lines.len().max(1);
    let clamp = |at: u16, len: usize| usize::from(at) % (len + 1);
    match *edit {
        Edit::Number { nth, token } => {
            let b = text.as_bytes();
            let mut count = 0;
            let mut i = 0;
            while i < b.len() {
                if b[i].is_ascii_digit() {
                    let end = b[i..].iter().position(|c| !c.is_ascii_alphanumeric()).map_or(b.len(), |p| p + i);
                    if count == usize::from(nth) % 64 {
                        let t = TOKENS[usize::from(token) % 15];
                        return format!("{}{}{}", &text[..i], t, &text[end..]);
                    }
                    count += 1;
                    i = end;
                } else {
                    i += 1;
                }
            }
            text.to_string()
        }
        Edit::Insert { at, token } => {
            let mut at = clamp(at, text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            format!("{}{}{}", &text[..at], TOKENS[usize::from(token) % TOKENS.len()], &text[at..])
        }
        Edit::DeleteLine { line } => {
            if !lines.is_empty() {
                lines.remove(usize::from(line) % nlines);
            }
            lines.join("\n")
        }
        Edit::DuplicateLine { from, to } => {
            if !lines.is_empty() {
                let l = lines[usize::from(from) % nlines].clone();
                lines.insert(usize::from(to) % nlines, l);
            }
            lines.join("\n")
        }
        Edit::SwapLines { a, b } => {
            if !lines.is_empty() {
                lines.swap(usize::from(a) % nlines, usize::from(b) % nlines);
            }
            lines.join("\n")
        }
        Edit::Truncate { at } => {
            let mut at = clamp(at, text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            text[..at].to_string()
        }
        Edit::Byte { at, value } => {
            let mut b = text.as_bytes().to_vec();
            if !b.is_empty() {
                let i = usize::from(at) % b.len();
                b[i] = value;
            }
            String::from_utf8_lossy(&b).into_owned()
        }
    }
}

fuzz_target!(|input: Input| {
    let mut files = golden().to_vec();
    if files.is_empty() {
        return;
    }
    for (which, edit) in input.edits.iter().take(16) {
        let i = usize::from(*which) % files.len();
        files[i].text = apply(&files[i].text, edit);
    }
    if let Some(d) = input.drop_file {
        let i = usize::from(d) % files.len();
        files.remove(i);
    }
    let loaded = codegen::load(files);
    let rendered = loaded.diags.render();
    if loaded.diags.has_errors() {
        assert!(!rendered.is_empty(), "errors without a rendered diagnostic");
    } else {
        let _ = codegen::emit::emit(&loaded.spec);
        let _ = codegen::dump::to_json(&loaded.spec);
    }
});
