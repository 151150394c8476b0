//! Tests of `import-ifc` (and the merge it shares with `import-json`): every case of `tests/import/<case>/`
//! has an `input.h` in the style of `mlx5_ifc.h`, optionally existing `specs/` to merge into, and either the
//! expected spec files (`expected/*.toml`, which must also validate) or the expected diagnostic
//! (`expected.diag`). Refresh with `GOLDEN_ACCEPT=1 cargo test -p codegen --test import` and review the diff.

use std::fs;
use std::path::{Path, PathBuf};

use codegen::import::{self, Target};

fn accept() -> bool {
    std::env::var_os("GOLDEN_ACCEPT").is_some_and(|v| !v.is_empty() && v != "0")
}

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/import");
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.join("input.h").is_file()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Runs one case; returns what is wrong.
fn run(case: &Path) -> Vec<String> {
    let mut bad = Vec::new();
    let text = fs::read_to_string(case.join("input.h")).unwrap_or_default();
    let specs = case.join("specs");
    let got: Result<Vec<(String, String)>, String> = import::ifc::parse("input.h", &text).and_then(|h| {
        import::plan(&h, &Target::Dir(&specs)).map(|files| {
            files
                .into_iter()
                .map(|(p, t)| (p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), t))
                .collect()
        })
    });
    let name = case.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    match got {
        Ok(files) => {
            // The result must validate.
            let sources = files
                .iter()
                .map(|(n, t)| codegen::diag::SourceFile {
                    display: format!("specs/{n}"),
                    stem: n.trim_end_matches(".toml").to_string(),
                    text: t.clone(),
                })
                .collect();
            let loaded = codegen::load(sources);
            if loaded.diags.has_errors() {
                bad.push(format!("{name}: the imported specs do not validate:\n{}", loaded.diags.render()));
            }
            let exp = case.join("expected");
            if accept() {
                let _ = fs::remove_dir_all(&exp);
                let _ = fs::create_dir_all(&exp);
                for (n, t) in &files {
                    let _ = fs::write(exp.join(n), t);
                }
                let _ = fs::remove_file(case.join("expected.diag"));
            }
            let mut want: Vec<String> = fs::read_dir(&exp)
                .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
                .unwrap_or_default();
            want.sort();
            let mut have: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
            have.sort();
            if want != have {
                bad.push(format!("{name}: files {have:?}, expected {want:?}"));
            }
            for (n, t) in &files {
                if fs::read_to_string(exp.join(n)).ok().as_deref() != Some(t.as_str()) {
                    bad.push(format!("{name}: {n} differs from expected/{n}:\n{t}"));
                }
            }
        }
        Err(e) => {
            let p = case.join("expected.diag");
            if accept() {
                let _ = fs::write(&p, format!("{e}\n"));
                let _ = fs::remove_dir_all(case.join("expected"));
            }
            let want = fs::read_to_string(&p).unwrap_or_default();
            if want.trim_end() != e {
                bad.push(format!("{name}: diagnostic\n{e}\nexpected\n{want}"));
            }
        }
    }
    bad
}

#[test]
fn import_cases() {
    let cases = cases();
    assert!(cases.len() >= 4, "missing import cases");
    let bad: Vec<String> = cases.iter().flat_map(|c| run(c)).collect();
    assert!(bad.is_empty(), "{}", bad.join("\n\n"));
}

#[test]
fn merge_keeps_hand_additions() {
    // Spelled out, independently of the expected files.
    let case = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/import/merge");
    let text = fs::read_to_string(case.join("input.h")).unwrap_or_default();
    let h = import::ifc::parse("input.h", &text).expect("parses");
    let specs = case.join("specs");
    let files = import::plan(&h, &Target::Dir(&specs)).expect("merges");
    let regs = &files.iter().find(|(p, _)| p.ends_with("regs.toml")).expect("regs.toml").1;
    for kept in [
        "# Hand-made spec",
        "doc = \"THING: a register, documented by hand.\"",
        "{ name = \"state\", bits = 4, enum = \"thing_state\", doc = \"Current state.\" }",
        "{ name = \"count\", bits = 8, at = 0x8, signed = true }",
        "{ name = \"new_field\", bits = 0x20 }",
        "{ name = \"timer_h\", bits = 0x20, at = 0x40, doc = \"From another header: kept inside the reserved bits.\" }",
        "name = \"hand_only\"",
        "layout = \"thing_reg\"",
        "doc = \"The thing register.\"",
    ] {
        assert!(regs.contains(kept), "lost `{kept}`:\n{regs}");
    }
}

#[test]
fn unparsable_headers_get_a_diagnostic_with_the_line() {
    for (text, line) in [
        ("struct mlx5_ifc_x_bits {\n u8 a[0x20];\n int b;\n};\n", 3),
        ("struct mlx5_ifc_x_bits {\n u8 a[0x20]\n};\n", 3),
        ("struct mlx5_ifc_x_bits {\n struct mlx5_ifc_nope_bits n;\n};\n", 2),
        ("struct mlx5_ifc_x_bits {\n u8 a[1][2][3];\n};\n", 2),
        ("/* never closed\n", 1),
        ("struct mlx5_ifc_x_bits {\n u8 a[0x99999999999999999999];\n};\n", 2),
        ("struct mlx5_ifc_x_bits {\n u8 a;\n};\n", 2),
    ] {
        match import::ifc::parse("t.h", text) {
            Ok(h) => panic!("accepted {text:?}: {h:?}"),
            Err(e) => assert!(e.starts_with(&format!("t.h:{line}:")), "{text:?}: {e}"),
        }
    }
}

#[test]
fn mutated_headers_never_panic() {
    let case = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/import/constructs/input.h");
    let text = fs::read_to_string(case).unwrap_or_default();
    let bytes = text.as_bytes();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..3000 {
        let mut b = bytes.to_vec();
        for _ in 0..(next() % 4 + 1) {
            let len = b.len().max(1) as u64;
            let at = (next() % len) as usize;
            match next() % 4 {
                0 => {
                    b.truncate(at);
                }
                1 if at < b.len() => {
                    b.remove(at);
                }
                2 if at < b.len() => b[at] = b"{}[];()0x_ab\n/*#"[(next() % 16) as usize],
                _ => {
                    b.insert(at.min(b.len()), b"u8 struct union enum [] 0 DECLARE_FLEX_ARRAY("[(next() % 44) as usize])
                }
            }
        }
        let t = String::from_utf8_lossy(&b);
        if let Ok(h) = import::ifc::parse("m.h", &t) {
            let _ = import::plan(&h, &Target::Dir(Path::new("/nonexistent")));
        }
    }
}

#[test]
fn json_import_reads_the_reference() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/prm-layouts.json");
    let text = fs::read_to_string(p).expect("reference JSON");
    let h = import::json::parse("prm-layouts.json", &text).expect("parses");
    assert!(h.layouts.len() >= 743);
    assert!(h.layouts.iter().any(|l| l.name == "rqtc_anon0_auto" && l.union));
    assert!(import::json::parse("x.json", "{").is_err());
    assert!(import::json::parse("x.json", "{\"layouts\": {\"a\": {\"fields\": []}}}").is_err());
}
