//! Reads the reference JSON (`tests/data/prm-layouts.json`, format in `tests/data/README.md`) into the same
//! [`Header`] the `mlx5_ifc.h` parser produces: layouts with offsets, anonymous unions and structs as
//! layouts of their own (`<parent>_anon<n>_auto`, field `anon<n>`, numbered in order as the header parser
//! does), the opcode table, access-register ids, fwctl scopes and the kernel's enumerators.

use serde_json::Value;

use super::model::{is_reserved_name, HCount, HEnum, HField, HLayout, HTy, Header};

fn num(v: &Value, key: &str) -> Option<u64> {
    v.get(key).and_then(Value::as_u64)
}

fn field(
    path: &str,
    parent: &str,
    base: u64,
    f: &Value,
    anon: &mut usize,
    out: &mut Vec<HLayout>,
) -> Result<Option<HField>, String> {
    let name = f.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
    let kind = f.get("kind").and_then(Value::as_str).unwrap_or_default();
    let Some(abs) = num(f, "offset") else {
        return Err(format!("{path}: {parent}.{name}: no offset"));
    };
    let offset = abs.saturating_sub(base);
    if f.get("unresolved").and_then(Value::as_bool) == Some(true) {
        // A member whose layout the source does not have (e.g. `fpga_cap` from mlx5_ifc_fpga.h).
        return Ok(None);
    }
    if kind == "anon_union" || kind == "anon_struct" {
        let n = *anon;
        *anon += 1;
        let lname = format!("{parent}_anon{n}_auto");
        let union = kind == "anon_union";
        let members = f.get("fields").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        let mut inner_anon = 0;
        let mut fields = Vec::new();
        for m in members {
            if let Some(x) = field(path, &lname, abs, m, &mut inner_anon, out)? {
                fields.push(x);
            }
        }
        let size = fields
            .iter()
            .map(|x| {
                x.offset
                    + match x.count {
                        HCount::One => x.width,
                        HCount::Fixed(c) => x.width * c,
                        HCount::Tail => 0,
                    }
            })
            .max()
            .unwrap_or(0);
        out.push(HLayout { name: lname.clone(), union, size, fields });
        return Ok(Some(HField {
            name: format!("anon{n}"),
            offset,
            width: size,
            count: HCount::One,
            ty: HTy::Layout(lname),
        }));
    }
    let flexible = f.get("flexible").and_then(Value::as_bool) == Some(true)
        || f.get("flex").and_then(Value::as_bool) == Some(true);
    let width = num(f, "width");
    let elem = num(f, "elem_width");
    let count = num(f, "count");
    let (w, c) = match (flexible, count) {
        (true, _) => (elem, HCount::Tail),
        (false, Some(n)) => (elem, HCount::Fixed(n)),
        (false, None) => (if kind == "bits" { width } else { elem.or(width) }, HCount::One),
    };
    let Some(w) = w else {
        return Err(format!("{path}: {parent}.{name}: no width"));
    };
    let ty = match kind {
        "bits" if is_reserved_name(&name) && c != HCount::Tail => {
            let total = match c {
                HCount::Fixed(n) => w * n,
                _ => w,
            };
            return Ok(Some(HField { name, offset, width: total, count: HCount::One, ty: HTy::Reserved }));
        }
        "bits" => HTy::Bits,
        "struct" | "union" => match f.get("type").and_then(Value::as_str) {
            Some(t) => HTy::Layout(t.to_string()),
            None => return Err(format!("{path}: {parent}.{name}: nested layout without a type")),
        },
        other => return Err(format!("{path}: {parent}.{name}: unknown field kind `{other}`")),
    };
    Ok(Some(HField { name, offset, width: w, count: c, ty }))
}

/// Reads the reference JSON.
pub fn parse(path: &str, text: &str) -> Result<Header, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("{path}:{}:{}: error: {e}", e.line(), e.column()))?;
    let mut h = Header::default();
    let Some(layouts) = v.get("layouts").and_then(Value::as_object) else {
        return Err(format!("{path}: error: no `layouts` object"));
    };
    for (name, l) in layouts {
        let union = l.get("kind").and_then(Value::as_str) == Some("union");
        let Some(size) = num(l, "size_bits") else {
            return Err(format!("{path}: error: layout `{name}` has no size_bits"));
        };
        let mut anon = 0;
        let mut nested = Vec::new();
        let mut fields = Vec::new();
        for f in l.get("fields").and_then(Value::as_array).map_or(&[][..], Vec::as_slice) {
            if let Some(x) = field(path, name, 0, f, &mut anon, &mut nested)? {
                fields.push(x);
            }
        }
        h.layouts.extend(nested);
        h.layouts.push(HLayout { name: name.clone(), union, size, fields });
    }
    for key in ["opcodes", "opcodes_defined_outside_mlx5_ifc"] {
        for (n, op) in v.get(key).and_then(Value::as_object).into_iter().flatten() {
            if let Some(op) = op.as_u64() {
                h.opcodes.push((n.clone(), op));
            }
        }
    }
    for (n, id) in v.get("access_reg_ids").and_then(Value::as_object).into_iter().flatten() {
        if let Some(id) = id.as_u64() {
            h.registers.push((n.clone(), id));
        }
    }
    for (n, s) in v.get("fwctl_min_scope").and_then(Value::as_object).into_iter().flatten() {
        if let Some(s) = s.as_str() {
            h.scopes.insert(n.clone(), s.to_string());
        }
    }
    // The enumerators come as one flat list in header order; the merge groups them by prefix.
    let mut values = Vec::new();
    for (n, x) in v.get("enums").and_then(Value::as_object).into_iter().flatten() {
        if n.starts_with("MLX5_CMD_OP_") {
            continue;
        }
        if let Some(x) = x.as_u64() {
            values.push((n.clone(), x));
        }
    }
    if !values.is_empty() {
        h.enums.push(HEnum { tag: None, values });
    }
    Ok(h)
}
