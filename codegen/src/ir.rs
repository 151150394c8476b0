//! The resolved form of the specs: every field with its PRM bit offset, every reference by name.
//!
//! Lowering checks the shape of each item (a field has exactly one of `bits`, `reserved`, `layout`, ...).
//! Whether the whole is consistent is for the validation passes in [`crate::passes`].

use std::collections::HashMap;

use crate::diag::{Diags, Loc, SourceFile};
use crate::spec::{self, SpecFile};
use toml::Spanned;

/// Struct or union.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayoutKind {
    /// Fields one after another.
    Struct,
    /// Members at offset 0.
    Union,
}

/// How many elements a field has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// A single value.
    One,
    /// A fixed array.
    Fixed(u64),
    /// A variable tail.
    Tail,
}

/// What a field is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldTy {
    /// Plain bits (integer, bool, enum, flags, bytes).
    Bits,
    /// A reserved gap.
    Reserved,
    /// A nested layout, by name.
    Layout(String),
}

/// A field with its offset.
#[derive(Debug, Clone)]
pub struct Field {
    /// Name (`reserved_at_<hex>` for gaps).
    pub name: String,
    /// Where it was written.
    pub loc: Loc,
    /// PRM bit offset.
    pub offset: u64,
    /// Where the running position was when the field was reached (equals `offset` unless `at` disagrees).
    pub running: u64,
    /// Width of the field or of one element, in bits (for layouts: the declared size of the layout).
    pub width: u64,
    /// Single, array or tail.
    pub count: Count,
    /// Bits, reserved or nested layout.
    pub ty: FieldTy,
    /// Explicit offset from the spec.
    pub at: Option<u64>,
    /// Enum held.
    pub enum_: Option<String>,
    /// Flag set held.
    pub flags: Option<String>,
    /// Two's complement.
    pub signed: bool,
    /// May cross a dword.
    pub straddle: bool,
    /// Documentation.
    pub doc: Option<String>,
}

impl Field {
    /// Bits taken in the fixed part.
    pub fn total_bits(&self) -> u64 {
        match self.count {
            Count::One => self.width,
            Count::Fixed(n) => self.width.saturating_mul(n),
            Count::Tail => 0,
        }
    }

    /// Whether this is a reserved gap.
    pub fn is_reserved(&self) -> bool {
        self.ty == FieldTy::Reserved
    }
}

/// A layout.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Kernel name.
    pub name: String,
    /// Where it was written.
    pub loc: Loc,
    /// Struct or union.
    pub kind: LayoutKind,
    /// Declared size in bits.
    pub size: u64,
    /// Where the size was written.
    pub size_loc: Loc,
    /// Documentation.
    pub doc: Option<String>,
    /// Size need not be whole dwords.
    pub subdword: bool,
    /// Fields in order.
    pub fields: Vec<Field>,
    /// Bits the fields cover (struct: end of the last field; union: largest member).
    pub computed_size: u64,
}

impl Layout {
    /// The variable tail, if any.
    pub fn tail(&self) -> Option<&Field> {
        self.fields.iter().find(|f| f.count == Count::Tail)
    }
}

/// One enum value or flag.
#[derive(Debug, Clone)]
pub struct EnumValue {
    /// Name.
    pub name: String,
    /// Value (for flags: `1 << bit`).
    pub value: u64,
    /// Flag bit (flags only).
    pub bit: Option<u64>,
    /// Kernel name.
    pub kernel: Option<String>,
    /// Documentation.
    pub doc: Option<String>,
    /// Where it was written.
    pub loc: Loc,
}

/// An enum or flag set.
#[derive(Debug, Clone)]
pub struct Enum {
    /// Name.
    pub name: String,
    /// Where it was written.
    pub loc: Loc,
    /// Width in bits.
    pub bits: u64,
    /// Documentation.
    pub doc: Option<String>,
    /// Values.
    pub values: Vec<EnumValue>,
    /// Flag set rather than enum.
    pub is_flags: bool,
}

/// A fwctl scope, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Never allowed.
    None,
    /// configuration (0).
    Configuration,
    /// debug_read_only (1).
    DebugReadOnly,
    /// debug_write (2).
    DebugWrite,
    /// debug_write_full (3).
    DebugWriteFull,
}

impl Scope {
    /// Parses a spec scope name.
    pub fn parse(s: &str) -> Option<Scope> {
        Some(match s {
            "none" => Scope::None,
            "configuration" => Scope::Configuration,
            "debug_read_only" => Scope::DebugReadOnly,
            "debug_write" => Scope::DebugWrite,
            "debug_write_full" => Scope::DebugWriteFull,
            _ => return None,
        })
    }

