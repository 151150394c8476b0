//! The spec generator on arbitrary text: `codegen::load` (parse, lower, every validation pass), then, when
//! the text happens to be valid, `emit` and `dump`. The input is split into up to four spec files at
//! `\0` bytes, so cross-file passes (duplicate names, references) see fuzzed input too.
//!
//! Invariants: nothing panics; a load with errors renders non-empty diagnostics.
#![no_main]

use codegen::diag::SourceFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let files: Vec<SourceFile> = text
        .split('\0')
        .take(4)
        .enumerate()
        .map(|(i, t)| SourceFile { display: format!("specs/f{i}.toml"), stem: format!("f{i}"), text: t.to_string() })
        .collect();
    let loaded = codegen::load(files);
    let rendered = loaded.diags.render();
    if loaded.diags.has_errors() {
        assert!(!rendered.is_empty(), "errors without a rendered diagnostic");
    } else {
        let _ = codegen::emit::emit(&loaded.spec);
        let _ = codegen::dump::to_json(&loaded.spec);
    }
});
