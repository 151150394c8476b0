//! The 8-bit XOR signatures of queue entries and mailbox blocks (PRM "Command Queue Entry" and "Command
//! Mailbox"; kernel `calc_xor`, `calc_block_sig`). Stored inverted, so a covered range that includes its
//! signature XORs to `0xff`.

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
}