    /// The spec name.
    pub fn name(self) -> &'static str {
        match self {
            Scope::None => "none",
            Scope::Configuration => "configuration",
            Scope::DebugReadOnly => "debug_read_only",
            Scope::DebugWrite => "debug_write",
            Scope::DebugWriteFull => "debug_write_full",
        }
    }
}

/// A reference to a layout by name.
#[derive(Debug, Clone)]
pub struct Ref {
    /// Layout name.
    pub name: String,
    /// Where it was written.
    pub loc: Loc,
}

/// One op_mod meaning.
#[derive(Debug, Clone)]
pub struct OpMod {
    /// Name.
    pub name: String,
    /// Value.
    pub value: u64,
    /// Scope override.
    pub scope: Option<Scope>,
    /// Documentation.
    pub doc: Option<String>,
    /// Where it was written.
    pub loc: Loc,
}

/// A command.
#[derive(Debug, Clone)]
pub struct Command {
    /// Kernel name.
    pub name: String,
    /// Where it was written.
    pub loc: Loc,
    /// Opcode.
    pub opcode: u64,
    /// Where the opcode was written.
    pub opcode_loc: Loc,
    /// Input layout.
    pub input: Option<Ref>,
    /// Output layout.
    pub output: Option<Ref>,
    /// Least scope.
    pub scope: Scope,
    /// Documentation.
    pub doc: Option<String>,
    /// op_mod meanings.
    pub op_mods: Vec<OpMod>,
}

/// An access register or a capability page: a name, a number and maybe a layout.
#[derive(Debug, Clone)]
pub struct Numbered {
    /// Name.
    pub name: String,
    /// Where it was written.
    pub loc: Loc,
    /// Register id or cap type.
    pub number: u64,
    /// Where the number was written.
    pub number_loc: Loc,
    /// Layout.
    pub layout: Option<Ref>,
    /// Documentation.
    pub doc: Option<String>,
}

/// Everything in one spec file.
#[derive(Debug, Clone, Default)]
pub struct Module {
    /// Layouts.
    pub layouts: Vec<Layout>,
    /// Enums and flag sets.
    pub enums: Vec<Enum>,
    /// Commands.
    pub commands: Vec<Command>,
    /// Access registers.
    pub registers: Vec<Numbered>,
    /// Capability pages.
    pub caps: Vec<Numbered>,
}

/// All the specs.
#[derive(Debug, Clone, Default)]
pub struct Spec {
    /// Source files, in module order.
    pub files: Vec<SourceFile>,
    /// One module per file (same index).
    pub modules: Vec<Module>,
}

impl Spec {
    /// Every layout with its module index.
    pub fn layouts(&self) -> impl Iterator<Item = (usize, &Layout)> {
        self.modules.iter().enumerate().flat_map(|(i, m)| m.layouts.iter().map(move |l| (i, l)))
    }

    /// Every enum and flag set with its module index.
    pub fn enums(&self) -> impl Iterator<Item = (usize, &Enum)> {
        self.modules.iter().enumerate().flat_map(|(i, m)| m.enums.iter().map(move |l| (i, l)))
    }

    /// Every command with its module index.
    pub fn commands(&self) -> impl Iterator<Item = (usize, &Command)> {
        self.modules.iter().enumerate().flat_map(|(i, m)| m.commands.iter().map(move |l| (i, l)))
    }

    /// Every register with its module index.
    pub fn registers(&self) -> impl Iterator<Item = (usize, &Numbered)> {
        self.modules.iter().enumerate().flat_map(|(i, m)| m.registers.iter().map(move |l| (i, l)))
    }

    /// Every capability page with its module index.
    pub fn caps(&self) -> impl Iterator<Item = (usize, &Numbered)> {
        self.modules.iter().enumerate().flat_map(|(i, m)| m.caps.iter().map(move |l| (i, l)))
    }

    /// Layouts by name (first definition wins).
    pub fn layout_map(&self) -> HashMap<&str, (usize, &Layout)> {
        let mut m = HashMap::new();
        for (i, l) in self.layouts() {
            m.entry(l.name.as_str()).or_insert((i, l));
        }
        m
    }

    /// Enums and flag sets by name (first definition wins).
    pub fn enum_map(&self) -> HashMap<&str, (usize, &Enum)> {
        let mut m = HashMap::new();
        for (i, e) in self.enums() {
            m.entry(e.name.as_str()).or_insert((i, e));
        }
        m
    }
}

fn loc<T>(file: usize, s: &Spanned<T>) -> Loc {
    Loc { file, start: s.span().start }
}

