//! The 8-bit XOR signatures of queue entries and mailbox blocks (PRM "Command Queue Entry" and "Command
//! Mailbox"; kernel `calc_xor`, `calc_block_sig`). Stored inverted, so a covered range that includes its
//! signature XORs to `0xff`.

use crate::prm::{CmdIfBox, CmdQueueEntry};

/// Bytes covered by a mailbox block's ctrl signature: after the data, up to the ctrl signature.
const CTRL_START: usize = (CmdIfBox::FIELD_MAILBOX_DATA.offset + CmdIfBox::FIELD_MAILBOX_DATA.total_bits()) / 8;
const CTRL_SIG: usize = CmdIfBox::FIELD_CTRL_SIGNATURE.offset / 8;
const BLOCK_SIG: usize = CmdIfBox::FIELD_SIGNATURE.offset / 8;

/// XOR of every byte of `bytes`.
#[inline]
pub fn xor(bytes: &[u8]) -> u8 {
    // Fold eight bytes at a time; the XOR of the lanes of the folded word is the XOR of all bytes.
    let mut chunks = bytes.chunks_exact(8);
    let mut acc = 0u64;
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        acc ^= u64::from_ne_bytes(w);
    }
    let mut x = acc.to_ne_bytes().iter().fold(0u8, |a, b| a ^ b);
    for b in chunks.remainder() {
        x ^= b;
    }
    x
}

/// The signature to store for a range whose signature byte is still zero: `!xor(range)`.
#[inline]
pub fn sign(bytes: &[u8]) -> u8 {
    !xor(bytes)
}

/// Whether a range that includes its signature byte verifies.
#[inline]
pub fn verify(bytes: &[u8]) -> bool {
    xor(bytes) == 0xff
}

/// Signs a queue entry: the XOR of all 64 bytes, signature included, becomes `0xff`. The ownership bit
/// must already be set (the signature covers it).
pub fn sign_entry(e: &mut CmdQueueEntry) {
    e.set_signature(0);
    let s = sign(e.as_array());
    e.set_signature(s);
}

/// Whether a queue entry's signature verifies.
pub fn entry_ok(e: &CmdQueueEntry) -> bool {
    verify(e.as_array())
}

/// Signs a mailbox block: the ctrl signature over the control part, then the block signature over
/// everything before it (ctrl signature included).
pub fn sign_block(b: &mut CmdIfBox) {
    b.set_ctrl_signature(0);
    b.set_signature(0);
    let c = b.as_array().get(CTRL_START..CTRL_SIG).map_or(0, sign);
    b.set_ctrl_signature(c);
    let s = b.as_array().get(..BLOCK_SIG).map_or(0, sign);
    b.set_signature(s);
}

/// Whether both signatures of a mailbox block verify.
pub fn block_ok(b: &CmdIfBox) -> bool {
    b.as_array().get(CTRL_START..=CTRL_SIG).is_some_and(verify) && verify(b.as_array())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_then_verify() {
        let mut b = [0u8; 64];
        for (i, x) in b.iter_mut().enumerate() {
            *x = (i * 37) as u8;
        }
        b[61] = 0;
        b[61] = sign(&b);
        assert!(verify(&b));
        b[3] ^= 0x10;
        assert!(!verify(&b));
        assert_eq!(xor(&[1, 2, 4, 8, 16, 32, 64, 128, 1]), 0xfe);
    }

    #[test]
    fn block_ranges_come_from_the_layout() {
        assert_eq!((CTRL_START, CTRL_SIG, BLOCK_SIG), (0x200, 0x23e, 0x23f));
        let mut b = CmdIfBox::ZERO;
        b.set_block_number(3);
        b.set_token(0x5a);
        sign_block(&mut b);
        assert!(block_ok(&b));
        b.set_token(0x5b);
        assert!(!block_ok(&b));
    }
}
