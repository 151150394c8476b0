//! The 8-bit XOR signatures of queue entries and mailbox blocks (PRM "Command Queue Entry" and "Command
//! Mailbox"; kernel `calc_xor`, `calc_block_sig`). Stored inverted, so a covered range that includes its
//! signature XORs to `0xff`.

use crate::prm::{CmdIfBox, CmdQueueEntry};

/// Where a mailbox block's control part starts: right after the data.
const CTRL_START: usize = (CmdIfBox::FIELD_MAILBOX_DATA.offset + CmdIfBox::FIELD_MAILBOX_DATA.total_bits()) / 8;
const CTRL_SIG: usize = CmdIfBox::FIELD_CTRL_SIGNATURE.offset / 8;
const BLOCK_SIG: usize = CmdIfBox::FIELD_SIGNATURE.offset / 8;
/// Bytes of a mailbox block's control part (next pointer, block number, token, both signatures).
pub const CTRL_BYTES: usize = CmdIfBox::SIZE - CTRL_START;
/// The two signatures are the last two bytes of the block, ctrl signature first: so the ctrl signature
/// covers the control part but the block signature, and the block signature everything before it.
const CTRL_SIG_AT: usize = CTRL_SIG - CTRL_START;
const BLOCK_SIG_AT: usize = BLOCK_SIG - CTRL_START;
const _: () = assert!(BLOCK_SIG_AT == CTRL_BYTES - 1 && CTRL_SIG_AT == CTRL_BYTES - 2);

/// XOR of the eight bytes of a word.
#[inline]
pub const fn fold(w: u64) -> u8 {
    let w = w ^ (w >> 32);
    let w = w ^ (w >> 16);
    (w ^ (w >> 8)) as u8
}

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
    chunks.remainder().iter().fold(fold(word), |a, b| a ^ b)
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

/// Signs the control part of a mailbox block whose data bytes XOR to `data_xor`: the ctrl signature over
/// the control part, then the block signature over the data and the control part (ctrl signature
/// included). Whatever the signature bytes held before is ignored.
#[inline]
pub fn sign_control(ctrl: &mut [u8; CTRL_BYTES], data_xor: u8) {
    let [.., ctrl_sig, block_sig] = ctrl;
    (*ctrl_sig, *block_sig) = (0, 0);
    let x = xor(ctrl);
    let c = !x;
    let [.., ctrl_sig, block_sig] = ctrl;
    *ctrl_sig = c;
    *block_sig = !(data_xor ^ x ^ c);
}

/// Whether the ctrl signature of a control part verifies.
#[inline]
pub fn control_ok(ctrl: &[u8; CTRL_BYTES]) -> bool {
    let [.., block_sig] = ctrl;
    xor(ctrl) ^ block_sig == 0xff
}

/// Whether both signatures verify, for a control part whose block's data bytes XOR to `data_xor`.
#[inline]
pub fn control_and_block_ok(ctrl: &[u8; CTRL_BYTES], data_xor: u8) -> bool {
    let x = xor(ctrl);
    let [.., block_sig] = ctrl;
    x ^ block_sig == 0xff && x ^ data_xor == 0xff
}

/// The control part of a block.
fn ctrl_of(b: &CmdIfBox) -> &[u8; CTRL_BYTES] {
    match b.0.last_chunk::<CTRL_BYTES>() {
        Some(c) => c,
        None => &[0; CTRL_BYTES],
    }
}

/// Signs a mailbox block: the ctrl signature over the control part, then the block signature over
/// everything before it (ctrl signature included).
pub fn sign_block(b: &mut CmdIfBox) {
    let data_xor = xor(b.mailbox_data_bytes());
    sign_block_control(b, data_xor);
}

/// Whether both signatures of a mailbox block verify.
pub fn block_ok(b: &CmdIfBox) -> bool {
    control_and_block_ok(ctrl_of(b), xor(b.mailbox_data_bytes()))
}

/// Signs a mailbox block whose data bytes XOR to `data_xor`, reading only its control part: the same
/// signatures as [`sign_block`], for a caller that already has the XOR of the data (or knows it is 0).
pub fn sign_block_control(b: &mut CmdIfBox, data_xor: u8) {
    if let Some(ctrl) = b.0.last_chunk_mut::<CTRL_BYTES>() {
        sign_control(ctrl, data_xor);
    }
}

/// Whether the ctrl signature of a mailbox block verifies (the control part alone: next pointer, block
/// number and token).
pub fn ctrl_ok(b: &CmdIfBox) -> bool {
    control_ok(ctrl_of(b))
}

/// [`block_ok`] for a block whose data bytes (which `b` need not hold) XOR to `data_xor`: checks the
/// control part of `b` and both signatures.
pub fn block_control_ok(b: &CmdIfBox, data_xor: u8) -> bool {
    control_and_block_ok(ctrl_of(b), data_xor)
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
        assert_eq!((CTRL_START, CTRL_SIG, BLOCK_SIG, CTRL_BYTES), (0x200, 0x23e, 0x23f, 64));
        assert_eq!(fold(0x0102_0408_1020_4080), 0xff);
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
        let mut ctrl: [u8; CTRL_BYTES] = whole.as_array()[CTRL_START..].try_into().unwrap();
        ctrl[CTRL_SIG_AT] = 0x12;
        ctrl[BLOCK_SIG_AT] = 0x34;
        sign_control(&mut ctrl, data_xor);
        assert_eq!(&ctrl[..], &whole.as_array()[CTRL_START..], "old signature bytes are ignored");
        assert!(control_ok(&ctrl));
        ctrl[CTRL_SIG_AT - 2] ^= 1;
        assert!(!control_ok(&ctrl));
        assert!(block_control_ok(&whole, data_xor));
        assert!(!block_control_ok(&whole, data_xor ^ 1));
    }
}