/// Parses one file's text; TOML errors become diagnostics.
pub fn parse_file(files: &[SourceFile], file: usize, diags: &mut Diags) -> Option<SpecFile> {
    let text = &files.get(file)?.text;
    match toml::from_str::<SpecFile>(text) {
        Ok(s) => Some(s),
        Err(e) => {
            let start = e.span().map_or(0, |s| s.start);
            let msg = e.message().trim().replace('\n', " ");
            diags.error(files, &Loc { file, start }, format!("invalid spec: {msg}"));
            None
        }
    }
}

/// Lowers a parsed file into a module; shape errors become diagnostics. Offsets are computed later by
/// [`compute_offsets`], once every layout's declared size is known.
pub fn lower(files: &[SourceFile], file: usize, parsed: SpecFile, diags: &mut Diags) -> Module {
    let mut m = Module::default();
    for l in parsed.layout {
        let lloc = loc(file, &l);
        let l = l.into_inner();
        let kind = match l.kind.as_ref().map(|k| k.get_ref().as_str()) {
            None | Some("struct") => LayoutKind::Struct,
            Some("union") => LayoutKind::Union,
            Some(other) => {
                let k = l.kind.as_ref().map_or(lloc.clone(), |k| loc(file, k));
                diags.error(files, &k, format!("unknown layout kind `{other}` (expected `struct` or `union`)"));
                LayoutKind::Struct
            }
        };
        let mut fields = Vec::new();
        for f in l.fields {
            if let Some(field) = lower_field(files, file, &f, diags) {
                fields.push(field);
            }
        }
        m.layouts.push(Layout {
            name: l.name.get_ref().clone(),
            loc: loc(file, &l.name),
            kind,
            size: *l.size.get_ref(),
            size_loc: loc(file, &l.size),
            doc: l.doc,
            subdword: l.subdword,
            fields,
            computed_size: 0,
        });
    }
    for (list, is_flags) in [(parsed.enums, false), (parsed.flags, true)] {
        for e in list {
            let eloc = loc(file, &e.get_ref().name);
            let e = e.into_inner();
            let mut values = Vec::new();
            for v in e.values {
                let vloc = loc(file, &v);
                let v = v.into_inner();
                let (value, bit) = if is_flags {
                    match (v.bit, v.value) {
                        (Some(b), None) => (if b < 64 { 1u64 << b } else { 0 }, Some(b)),
                        _ => {
                            diags.error(files, &vloc, format!("flag `{}` needs `bit` (and no `value`)", v.name));
                            continue;
                        }
                    }
                } else {
                    match (v.value, v.bit) {
                        (Some(x), None) => (x, None),
                        _ => {
                            diags.error(files, &vloc, format!("enum value `{}` needs `value` (and no `bit`)", v.name));
                            continue;
                        }
                    }
                };
                values.push(EnumValue { name: v.name, value, bit, kernel: v.kernel, doc: v.doc, loc: vloc });
            }
            m.enums.push(Enum {
                name: e.name.into_inner(),
                loc: eloc,
                bits: *e.bits.get_ref(),
                doc: e.doc,
                values,
                is_flags,
            });
        }
    }
    for c in parsed.command {
        let c = c.into_inner();
        let scope = Scope::parse(c.scope.get_ref()).unwrap_or_else(|| {
            diags.error(files, &loc(file, &c.scope), format!("unknown scope `{}`", c.scope.get_ref()));
            Scope::None
        });
        let mut op_mods = Vec::new();
        for o in c.op_mod {
            let oloc = loc(file, &o);
            let o = o.into_inner();
            let scope = match o.scope.as_deref() {
                None => None,
                Some(s) => match Scope::parse(s) {
                    Some(s) => Some(s),
                    None => {
                        diags.error(files, &oloc, format!("unknown scope `{s}`"));
                        None
                    }
                },
            };
            op_mods.push(OpMod { name: o.name, value: o.value, scope, doc: o.doc, loc: oloc });
        }
        m.commands.push(Command {
            name: c.name.get_ref().clone(),
            loc: loc(file, &c.name),
            opcode: *c.opcode.get_ref(),
            opcode_loc: loc(file, &c.opcode),
            input: c.input.map(|r| Ref { loc: loc(file, &r), name: r.into_inner() }),
            output: c.output.map(|r| Ref { loc: loc(file, &r), name: r.into_inner() }),
            scope,
            doc: c.doc,
            op_mods,
        });
    }
    for r in parsed.register {
        let r = r.into_inner();
        m.registers.push(Numbered {
            name: r.name.get_ref().clone(),
            loc: loc(file, &r.name),
            number: *r.id.get_ref(),
            number_loc: loc(file, &r.id),
            layout: r.layout.map(|x| Ref { loc: loc(file, &x), name: x.into_inner() }),
            doc: r.doc,
        });
    }
    for c in parsed.cap {
        let c = c.into_inner();
        m.caps.push(Numbered {
            name: c.name.get_ref().clone(),
            loc: loc(file, &c.name),
            number: *c.cap_type.get_ref(),
            number_loc: loc(file, &c.cap_type),
            layout: c.layout.map(|x| Ref { loc: loc(file, &x), name: x.into_inner() }),
            doc: c.doc,
        });
    }
    m
}

