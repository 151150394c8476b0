//! Big-endian bit fields in PRM numbering.
//!
//! This module is the one place where the arithmetic of the kernel's `MLX5_GET`/`MLX5_SET` lives. A layout
//! is a sequence of big-endian 32-bit dwords; bit offset 0 is the most significant bit of byte 0. A field of
//! `width <= 32` bits at bit offset `bit` that does not cross a dword lives in dword `bit / 32`, shifted
//! right by `32 - bit % 32 - width`.
//!
//! Every function here is total: an offset outside the buffer, or a field that does not fit where a
//! function needs it to, reads as zero and a write there is dropped (the `_checked` variants report it); no
//! arithmetic can overflow, whatever the arguments. Generated accessors only pass offsets and widths that
//! the generator proved valid, so those paths are never taken by them (and the checks fold away).

/// Mask of the low `width` bits (`width` up to 64).
#[inline]
pub const fn mask(width: u32) -> u64 {
    match 1u64.checked_shl(width) {
        // `top` is at least 1: no wrap.
        Some(top) => top.wrapping_sub(1),
        None => u64::MAX,
    }
}

/// Byte offset of the dword that holds PRM bit `bit` (`bit / 32 * 4`, which cannot overflow this way).
#[inline]
const fn dword_byte(bit: usize) -> usize {
    (bit / 8) & !3
}

/// The right shift that brings a field of `width` bits at PRM bit offset `bit` down to bit 0 of its dword,
/// or `None` when the field does not lie within one dword.
#[inline]
const fn dword_shift(bit: usize, width: u32) -> Option<u32> {
    match ((bit % 32) as u32).checked_add(width) {
        Some(end) => 32u32.checked_sub(end),
        None => None,
    }
}

/// Reads the big-endian dword starting at byte `byte`, or 0 if it is not entirely inside `b`.
#[inline]
pub const fn be32(b: &[u8], byte: usize) -> u32 {
    match b.split_at_checked(byte) {
        Some((_, rest)) => match rest.first_chunk::<4>() {
            Some(c) => u32::from_be_bytes(*c),
            None => 0,
        },
        None => 0,
    }
}

/// Writes `v` as a big-endian dword at byte `byte`; returns false (writing nothing) when out of range.
#[inline]
pub const fn set_be32(b: &mut [u8], byte: usize, v: u32) -> bool {
    match b.split_at_mut_checked(byte) {
        Some((_, rest)) => match rest.first_chunk_mut::<4>() {
            Some(c) => {
                *c = v.to_be_bytes();
                true
            }
            None => false,
        },
        None => false,
    }
}

/// Reads a field of `width <= 32` bits at PRM bit offset `bit` that lies within one dword.
#[inline]
pub const fn get32(b: &[u8], bit: usize, width: u32) -> u32 {
    match dword_shift(bit, width) {
        Some(shift) => match be32(b, dword_byte(bit)).checked_shr(shift) {
            Some(v) => (v as u64 & mask(width)) as u32,
            None => 0,
        },
        None => 0,
    }
}

/// Writes a field of `width <= 32` bits at PRM bit offset `bit` within one dword, keeping the other bits
/// of the dword; bits of `v` above `width` are dropped. Returns false when out of range (or when the field
/// does not lie within one dword).
#[inline]
pub const fn set32(b: &mut [u8], bit: usize, width: u32, v: u32) -> bool {
    let Some(shift) = dword_shift(bit, width) else { return false };
    let byte = dword_byte(bit);
    let old = be32(b, byte);
    let new = match ((mask(width) as u32).checked_shl(shift), v.checked_shl(shift)) {
        (Some(m), Some(v)) => (old & !m) | (v & m),
        // A shift of 32 is a field of width 0: the dword keeps its value.
        _ => old,
    };
    set_be32(b, byte, new)
}

/// Reads a 64-bit field that starts on a dword boundary (two big-endian dwords, high first).
#[inline]
pub const fn get64(b: &[u8], bit: usize) -> u64 {
    let byte = bit / 8;
    ((be32(b, byte) as u64) << 32) | be32(b, byte.saturating_add(4)) as u64
}

/// Writes a 64-bit field that starts on a dword boundary. Returns false when out of range.
#[inline]
pub const fn set64(b: &mut [u8], bit: usize, v: u64) -> bool {
    let byte = bit / 8;
    match byte.checked_add(8) {
        Some(end) if end <= b.len() => {}
        _ => return false,
    }
    set_be32(b, byte, (v >> 32) as u32) && set_be32(b, byte.saturating_add(4), v as u32)
}

/// Whether the field takes the one-dword path: it lies within one dword, and that whole dword is inside
/// `len` bytes (a 16-bit layout such as `qpdpm_dscp_reg` has no whole dword).
#[inline]
const fn one_dword(len: usize, bit: usize, width: u32) -> bool {
    match (dword_shift(bit, width), len.checked_sub(4)) {
        (Some(_), Some(last_dword)) => width <= 32 && dword_byte(bit) <= last_dword,
        _ => false,
    }
}

