//! A lexer and parser for the C subset `mlx5_ifc.h` is written in.
//!
//! Understood: `struct`/`union mlx5_ifc_X_bits { ... };` with members `u8 f[w];`, `u8 f[n][w];`, flexible
//! arrays (`u8 f[][w];`, `[0][w]`, `DECLARE_FLEX_ARRAY(type, f);`), nested `struct`/`union mlx5_ifc_Y_bits f;`
//! (also arrays and flexible arrays of them), anonymous `union { ... };` and `struct { ... };` (which become
//! layouts of their own, `<parent>_anon<n>_auto`, reached through a field `anon<n>`), and `enum [tag] { A = expr,
//! B, ... };` with simple constant expressions. Comments and preprocessor lines are skipped; anything else at
//! the top level is skipped up to its `;`. Inside a layout anything unexpected is an error naming the line.

use std::collections::HashMap;

use super::model::{is_reserved_name, layout_name, HCount, HEnum, HField, HLayout, HTy, Header};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Num(u64),
    Punct(char),
    /// `<<` or `>>`.
    Shift(char),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
    col: usize,
}

/// A diagnostic with its position.
fn diag(path: &str, line: usize, col: usize, msg: impl std::fmt::Display) -> String {
    format!("{path}:{line}:{col}: error: {msg}")
}

fn lex(path: &str, text: &str) -> Result<Vec<Token>, String> {
    let b = text.as_bytes();
    let (mut i, mut line, mut line_start) = (0usize, 1usize, 0usize);
    let mut out = Vec::new();
    let mut at_line_start = true;
    while i < b.len() {
        let c = b[i];
        let col = i - line_start + 1;
        if c == b'\n' {
            line += 1;
            i += 1;
            line_start = i;
            at_line_start = true;
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'#' && at_line_start {
            // A preprocessor line, with `\` continuations.
            while i < b.len() && b[i] != b'\n' {
                if b[i] == b'\\' && b.get(i + 1) == Some(&b'\n') {
                    line += 1;
                    i += 2;
                    line_start = i;
                    continue;
                }
                i += 1;
            }
            continue;
        }
        at_line_start = false;
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let (l0, c0) = (line, col);
            i += 2;
            loop {
                if i + 1 >= b.len() {
                    return Err(diag(path, l0, c0, "unterminated comment"));
                }
                if b[i] == b'*' && b[i + 1] == b'/' {
                    i += 2;
                    break;
                }
                if b[i] == b'\n' {
                    line += 1;
                    line_start = i + 1;
                }
                i += 1;
            }
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            let s = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Token { tok: Tok::Ident(text[s..i].to_string()), line, col });
            continue;
        }
        if c.is_ascii_digit() {
            let s = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric()) {
                i += 1;
            }
            let raw = text[s..i].trim_end_matches(['u', 'U', 'l', 'L']);
            let v = if let Some(h) = raw.strip_prefix("0x").or_else(|| raw.strip_prefix("0X")) {
                u64::from_str_radix(h, 16).ok()
            } else {
                raw.parse::<u64>().ok()
            };
            match v {
                Some(v) => out.push(Token { tok: Tok::Num(v), line, col }),
                None => return Err(diag(path, line, col, format!("bad number `{}`", &text[s..i]))),
            }
            continue;
        }
        if c == b'"' || c == b'\'' {
            // A string or character literal (only in code we skip): one token.
            i += 1;
            while i < b.len() && b[i] != c && b[i] != b'\n' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push(Token { tok: Tok::Punct('"'), line, col });
            continue;
        }
        if (c == b'<' || c == b'>') && b.get(i + 1) == Some(&c) {
            out.push(Token { tok: Tok::Shift(c as char), line, col });
            i += 2;
            continue;
        }
        if c.is_ascii() {
            out.push(Token { tok: Tok::Punct(c as char), line, col });
            i += 1;
            continue;
        }
        // Non-ASCII outside comments: skip the whole UTF-8 character.
        let ch_len = text[i..].chars().next().map_or(1, char::len_utf8);
        return Err(diag(path, line, col, format!("unexpected character `{}`", &text[i..i + ch_len])));
    }
    Ok(out)
}

struct Parser<'a> {
    path: &'a str,
    toks: Vec<Token>,
    pos: usize,
    /// Sizes of the layouts defined so far.
    sizes: HashMap<String, u64>,
    /// Enumerators seen so far (for expressions that refer to them).
    consts: HashMap<String, u64>,
    header: Header,
}

