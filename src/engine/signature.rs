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
    // Fold 64 bytes at a time into eight independent words (which the compiler turns into vector XORs),
    // then eight at a time; the XOR of the lanes of the folded words is the XOR of all bytes.
    let mut wide = bytes.chunks_exact(64);
    let mut acc = [0u64; 8];
    for c in &mut wide {
        for (a, w) in acc.iter_mut().zip(c.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            *a ^= u64::from_ne_bytes(b);
        }
    }
    let mut chunks = wide.remainder().chunks_exact(8);
    let mut word = acc.iter().fold(0u64, |x, a| x ^ a);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        word ^= u64::from_ne_bytes(w);
    }
    let mut x = word.to_ne_bytes().iter().fold(0u8, |a, b| a ^ b);
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

/// Signs a mailbox block whose data bytes XOR to `data_xor`, reading only its control part: the same
/// signatures as [`sign_block`], for a caller that already has the XOR of the data (or knows it is 0).
pub fn sign_block_control(b: &mut CmdIfBox, data_xor: u8) {
    let ctrl_xor = b.as_array().get(CTRL_START..CTRL_SIG).map_or(0, xor);
    sign_block_xors(b, data_xor, ctrl_xor);
}

/// Signs a mailbox block from the XORs its writer already knows — `data_xor` of its data bytes and
/// `ctrl_xor` of its control part without the two signature bytes — reading nothing of `b`. The same
/// signatures as [`sign_block`].
#[inline]
pub fn sign_block_xors(b: &mut CmdIfBox, data_xor: u8, ctrl_xor: u8) {
    let ctrl_sig = !ctrl_xor;
    b.set_ctrl_signature(ctrl_sig);
    // The block signature covers the data and the control part up to itself, ctrl signature included.
    b.set_signature(!(data_xor ^ ctrl_xor ^ ctrl_sig));
}

/// [`block_ok`] for a block whose data bytes (which `b` need not hold) XOR to `data_xor`: checks the
/// control part of `b` and both signatures.
pub fn block_control_ok(b: &CmdIfBox, data_xor: u8) -> bool {
    let ctrl = b.as_array().get(CTRL_START..).unwrap_or(&[]);
    b.as_array().get(CTRL_START..=CTRL_SIG).is_some_and(verify) && data_xor ^ xor(ctrl) == 0xff
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

    #[test]
    fn control_only_signing_matches_whole_block_signing() {
        let mut whole = CmdIfBox::ZERO;
        for (i, x) in whole.mailbox_data_bytes_mut().iter_mut().enumerate() {
            *x = (i * 13 + 1) as u8;
        }
        whole.set_block_number(7);
        whole.set_token(0x21);
        whole.set_next_pointer_31_10(0x1234);
        let mut ctrl = whole;
        sign_block(&mut whole);
        sign_block_control(&mut ctrl, xor(whole.mailbox_data_bytes()));
        assert_eq!(whole, ctrl);
        let data_xor = xor(whole.mailbox_data_bytes());
        let mut from_xors = ctrl;
        let ctrl_xor = xor(&whole.as_array()[CTRL_START..CTRL_SIG]);
        sign_block_xors(&mut from_xors, data_xor, ctrl_xor);
        assert_eq!(whole, from_xors);
        assert!(block_control_ok(&whole, data_xor));
        assert!(!block_control_ok(&whole, data_xor ^ 1));
    }
}