/// Bit `pos` of `b` (PRM numbering: bit 0 is the most significant bit of byte 0), or 0 outside `b`.
#[inline]
const fn bit_at(b: &[u8], pos: usize) -> u64 {
    match b.split_at_checked(pos / 8) {
        Some((_, [byte, ..])) => ((*byte >> 7u32.saturating_sub((pos % 8) as u32)) & 1) as u64,
        _ => 0,
    }
}

/// Whether bits `bit..bit + width` lie inside `len` bytes (without overflowing on huge offsets).
#[inline]
const fn fits(len: usize, bit: usize, width: u32) -> bool {
    match (bit.checked_add(width as usize), len.checked_mul(8)) {
        (Some(end), Some(bits)) => end <= bits,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// Reads any field of up to 64 bits at any bit offset, even one that crosses dwords.
///
/// Returns `None` when the field is not inside `b` or is wider than 64 bits.
pub const fn get_any(b: &[u8], bit: usize, width: u32) -> Option<u64> {
    if width > 64 || !fits(b.len(), bit, width) {
        return None;
    }
    if one_dword(b.len(), bit, width) {
        return Some(get32(b, bit, width) as u64);
    }
    // `fits` proved that `bit + width` does not overflow, so neither does `bit + i`.
    let mut v = 0u64;
    let mut i = 0usize;
    while i < width as usize {
        v = (v << 1) | bit_at(b, bit.saturating_add(i));
        i = i.saturating_add(1);
    }
    Some(v)
}

/// Writes any field of up to 64 bits at any bit offset, keeping neighbouring bits.
///
/// Returns `None` (writing nothing) when the field is not inside `b` or is wider than 64 bits.
pub const fn set_any(b: &mut [u8], bit: usize, width: u32, v: u64) -> Option<()> {
    if width > 64 || !fits(b.len(), bit, width) {
        return None;
    }
    if one_dword(b.len(), bit, width) {
        set32(b, bit, width, v as u32);
        return Some(());
    }
    // Most significant bit first; `fits` proved that `bit + width` does not overflow.
    let mut i = 0usize;
    while i < width as usize {
        let pos = bit.saturating_add(i);
        let from_top = (width as usize).saturating_sub(1).saturating_sub(i);
        let val = ((v >> from_top) & 1) as u8;
        if let Some((_, [x, ..])) = b.split_at_mut_checked(pos / 8) {
            let shift = 7u32.saturating_sub((pos % 8) as u32);
            *x = (*x & !(1u8 << shift)) | (val << shift);
        }
        i = i.saturating_add(1);
    }
    Some(())
}

/// Sign-extends the low `width` bits of `v`.
#[inline]
pub const fn sign_extend(v: u64, width: u32) -> i64 {
    if width == 0 || width >= 64 {
        return v as i64;
    }
    // `width` is 1..=63 here.
    let shift = 64u32.saturating_sub(width);
    ((v << shift) as i64) >> shift
}

/// Copies `src` into `b` at byte offset `byte`; returns false (writing nothing) when it does not fit.
#[inline]
pub const fn put_bytes(b: &mut [u8], byte: usize, src: &[u8]) -> bool {
    let Some((_, rest)) = b.split_at_mut_checked(byte) else {
        return false;
    };
    let Some((dst, _)) = rest.split_at_mut_checked(src.len()) else {
        return false;
    };
    dst.copy_from_slice(src);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dword_fields_follow_mlx5_get() {
        // opcode@0x00/16 = 0x0805, op_mod@0x30/16 = 1 (an ACCESS_REG read header).
        let mut b = [0u8; 16];
        assert!(set32(&mut b, 0x00, 16, 0x0805));
        assert!(set32(&mut b, 0x30, 16, 1));
        assert_eq!(b[..8], [0x08, 0x05, 0, 0, 0, 0, 0, 1]);
        assert_eq!(get32(&b, 0x00, 16), 0x0805);
        assert_eq!(get32(&b, 0x30, 16), 1);
        // A 4-bit field in the middle keeps its neighbours.
        b = [0xff; 16];
        set32(&mut b, 0x14, 4, 0x2);
        assert_eq!(be32(&b, 0), 0xffff_f2ff);
        assert_eq!(get32(&b, 0x14, 4), 2);
    }

    #[test]
    fn out_of_range_is_harmless() {
        let mut b = [0u8; 6];
        assert_eq!(get32(&b, 32, 8), 0);
        assert!(!set32(&mut b, 32, 8, 1));
        assert!(!set64(&mut b, 0, 1));
        assert_eq!(get_any(&b, 40, 16), None);
        assert_eq!(set_any(&mut b, 40, 16, 1), None);
        assert_eq!(b, [0; 6]);
    }

    #[test]
    fn any_offset_crosses_dwords() {
        let mut b = [0u8; 8];
        set_any(&mut b, 28, 8, 0xab).unwrap();
        assert_eq!(get_any(&b, 28, 8), Some(0xab));
        assert_eq!(be32(&b, 0), 0x0000_000a);
        assert_eq!(be32(&b, 4), 0xb000_0000);
        set64(&mut b, 0, 0x0102_0304_0506_0708);
        assert_eq!(get64(&b, 0), 0x0102_0304_0506_0708);
        assert_eq!(get_any(&b, 0, 64), Some(0x0102_0304_0506_0708));
        assert_eq!(sign_extend(0xffff_fffe, 32), -2);
    }
}
