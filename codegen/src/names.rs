//! How spec names become Rust names.

/// Whether `s` is snake_case as the kernel writes it (lower case letters, digits, underscores).
pub fn is_snake(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Whether `s` is usable as a field name: snake_case, where the kernel's capitals inside a name are kept
/// (`atomic_req_8B_endianness_mode`, `fec_200G_per_lane_in_pplm`); it may not start with a capital.
pub fn is_field_name(s: &str) -> bool {
    s.bytes().next().is_some_and(|b| !b.is_ascii_uppercase())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `cmd_hca_cap_2` → `CmdHcaCap2`; `eth_802_3_cntrs` → `Eth802_3Cntrs` (an underscore stays between two
/// numbers so that different names stay different).
pub fn type_name(snake: &str) -> String {
    let mut out = String::new();
    let mut prev_digit = false;
    for part in snake.split('_').filter(|p| !p.is_empty()) {
        let starts_digit = part.starts_with(|c: char| c.is_ascii_digit());
        if starts_digit && (prev_digit || out.is_empty()) {
            out.push('_');
        }
        let mut cs = part.chars();
        if let Some(c) = cs.next() {
            out.push(c.to_ascii_uppercase());
            out.push_str(&cs.as_str().to_ascii_lowercase());
        }
        prev_digit = part.ends_with(|c: char| c.is_ascii_digit());
    }
    out
}

/// `QUERY_HCA_CAP` or `2ERR_QP` as an associated-constant name (`_2ERR_QP`).
pub fn const_name(s: &str) -> String {
    let up = s.to_ascii_uppercase();
    if up.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{up}")
    } else {
        up
    }
}

const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "else", "enum", "extern", "false", "fn", "for", "if", "impl", "in", "let",
    "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "static", "struct", "trait", "true", "type",
    "unsafe", "use", "where", "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];

/// A field name as a method name (lower case): keywords become raw identifiers (`r#type`); names that cannot be raw
/// (`self`, `super`, `crate`, `Self`) or start with a digit get an underscore.
pub fn method_name(field: &str) -> String {
    // The kernel's capitals (`fec_200G_per_lane_in_pplm`) are lowered: methods are snake_case.
    let lower = field.to_ascii_lowercase();
    let field = lower.as_str();
    if matches!(field, "self" | "super" | "crate" | "Self") {
        format!("{field}_")
    } else if KEYWORDS.contains(&field) {
        format!("r#{field}")
    } else if field.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{field}")
    } else {
        field.to_string()
    }
}

/// The plain part of a method name (`type` for `r#type`), for building `set_type` and `with_type`.
pub fn method_stem(field: &str) -> String {
    method_name(field).trim_start_matches("r#").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(type_name("cmd_hca_cap_2"), "CmdHcaCap2");
        assert_eq!(type_name("eth_802_3_cntrs_grp"), "Eth802_3CntrsGrp");
        assert_eq!(type_name("query_hca_cap_in"), "QueryHcaCapIn");
        assert_eq!(const_name("2ERR_QP"), "_2ERR_QP");
        assert_eq!(method_name("type"), "r#type");
        assert_eq!(method_stem("type"), "type");
        assert_eq!(method_name("self"), "self_");
    }
}