fn lower_field(files: &[SourceFile], file: usize, f: &Spanned<spec::FieldSpec>, diags: &mut Diags) -> Option<Field> {
    let floc = loc(file, f);
    let f = f.get_ref();
    let what = f.name.as_deref().map_or_else(|| "reserved field".to_string(), |n| format!("field `{n}`"));
    let mut err = |msg: String| diags.error(files, &floc, msg);
    let (ty, width) = match (f.bits, f.reserved, &f.layout) {
        (Some(b), None, None) => (FieldTy::Bits, b),
        (None, Some(r), None) => (FieldTy::Reserved, r),
        (None, None, Some(l)) => (FieldTy::Layout(l.clone()), 0),
        _ => {
            err(format!("{what} needs exactly one of `bits`, `reserved` or `layout`"));
            return None;
        }
    };
    if matches!(ty, FieldTy::Bits | FieldTy::Reserved) && width == 0 {
        err(format!("{what} has a width of 0 bits"));
        return None;
    }
    let name = match (&ty, &f.name) {
        (FieldTy::Reserved, Some(_)) => {
            err("a reserved field takes no `name` (it is named after its offset)".into());
            return None;
        }
        (FieldTy::Reserved, None) => String::new(),
        (_, Some(n)) => n.clone(),
        (_, None) => {
            err("field needs a `name`".into());
            return None;
        }
    };
    let count = match (f.count, f.tail) {
        (None, false) => Count::One,
        (Some(0), _) => {
            err(format!("{what} has `count = 0`; use `tail = true` for a variable-length array"));
            return None;
        }
        (Some(n), false) => Count::Fixed(n),
        (None, true) => Count::Tail,
        (Some(_), true) => {
            err(format!("{what} has both `count` and `tail`"));
            return None;
        }
    };
    if ty != FieldTy::Bits && (f.enum_.is_some() || f.flags.is_some() || f.signed) {
        err(format!("{what}: `enum`, `flags` and `signed` apply to `bits` fields only"));
        return None;
    }
    if [f.enum_.is_some(), f.flags.is_some(), f.signed].iter().filter(|x| **x).count() > 1 {
        err(format!("{what}: `enum`, `flags` and `signed` exclude each other"));
        return None;
    }
    if ty == FieldTy::Reserved && count == Count::Tail {
        err("a reserved field cannot be a tail".into());
        return None;
    }
    Some(Field {
        name,
        loc: floc,
        offset: 0,
        running: 0,
        width,
        count,
        ty,
        at: f.at,
        enum_: f.enum_.clone(),
        flags: f.flags.clone(),
        signed: f.signed,
        straddle: f.straddle,
        doc: f.doc.clone(),
    })
}

/// Gives every field its offset and every nested-layout field its width, from the declared sizes.
///
/// An explicit `at` wins over the running position, so one mistake does not shift every later field;
/// the gap and overlap passes report the disagreement.
pub fn compute_offsets(spec: &mut Spec) {
    let sizes: HashMap<String, u64> = spec.layouts().map(|(_, l)| (l.name.clone(), l.size)).collect();
    for m in &mut spec.modules {
        for l in &mut m.layouts {
            let mut pos = 0u64;
            let mut max = 0u64;
            for f in &mut l.fields {
                if let FieldTy::Layout(n) = &f.ty {
                    f.width = sizes.get(n).copied().unwrap_or(0);
                }
                let start = match l.kind {
                    LayoutKind::Struct => pos,
                    LayoutKind::Union => 0,
                };
                f.running = start;
                f.offset = f.at.unwrap_or(start);
                let end = f.offset.saturating_add(f.total_bits());
                pos = end;
                max = max.max(end);
                if f.is_reserved() {
                    f.name = format!("reserved_at_{:x}", f.offset);
                }
            }
            l.computed_size = match l.kind {
                LayoutKind::Struct => pos,
                LayoutKind::Union => max,
            };
        }
    }
}
