//! Golden tests of the generator: `tests/golden/<case>/specs/*.toml` in, and
//!
//! - `expected.diag`: the exact diagnostics (`file:line:col: severity: message`), absent when there are none;
//! - `expected/*.rs`: the generated Rust, for cases without errors.
//!
//! Cases named `valid*` must have no errors; every other case must have some. Besides the exact text, every
//! spec line that carries a `#~ error` (or `#~ warning`) marker must get a diagnostic of that severity, and
//! no other line may: the file and line of each diagnostic are checked independently of the expectations.
//!
//! Refresh the expectations after an intended change with
//! `GOLDEN_ACCEPT=1 cargo test -p codegen --test golden`, and review the diff.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use codegen::diag::Severity;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn cases() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(golden_dir())
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.join("specs").is_dir()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn accept() -> bool {
    std::env::var_os("GOLDEN_ACCEPT").is_some_and(|v| !v.is_empty() && v != "0")
}

/// `(file, line, severity)` of every `#~ error` / `#~ warning` marker.
fn markers(files: &[codegen::diag::SourceFile]) -> BTreeSet<(String, usize, &'static str)> {
    let mut set = BTreeSet::new();
    for f in files {
        for (i, line) in f.text.lines().enumerate() {
            if let Some(pos) = line.find("#~ ") {
                let sev = if line[pos + 3..].starts_with("warning") { "warning" } else { "error" };
                set.insert((f.display.clone(), i + 1, sev));
            }
        }
    }
    set
}

fn rs_files(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".rs"))
                .collect()
        })
        .unwrap_or_default()
}

/// Runs one case; returns what is wrong with it.
fn run_case(dir: &Path) -> Vec<String> {
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut bad = Vec::new();
    let files = match codegen::read_dir(&dir.join("specs"), "specs") {
        Ok(f) => f,
        Err(e) => return vec![e],
    };
    let marks = markers(&files);
    let loaded = codegen::load(files);
    let diag = loaded.diags.render();
    let has_errors = loaded.diags.has_errors();
    let outputs = (!has_errors).then(|| codegen::emit::emit(&loaded.spec));

    // Every diagnostic on a marked line, every marked line with a diagnostic of that severity.
    let got: BTreeSet<(String, usize, &'static str)> = loaded
        .diags
        .list
        .iter()
        .map(|d| (d.file.clone(), d.line, if d.severity == Severity::Error { "error" } else { "warning" }))
        .collect();
    for m in marks.difference(&got) {
        bad.push(format!("{}:{}: marked `#~ {}` but no such diagnostic points here", m.0, m.1, m.2));
    }
    for g in got.difference(&marks) {
        bad.push(format!("{}:{}: an unexpected {} points here (no `#~ {}` marker)", g.0, g.1, g.2, g.2));
    }
    if name.starts_with("valid") == has_errors {
        bad.push(if has_errors { "a `valid*` case has errors".into() } else { "an invalid case has no errors".into() });
    }

    let diag_path = dir.join("expected.diag");
    let out_dir = dir.join("expected");
    if accept() {
        let r =
            if diag.is_empty() {
                fs::remove_file(&diag_path).or_else(|e| {
                    if e.kind() == std::io::ErrorKind::NotFound {
                        Ok(())
                    } else {
                        Err(e)
                    }
                })
            } else {
                fs::write(&diag_path, &diag)
            };
        if let Err(e) = r {
            bad.push(format!("{}: {e}", diag_path.display()));
        }
        match &outputs {
            Some(outs) => {
                if let Err(e) = fs::create_dir_all(&out_dir) {
                    bad.push(format!("{}: {e}", out_dir.display()));
                }
                for stale in rs_files(&out_dir) {
                    if !outs.iter().any(|o| o.path == stale) {
                        let _ = fs::remove_file(out_dir.join(stale));
                    }
                }
                for o in outs {
                    if let Err(e) = fs::write(out_dir.join(&o.path), &o.text) {
                        bad.push(format!("{}: {e}", o.path));
                    }
                }
            }
            None => {
                if out_dir.exists() {
                    let _ = fs::remove_dir_all(&out_dir);
                }
            }
        }
        return bad;
    }

    let want_diag = fs::read_to_string(&diag_path).unwrap_or_default();
    if want_diag != diag {
        bad.push(format!("diagnostics differ from expected.diag\n--- expected\n{want_diag}--- got\n{diag}---"));
    }
    match &outputs {
        Some(outs) => {
            let want_files = rs_files(&out_dir);
            for o in outs {
                match fs::read_to_string(out_dir.join(&o.path)) {
                    Ok(t) if t == o.text => {}
                    Ok(t) => {
                        let line = t
                            .lines()
                            .zip(o.text.lines())
                            .position(|(a, b)| a != b)
                            .map_or_else(|| t.lines().count().min(o.text.lines().count()) + 1, |i| i + 1);
                        bad.push(format!("expected/{} differs from the output (first at line {line})", o.path));
                    }
                    Err(_) => bad.push(format!("expected/{} is missing", o.path)),
                }
            }
            for f in want_files.iter().filter(|f| !outs.iter().any(|o| &o.path == *f)) {
                bad.push(format!("expected/{f} is not generated any more"));
            }
        }
        None => {
            if out_dir.exists() {
                bad.push("expected/ exists but the specs have errors, so nothing is generated".into());
            }
        }
    }
    bad
}

#[test]
fn golden() {
    let cases = cases();
    assert!(cases.len() >= 10, "golden cases not found in {}", golden_dir().display());
    let mut report = String::new();
    for dir in &cases {
        let bad = run_case(dir);
        if !bad.is_empty() {
            report.push_str(&format!("\n== {}\n{}\n", dir.display(), bad.join("\n")));
        }
    }
    assert!(
        report.is_empty(),
        "golden cases failed (after an intended change: GOLDEN_ACCEPT=1 cargo test -p codegen --test golden):{report}"
    );
}

#[test]
fn every_validation_pass_has_a_case() {
    // Each pass reports something in at least one golden case, so a pass that stops working is noticed.
    if accept() {
        return; // `golden` is rewriting the expectations right now.
    }
    let all: String = cases().iter().filter_map(|d| fs::read_to_string(d.join("expected.diag")).ok()).collect();
    for needle in [
        "unknown layout",
        "unknown enum",
        "unknown flag set",
        "duplicate layout",
        "duplicate field",
        "is already used",
        "declared 0x",
        "not a whole number of dwords",
        "a gap of",
        "overlaps",
        "straddles dwords",
        "must be the last field",
        "cannot have a tail",
        "repeats the value",
        "does not fit the",
        "contain itself",
        "invalid spec",
        "needs exactly one of",
        "unknown scope",
    ] {
        assert!(all.contains(needle), "no golden case reports `{needle}`");
    }
}