type PResult<T> = Result<T, String>;

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }

    fn peek_at(&self, k: usize) -> Option<&Tok> {
        self.toks.get(self.pos + k).map(|t| &t.tok)
    }

    fn err<T>(&self, msg: impl std::fmt::Display) -> PResult<T> {
        let (line, col) = match self.toks.get(self.pos).or_else(|| self.toks.last()) {
            Some(t) => (t.line, t.col),
            None => (1, 1),
        };
        Err(diag(self.path, line, col, msg))
    }

    fn err_at<T>(&mut self, pos: usize, msg: impl std::fmt::Display) -> PResult<T> {
        self.pos = pos;
        self.err(msg)
    }

    fn what(&self) -> String {
        match self.peek() {
            None => "the end of the file".into(),
            Some(Tok::Ident(s)) => format!("`{s}`"),
            Some(Tok::Num(n)) => format!("`{n:#x}`"),
            Some(Tok::Punct(c)) => format!("`{c}`"),
            Some(Tok::Shift(c)) => format!("`{c}{c}`"),
        }
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(&Tok::Punct(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> PResult<()> {
        if self.eat(c) {
            Ok(())
        } else {
            self.err(format!("expected `{c}`, found {}", self.what()))
        }
    }

    fn ident(&mut self) -> PResult<String> {
        match self.peek() {
            Some(Tok::Ident(s)) => {
                let s = s.clone();
                self.pos += 1;
                Ok(s)
            }
            _ => self.err(format!("expected a name, found {}", self.what())),
        }
    }

    fn is_ident(&self, k: usize, s: &str) -> bool {
        matches!(self.peek_at(k), Some(Tok::Ident(x)) if x == s)
    }

    /// Skips an item that is not ours: up to its `;` outside braces, or to the end of a function body.
    fn skip_item(&mut self) {
        let mut depth = 0i64;
        let mut prev_paren = false;
        let mut body = false;
        while let Some(t) = self.peek().cloned() {
            self.pos += 1;
            match t {
                Tok::Punct('{') => {
                    body |= depth == 0 && prev_paren;
                    depth += 1;
                }
                Tok::Punct('}') => {
                    depth -= 1;
                    if depth < 0 || (depth == 0 && body) {
                        return;
                    }
                }
                Tok::Punct(';') if depth == 0 => return,
                _ => {}
            }
            prev_paren = t == Tok::Punct(')');
        }
    }

    fn parse(&mut self) -> PResult<()> {
        while self.peek().is_some() {
            let is_layout = (self.is_ident(0, "struct") || self.is_ident(0, "union"))
                && matches!(self.peek_at(1), Some(Tok::Ident(_)))
                && self.peek_at(2) == Some(&Tok::Punct('{'));
            if is_layout {
                let union = self.is_ident(0, "union");
                self.pos += 1;
                let c_name = self.ident()?;
                let name = layout_name(&c_name);
                self.parse_layout(name, union)?;
                if !self.eat(';') {
                    return self.err(format!("expected `;` after the layout, found {}", self.what()));
                }
            } else if self.is_ident(0, "enum")
                && (self.peek_at(1) == Some(&Tok::Punct('{'))
                    || (matches!(self.peek_at(1), Some(Tok::Ident(_))) && self.peek_at(2) == Some(&Tok::Punct('{'))))
            {
                self.pos += 1;
                let tag = if let Some(Tok::Ident(_)) = self.peek() { Some(self.ident()?) } else { None };
                self.parse_enum(tag)?;
            } else {
                self.skip_item();
            }
        }
        Ok(())
    }

    /// Parses `{ members }` of a layout named `name` and records it (after any anonymous members).
    fn parse_layout(&mut self, name: String, union: bool) -> PResult<u64> {
        self.expect('{')?;
        let mut fields: Vec<HField> = Vec::new();
        let mut pos = 0u64;
        let mut max = 0u64;
        let mut anon = 0usize;
        loop {
            if self.eat('}') {
                break;
            }
            if self.peek().is_none() {
                return self.err(format!("layout `{name}` is not closed (missing `}}`)"));
            }
            let start = if union { 0 } else { pos };
            let f = self.parse_member(&name, start, &mut anon)?;
            let total = match f.count {
                HCount::One => f.width,
                HCount::Fixed(n) => f.width.saturating_mul(n),
                HCount::Tail => 0,
            };
            pos = start.saturating_add(total);
            max = max.max(pos);
            fields.push(f);
        }
        let size = if union { max } else { pos };
        if self.sizes.insert(name.clone(), size).is_some() {
            return self.err(format!("layout `{name}` is defined twice"));
        }
        self.header.layouts.push(HLayout { name, union, size, fields });
        Ok(size)
    }

    fn parse_member(&mut self, parent: &str, offset: u64, anon: &mut usize) -> PResult<HField> {
        if self.is_ident(0, "DECLARE_FLEX_ARRAY") {
            self.pos += 1;
            self.expect('(')?;
            let ty = self.member_type()?;
            let size = match &ty {
                Some(l) => Some(self.size_of(l)?),
                None => None,
            };
            self.expect(',')?;
            let name = self.ident()?;
            self.expect(')')?;
            self.expect(';')?;
            return match (ty, size) {
                (Some(l), Some(width)) => Ok(HField { name, offset, width, count: HCount::Tail, ty: HTy::Layout(l) }),
                _ => Ok(HField { name, offset, width: 1, count: HCount::Tail, ty: HTy::Bits }),
            };
        }
        // Anonymous (or inline) union / struct.
        if (self.is_ident(0, "union") || self.is_ident(0, "struct")) && self.peek_at(1) == Some(&Tok::Punct('{')) {
            let union = self.is_ident(0, "union");
            self.pos += 1;
            let n = *anon;
            *anon += 1;
            // `union { ... } name;` names the field; `union { ... };` is anonymous.
            let save_name = format!("{parent}_anon{n}_auto");
            let size = self.parse_layout(save_name.clone(), union)?;
            let (fname, lname) = match self.peek() {
                Some(Tok::Ident(_)) => {
                    let f = self.ident()?;
                    (f, save_name)
                }
                _ => (format!("anon{n}"), save_name),
            };
            self.expect(';')?;
            return Ok(HField { name: fname, offset, width: size, count: HCount::One, ty: HTy::Layout(lname) });
        }
        let ty = self.member_type()?;
        let size = match &ty {
            Some(l) => self.size_of(l)?,
            None => 0,
        };
        let name_pos = self.pos;
        let name = self.ident()?;
        let mut dims: Vec<Option<u64>> = Vec::new();
        while self.eat('[') {
            if self.eat(']') {
                dims.push(None);
                continue;
            }
            let v = self.expr()?;
            self.expect(']')?;
            dims.push(Some(v));
        }
        if !self.eat(';') {
            return self.err(format!("expected `;` after member `{name}`, found {}", self.what()));
        }
        let flex = |d: Option<u64>| d.is_none_or(|x| x == 0);
        match ty {
            None => {
                let (width, count) = match dims.as_slice() {
                    [Some(w)] if *w > 0 => (*w, HCount::One),
                    [n, Some(w)] if *w > 0 && flex(*n) => (*w, HCount::Tail),
                    [Some(n), Some(w)] if *w > 0 => (*w, HCount::Fixed(*n)),
                    [] => return self.err_at(name_pos, format!("member `{name}` of `{parent}`: a `u8` member needs a width `[w]`")),
                    _ => {
                        return self.err_at(name_pos, format!(
                            "member `{name}` of `{parent}`: unsupported dimensions (expected `[w]`, `[n][w]` or `[][w]`)"
                        ))
                    }
                };
                if is_reserved_name(&name) && count != HCount::Tail {
                    let total = match count {
                        HCount::Fixed(n) => width.saturating_mul(n),
                        _ => width,
                    };
                    return Ok(HField { name, offset, width: total, count: HCount::One, ty: HTy::Reserved });
                }
                Ok(HField { name, offset, width, count, ty: HTy::Bits })
            }
            Some(l) => {
                let width = size;
                let count = match dims.as_slice() {
                    [] => HCount::One,
                    [d] if flex(*d) => HCount::Tail,
                    [Some(n)] => HCount::Fixed(*n),
                    _ => {
                        return self.err_at(name_pos, format!("member `{name}` of `{parent}`: unsupported dimensions"))
                    }
                };
                Ok(HField { name, offset, width, count, ty: HTy::Layout(l) })
            }
        }
    }

    /// `u8` → `None`; `struct mlx5_ifc_x_bits` / `union ...` → `Some(x)`.
    fn member_type(&mut self) -> PResult<Option<String>> {
        match self.peek() {
            Some(Tok::Ident(s)) if s == "u8" => {
                self.pos += 1;
                Ok(None)
            }
            Some(Tok::Ident(s)) if s == "struct" || s == "union" => {
                self.pos += 1;
                let n = self.ident()?;
                Ok(Some(layout_name(&n)))
            }
            _ => self.err(format!("expected a member (`u8`, `struct`, `union`), found {}", self.what())),
        }
    }

    fn size_of(&self, l: &str) -> PResult<u64> {
        match self.sizes.get(l) {
            Some(s) => Ok(*s),
            None => self.err(format!("layout `{l}` is used before it is defined")),
        }
    }

    fn parse_enum(&mut self, tag: Option<String>) -> PResult<()> {
        self.expect('{')?;
        let mut values = Vec::new();
        let mut next = 0u64;
        loop {
            if self.eat('}') {
                break;
            }
            let name = self.ident()?;
            let value = if self.eat('=') {
                match self.expr() {
                    Ok(v) => Some(v),
                    Err(_) => {
                        // A value we cannot evaluate: skip it up to the next `,` or `}`.
                        while !matches!(self.peek(), None | Some(Tok::Punct(',')) | Some(Tok::Punct('}'))) {
                            self.pos += 1;
                        }
                        None
                    }
                }
            } else {
                Some(next)
            };
            if let Some(v) = value {
                self.consts.insert(name.clone(), v);
                values.push((name, v));
                next = v.wrapping_add(1);
            }
            if !self.eat(',') {
                self.expect('}')?;
                break;
            }
        }
        // `enum x { ... } name;` or `};`
        while !self.eat(';') {
            if self.peek().is_none() {
                return self.err("expected `;` after the enum");
            }
            self.pos += 1;
        }
        let mut rest = Vec::new();
        for (n, v) in values {
            if let Some(op) = n.strip_prefix("MLX5_CMD_OP_") {
                if op != "MAX" && !op.starts_with("GENERAL_") {
                    self.header.opcodes.push((op.to_string(), v));
                }
            } else if let Some(r) = n.strip_prefix("MLX5_REG_") {
                self.header.registers.push((r.to_string(), v));
            } else {
                rest.push((n, v));
            }
        }
        if !rest.is_empty() {
            self.header.enums.push(HEnum { tag, values: rest });
        }
        Ok(())
    }

    /// `a | b`, `a + b`, `a - b`, `a << b`, `(e)`, numbers and known enumerators.
    fn expr(&mut self) -> PResult<u64> {
        let mut v = self.shift_expr()?;
        loop {
            if self.eat('|') {
                v |= self.shift_expr()?;
            } else {
                return Ok(v);
            }
        }
    }

    fn shift_expr(&mut self) -> PResult<u64> {
        let mut v = self.add_expr()?;
        while let Some(Tok::Shift(c)) = self.peek().cloned() {
            self.pos += 1;
            let r = self.add_expr()?;
            v = match (c, u32::try_from(r)) {
                ('<', Ok(r)) if r < 64 => v << r,
                ('>', Ok(r)) if r < 64 => v >> r,
                _ => return self.err("shift out of range"),
            };
        }
        Ok(v)
    }

    fn add_expr(&mut self) -> PResult<u64> {
        let mut v = self.mul_expr()?;
        loop {
            if self.eat('+') {
                v = v.wrapping_add(self.mul_expr()?);
            } else if self.eat('-') {
                v = v.wrapping_sub(self.mul_expr()?);
            } else {
                return Ok(v);
            }
        }
    }

    fn mul_expr(&mut self) -> PResult<u64> {
        let mut v = self.atom()?;
        while self.eat('*') {
            v = v.wrapping_mul(self.atom()?);
        }
        Ok(v)
    }

    fn atom(&mut self) -> PResult<u64> {
        match self.peek().cloned() {
            Some(Tok::Num(n)) => {
                self.pos += 1;
                Ok(n)
            }
            Some(Tok::Punct('(')) => {
                self.pos += 1;
                let v = self.expr()?;
                self.expect(')')?;
                Ok(v)
            }
            Some(Tok::Ident(s)) => match self.consts.get(&s) {
                Some(v) => {
                    self.pos += 1;
                    Ok(*v)
                }
                None => self.err(format!("unknown constant `{s}`")),
            },
            _ => self.err(format!("expected a number, found {}", self.what())),
        }
    }
}

/// Parses a kernel-style layout header. `path` is used in diagnostics.
pub fn parse(path: &str, text: &str) -> Result<Header, String> {
    let toks = lex(path, text)?;
    let mut p = Parser { path, toks, pos: 0, sizes: HashMap::new(), consts: HashMap::new(), header: Header::default() };
    p.parse()?;
    Ok(p.header)
}
