//! The generator never panics on bad input: arbitrary and mutated spec text always ends in diagnostics (or,
//! when the text happens to stay valid, in generated code). Deterministic (a fixed-seed xorshift), no extra
//! dependencies: every run tries the same inputs, so a failure names its seed and input.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use codegen::diag::SourceFile;

/// xorshift64*: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

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
    "layout = \"dev_reg\"",
    "enum = \"port_state\"",
    "flags = \"feature_bits\"",
    "bits = 0x7fffffffffffffff",
    "size = 0x7fffffffffffffff",
    "\n[[layout]]\n",
    "\n[[enum]]\n",
    "\n[[command]]\n",
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

fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut b = text.as_bytes().to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = b.len();
        let at = rng.below(len + 1);
        match rng.below(8) {
            // Replace one byte.
            0 => {
                if at < len {
                    b[at] = (rng.next() & 0xff) as u8;
                }
            }
            // Delete a run.
            1 => {
                let end = (at + 1 + rng.below(16)).min(len);
                b.drain(at..end);
            }
            // Truncate.
            2 => b.truncate(at),
            // Insert a token.
            3 | 4 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                b.splice(at..at, t.bytes());
            }
            // Replace a number (the next run of digits) with a token.
            5 => {
                if let Some(start) = b[at..].iter().position(u8::is_ascii_digit).map(|p| p + at) {
                    let end = b[start..].iter().position(|c| !c.is_ascii_alphanumeric()).map_or(len, |p| p + start);
                    let t = TOKENS[rng.below(12)];
                    b.splice(start..end, t.bytes());
                }
            }
            // Duplicate a line elsewhere.
            6 => {
                let lines: Vec<&[u8]> = b.split(|&c| c == b'\n').collect();
                let line = lines[rng.below(lines.len())].to_vec();
                let at = rng.below(b.len() + 1);
                b.splice(at..at, line.into_iter().chain([b'\n']));
            }
            // Swap two bytes.
            _ => {
                let other = rng.below(len + 1);
                if at < len && other < len {
                    b.swap(at, other);
                }
            }
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

/// Loads (and, when valid, emits and dumps) the files; a panic fails with the input that caused it.
fn must_not_panic(files: Vec<SourceFile>, what: &str) {
    let shown: Vec<(String, String)> = files.iter().map(|f| (f.display.clone(), f.text.clone())).collect();
    let r = catch_unwind(AssertUnwindSafe(|| {
        let loaded = codegen::load(files);
        let text = loaded.diags.render();
        if loaded.diags.has_errors() {
            assert!(!text.is_empty());
        } else {
            let _ = codegen::emit::emit(&loaded.spec);
            let _ = codegen::dump::to_json(&loaded.spec);
        }
    }));
    if r.is_err() {
        let mut msg = format!("the generator panicked on {what}:\n");
        for (name, text) in shown {
            msg.push_str(&format!("--- {name}\n{text}\n"));
        }
        panic!("{msg}");
    }
}

fn golden_valid() -> Vec<SourceFile> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/valid/specs");
    codegen::read_dir(&dir, "specs").expect("the valid golden specs")
}

#[test]
fn mutated_specs_give_diagnostics_not_panics() {
    let base = golden_valid();
    assert!(!base.is_empty());
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..3000 {
        let seed = rng.0;
        let mut files = base.clone();
        // Mutate one file, sometimes two.
        for _ in 0..1 + rng.below(2) {
            let i = rng.below(files.len());
            files[i].text = mutate(&mut rng, &files[i].text);
        }
        must_not_panic(files, &format!("round {round} (seed {seed:#x})"));
    }
}

#[test]
fn mutated_project_specs_give_diagnostics_not_panics() {
    // The real specs are larger; fewer rounds, each mutating one file.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs");
    let base = codegen::read_dir(&dir, "specs").expect("the project specs");
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for round in 0..150 {
        let seed = rng.0;
        let mut files = base.clone();
        let i = rng.below(files.len());
        files[i].text = mutate(&mut rng, &files[i].text);
        must_not_panic(files, &format!("project round {round} (seed {seed:#x})"));
    }
}

#[test]
fn arbitrary_text_gives_diagnostics_not_panics() {
    let mut rng = Rng(42);
    for round in 0..500 {
        let len = rng.below(200);
        let text: String = (0..len)
            .map(|_| {
                if rng.below(3) == 0 {
                    TOKENS[rng.below(TOKENS.len())].to_string()
                } else {
                    {
                        let alphabet = b" \n=[]{}\",.#abcxyz_0123456789";
                        char::from(alphabet[rng.below(alphabet.len())]).to_string()
                    }
                }
            })
            .collect();
        let files = vec![SourceFile { display: "specs/fuzz.toml".into(), stem: "fuzz".into(), text }];
        must_not_panic(files, &format!("arbitrary round {round}"));
    }
    // Degenerate inputs.
    must_not_panic(Vec::new(), "no files");
    must_not_panic(
        vec![SourceFile { display: "specs/e.toml".into(), stem: "e".into(), text: String::new() }],
        "an empty file",
    );
    must_not_panic(
        vec![SourceFile { display: "x".into(), stem: String::new(), text: "[[layout]]".into() }],
        "an empty stem",
    );
}
