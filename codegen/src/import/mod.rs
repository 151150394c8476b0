//! Importing upstream layouts into the specs: `import-ifc` reads a kernel-style `mlx5_ifc.h`
//! ([`ifc`]), `import-json` the reference JSON ([`json`]); both produce a [`model::Header`] that
//! [`merge`] combines with the existing specs, keeping what was added by hand.

pub mod ifc;
pub mod json;
pub mod merge;
pub mod model;

use std::path::Path;

/// Where imported specs go.
#[derive(Debug, Clone)]
pub enum Target<'a> {
    /// A spec folder: files split by area, merged with every `*.toml` in it.
    Dir(&'a Path),
    /// One spec file: everything goes there, merged with what it holds.
    File(&'a Path),
}

/// The spec files an import produces: `(path, text)`.
pub type Files = Vec<(std::path::PathBuf, String)>;

/// Merges `header` into the specs at `target` and returns the files to write (not written yet).
pub fn plan(header: &model::Header, target: &Target) -> Result<Files, String> {
    let (dir, existing) = match target {
        Target::Dir(d) => {
            let files = if d.is_dir() { crate::read_dir(d, &d.display().to_string())? } else { Vec::new() };
            (d.to_path_buf(), files)
        }
        Target::File(f) => {
            let dir = f.parent().map(Path::to_path_buf).unwrap_or_default();
            let mut files = Vec::new();
            if f.exists() {
                let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
                let stem = f.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                files.push(crate::diag::SourceFile { display: f.display().to_string(), stem, text });
            }
            (dir, files)
        }
    };
    let loaded = crate::load(existing);
    if loaded.diags.has_errors() {
        return Err(format!("{}the existing specs have errors; fix them before importing", loaded.diags.render()));
    }
    let preambles: std::collections::HashMap<String, String> =
        loaded.spec.files.iter().map(|f| (f.stem.clone(), merge::preamble(&f.text))).collect();
    let merged = merge::merge(header, &loaded.spec);
    let mut out = Files::new();
    match target {
        Target::Dir(_) => {
            for (stem, m) in &merged {
                let pre = preambles.get(stem).cloned().unwrap_or_default();
                out.push((dir.join(format!("{stem}.toml")), merge::write(&pre, m)));
            }
        }
        Target::File(f) => {
            let mut all = crate::ir::Module::default();
            for (_, m) in merged {
                all.layouts.extend(m.layouts);
                all.enums.extend(m.enums);
                all.commands.extend(m.commands);
                all.registers.extend(m.registers);
                all.caps.extend(m.caps);
            }
            let pre = preambles.values().next().cloned().unwrap_or_default();
            out.push((f.to_path_buf(), merge::write(&pre, &all)));
        }
    }
    Ok(out)
}
