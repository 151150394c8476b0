//! The mlx5-cmdif generator: reads the PRM specs (`specs/*.toml`), validates them, and writes the Rust
//! layouts of `src/prm/`.
//!
//! Pipeline: [`spec`] (TOML via serde) → [`ir`] (lowered, offsets computed) → [`passes`] (one validation
//! concern each) → [`emit`] (Rust) or [`dump`] (JSON). Bad specs give [`diag::Diag`]s naming file and
//! line; nothing here panics on bad input.

pub mod diag;
pub mod dump;
pub mod emit;
pub mod import;
pub mod ir;
pub mod names;
pub mod passes;
pub mod spec;

use std::path::Path;

use diag::{Diags, Loc, SourceFile};
use ir::Spec;

/// The specs after loading and validation.
#[derive(Debug)]
pub struct Loaded {
    /// The resolved specs (usable for emission only when `diags` has no errors).
    pub spec: Spec,
    /// Everything found.
    pub diags: Diags,
}

/// Reads every `*.toml` in `dir` (sorted by name), shown in diagnostics as `{display}/{file}`.
pub fn read_dir(dir: &Path, display: &str) -> Result<Vec<SourceFile>, String> {
    let rd = std::fs::read_dir(dir).map_err(|e| format!("{}: cannot read the spec folder: {e}", dir.display()))?;
    let mut paths: Vec<_> =
        rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "toml")).collect();
    paths.sort();
    let mut files = Vec::new();
    for p in paths {
        let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let stem = p.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        files.push(SourceFile { display: format!("{display}/{name}"), stem, text });
    }
    Ok(files)
}

/// Parses, lowers and validates a set of spec files.
pub fn load(files: Vec<SourceFile>) -> Loaded {
    let mut diags = Diags::default();
    let mut modules = Vec::new();
    for i in 0..files.len() {
        let stem_ok = files[i].stem.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && names::is_snake(&files[i].stem)
            && !matches!(files[i].stem.as_str(), "mod" | "self" | "super" | "crate")
            && !names::method_name(&files[i].stem).starts_with("r#");
        if !stem_ok {
            diags.error(
                &files,
                &Loc { file: i, start: 0 },
                format!("spec file name `{}` is not a usable module name", files[i].stem),
            );
        }
        let module = match ir::parse_file(&files, i, &mut diags) {
            Some(parsed) => ir::lower(&files, i, parsed, &mut diags),
            None => ir::Module::default(),
        };
        modules.push(module);
    }
    let mut spec = Spec { files, modules };
    ir::compute_offsets(&mut spec);
    passes::run_all(&spec, &mut diags);
    Loaded { spec, diags }
}
