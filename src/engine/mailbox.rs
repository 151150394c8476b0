//! Mailbox blocks: the pool the host lends, chains of blocks for long messages, and copying messages
//! in and out of them (PRM "Command Mailbox"; kernel `mlx5_cmd_prot_block`, `mlx5_alloc_cmd_msg`).

use crate::host::DmaMemory;
use crate::layout::Count;
use crate::prm::{CmdIfBox, CmdQueueEntry};

use super::signature::{self, CTRL_BYTES};

/// Bytes of command input or output carried inline in the queue entry.
pub const INLINE_BYTES: usize = match CmdQueueEntry::FIELD_COMMAND_INPUT_INLINE_DATA.count {
    Count::Fixed(n) => n,
    _ => 0,
};

/// Data bytes per mailbox block.
pub const BLOCK_DATA: usize = match CmdIfBox::FIELD_MAILBOX_DATA.count {
    Count::Fixed(n) => n,
    _ => 0,
};

/// Distance between blocks in the pool: the block size rounded up to a power of two, which is also the
/// alignment the next-pointer field allows (its low 10 bits are reserved).
pub const BLOCK_STRIDE: usize = CmdIfBox::SIZE.next_power_of_two();

/// The most blocks a pool manages (4 MiB of pool memory).
pub const MAX_BLOCKS: usize = 4096;

/// Blocks needed for a message of `len` bytes (the first [`INLINE_BYTES`] travel in the entry).
pub const fn blocks_for(len: usize) -> usize {
    len.saturating_sub(INLINE_BYTES).div_ceil(BLOCK_DATA)
}

/// A run of consecutive blocks of the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Chain {
    start: u16,
    len: u16,
}

impl Chain {
    /// No blocks.
    pub const EMPTY: Chain = Chain { start: 0, len: 0 };

    /// Number of blocks.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether the chain has no blocks.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A message made of up to two byte slices, seen as one (a fixed layout and its variable tail).
#[derive(Debug, Clone, Copy)]
pub struct Parts<'a> {
    /// First part.
    pub head: &'a [u8],
    /// Second part.
    pub tail: &'a [u8],
}

impl Parts<'_> {
    /// Total length.
    pub fn len(&self) -> usize {
        self.head.len().saturating_add(self.tail.len())
    }

    /// Whether both parts are empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Message bytes `offset..offset + len` when they lie within one part (no copy needed).
    #[inline]
    pub fn contiguous(&self, offset: usize, len: usize) -> Option<&[u8]> {
        let end = offset.checked_add(len)?;
        let h = self.head.len();
        if end <= h {
            self.head.get(offset..end)
        } else if offset >= h {
            self.tail.get(offset.saturating_sub(h)..end.saturating_sub(h))
        } else {
            None
        }
    }

    /// Copies message bytes `offset..offset + dst.len()` into `dst`, zero-filling past the end.
    #[inline]
    pub fn copy_to(&self, offset: usize, dst: &mut [u8]) {
        match self.contiguous(offset, dst.len()) {
            Some(src) => dst.copy_from_slice(src),
            None => self.copy_to_any(offset, dst),
        }
    }

    /// [`Parts::copy_to`] of bytes that straddle the parts or the end.
    fn copy_to_any(&self, offset: usize, dst: &mut [u8]) {
        let avail = self.len().saturating_sub(offset).min(dst.len());
        if let Some(past_end) = dst.get_mut(avail..) {
            past_end.fill(0);
        }
        // `written <= dst.len()` and `base` is at most the message length: no step below can overflow,
        // and saturating arithmetic keeps it so even for an absurd `offset`.
        let mut written = 0usize;
        let mut base = 0usize;
        for part in [self.head, self.tail] {
            let start = offset.saturating_add(written);
            let end = base.saturating_add(part.len());
            if start >= base && start < end {
                let from = part.get(start.saturating_sub(base)..).unwrap_or(&[]);
                let n = from.len().min(dst.len().saturating_sub(written));
                if let (Some(d), Some(s)) = (dst.get_mut(written..written.saturating_add(n)), from.get(..n)) {
                    d.copy_from_slice(s);
                }
                written = written.saturating_add(n);
            }
            base = end;
        }
    }
}

/// A message destination made of up to two mutable byte slices.
#[derive(Debug)]
pub struct PartsMut<'a> {
    /// First part.
    pub head: &'a mut [u8],
    /// Second part.
    pub tail: &'a mut [u8],
}

impl PartsMut<'_> {
    /// Total length.
    pub fn len(&self) -> usize {
        self.head.len().saturating_add(self.tail.len())
    }

    /// Whether both parts are empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Message bytes `offset..offset + len` when they lie within one part, to write into directly.
    #[inline]
    pub fn contiguous_mut(&mut self, offset: usize, len: usize) -> Option<&mut [u8]> {
        let end = offset.checked_add(len)?;
        let h = self.head.len();
        if end <= h {
            self.head.get_mut(offset..end)
        } else if offset >= h {
            self.tail.get_mut(offset.saturating_sub(h)..end.saturating_sub(h))
        } else {
            None
        }
    }

    /// Copies `src` into message bytes `offset..`, dropping what does not fit.
    #[inline]
    pub fn copy_from(&mut self, offset: usize, src: &[u8]) {
        match self.contiguous_mut(offset, src.len()) {
            Some(dst) => dst.copy_from_slice(src),
            None => self.copy_from_any(offset, src),
        }
    }

    /// [`PartsMut::copy_from`] of bytes that straddle the parts or the end.
    fn copy_from_any(&mut self, offset: usize, src: &[u8]) {
        let head_len = self.head.len();
        let mut pos = offset;
        let mut src = src;
        if pos < head_len && !src.is_empty() {
            let n = src.len().min(head_len.saturating_sub(pos));
            if let (Some(d), Some(s)) = (self.head.get_mut(pos..pos.saturating_add(n)), src.get(..n)) {
                d.copy_from_slice(s);
            }
            pos = pos.saturating_add(n);
            src = src.get(n..).unwrap_or(&[]);
        }
        if pos >= head_len && !src.is_empty() {
            let t = pos.saturating_sub(head_len);
            let n = src.len().min(self.tail.len().saturating_sub(t));
            if let (Some(d), Some(s)) = (self.tail.get_mut(t..t.saturating_add(n)), src.get(..n)) {
                d.copy_from_slice(s);
            }
        }
    }
}

/// What went wrong reading an output chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainError {
    /// Block `n` has a wrong block number or token.
    Mailbox(u32),
    /// Block `n` fails its signatures.
    Signature(u32),
}

/// The pool of mailbox blocks: one DMA buffer lent by the host, carved into 1 KiB-aligned blocks,
/// allocated as contiguous chains with a bitmap. Owns no memory of its own.
pub struct MailboxPool<D: DmaMemory> {
    mem: D,
    nblocks: usize,
    used: [u64; MAX_BLOCKS / 64],
    free: usize,
}

impl<D: DmaMemory> MailboxPool<D> {
    /// Wraps the lent buffer, or gives it back if its bus address is not [`BLOCK_STRIDE`]-aligned.
    pub fn new(mem: D) -> Result<Self, D> {
        if !mem.bus_addr().is_multiple_of(BLOCK_STRIDE as u64) {
            return Err(mem);
        }
        let len = mem.len();
        let mut nblocks = len / BLOCK_STRIDE;
        if len % BLOCK_STRIDE >= CmdIfBox::SIZE {
            nblocks = nblocks.saturating_add(1);
        }
        let nblocks = nblocks.min(MAX_BLOCKS);
        Ok(MailboxPool { mem, nblocks, used: [0; MAX_BLOCKS / 64], free: nblocks })
    }

    /// Gives the lent buffer back.
    pub fn into_inner(self) -> D {
        self.mem
    }

    /// Number of blocks in the pool.
    pub fn capacity(&self) -> usize {
        self.nblocks
    }

    /// Number of free blocks.
    pub fn free_blocks(&self) -> usize {
        self.free
    }

    fn is_used(&self, i: usize) -> bool {
        self.used.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    fn mark(&mut self, start: usize, n: usize, used: bool) {
        // A word of the bitmap at a time: the bits of `start..start + n` that fall in word `w`.
        let end = start.saturating_add(n).min(MAX_BLOCKS);
        let mut i = start;
        while i < end {
            let (w, bit) = (i / 64, i % 64);
            // `bit < 64` and `i < end`: 1..=64 bits to take.
            let take = 64usize.saturating_sub(bit).min(end.saturating_sub(i));
            let bits = u64::MAX.checked_shr(64u32.saturating_sub(take as u32)).unwrap_or(0) << bit;
            if let Some(word) = self.used.get_mut(w) {
                if used {
                    *word |= bits;
                } else {
                    *word &= !bits;
                }
            }
            i = i.saturating_add(take.max(1));
        }
    }

    /// Takes `n` consecutive free blocks (first fit), or `None` when there is no such run.
    #[inline]
    pub fn alloc(&mut self, n: usize) -> Option<Chain> {
        // An inline command (no blocks) costs no call.
        if n == 0 {
            return Some(Chain::EMPTY);
        }
        self.alloc_run(n)
    }

    fn alloc_run(&mut self, n: usize) -> Option<Chain> {
        if n > self.free {
            return None;
        }
        let mut run = 0usize;
        let mut i = 0usize;
        while i < self.nblocks {
            if self.used.get(i / 64) == Some(&u64::MAX) && i.is_multiple_of(64) {
                run = 0;
                i = i.saturating_add(64);
                continue;
            }
            if self.is_used(i) {
                run = 0;
            } else {
                run = run.saturating_add(1);
                if run == n {
                    // The run of `n` free blocks ends at `i`.
                    let start = i.saturating_add(1).saturating_sub(n);
                    self.mark(start, n, true);
                    self.free = self.free.saturating_sub(n);
                    return Some(Chain { start: start as u16, len: n as u16 });
                }
            }
            i = i.saturating_add(1);
        }
        None
    }

    /// Returns a chain's blocks to the pool.
    #[inline]
    pub fn release(&mut self, c: Chain) {
        if c.is_empty() {
            return;
        }
        self.mark(usize::from(c.start), c.len(), false);
        self.free = self.free.saturating_add(c.len()).min(self.nblocks);
    }

    /// Bus address of the first block of `c` (0 for an empty chain).
    pub fn head_addr(&self, c: Chain) -> u64 {
        if c.is_empty() {
            0
        } else {
            self.block_addr(usize::from(c.start))
        }
    }

    fn block_addr(&self, i: usize) -> u64 {
        self.mem.bus_addr().saturating_add(i.saturating_mul(BLOCK_STRIDE) as u64)
    }

    /// Bus offset in the pool of block `n` of `c`.
    fn block_offset(c: Chain, n: usize) -> usize {
        usize::from(c.start).saturating_add(n).saturating_mul(BLOCK_STRIDE)
    }

    /// The control part of block `n` of `c`: link to the next block, block number and `token`, signed
    /// over data that XORs to `data_xor` when `checksums` is set.
    fn control(&self, c: Chain, n: usize, token: u8, data_xor: u8, checksums: bool) -> [u8; CTRL_BYTES] {
        let following = n.saturating_add(1);
        let next =
            if following < c.len() { self.block_addr(usize::from(c.start).saturating_add(following)) } else { 0 };
        let mut ctrl = [0u8; CTRL_BYTES];
        if let Some(d) = ctrl.get_mut(NEXT_AT..NEXT_AT + 8) {
            // Blocks are BLOCK_STRIDE-aligned: the low bits that the 31_10 field leaves reserved are zero.
            d.copy_from_slice(&next.to_be_bytes());
        }
        if let Some(d) = ctrl.get_mut(NUMBER_AT..NUMBER_AT + 4) {
            d.copy_from_slice(&(n as u32).to_be_bytes());
        }
        if let Some(t) = ctrl.get_mut(TOKEN_AT) {
            *t = token;
        }
        if checksums {
            signature::sign_control(&mut ctrl, data_xor);
        }
        ctrl
    }

    /// Writes message bytes `INLINE_BYTES..` of `msg` into the blocks of `c`, stamped with `token`.
    ///
    /// Data that lies in one part of `msg` goes to the device straight from it (one copy); only a block
    /// that straddles the parts or the end of the message is assembled first.
    #[inline]
    pub fn write_input(&self, c: Chain, msg: Parts<'_>, token: u8, checksums: bool) {
        if !c.is_empty() {
            self.write_blocks(c, msg, token, checksums);
        }
    }

    fn write_blocks(&self, c: Chain, msg: Parts<'_>, token: u8, checksums: bool) {
        for n in 0..c.len() {
            let off = Self::block_offset(c, n);
            let at = data_offset(n);
            let data_xor = match msg.contiguous(at, BLOCK_DATA) {
                Some(src) => {
                    // The XOR first: the copy then reads the data from the nearest cache.
                    let x = if checksums { signature::xor(src) } else { 0 };
                    self.mem.write(off, src);
                    x
                }
                None => {
                    let mut data = [0u8; BLOCK_DATA];
                    msg.copy_to(at, &mut data);
                    self.mem.write(off, &data);
                    if checksums {
                        signature::xor(&data)
                    } else {
                        0
                    }
                }
            };
            self.mem.write(off.saturating_add(BLOCK_DATA), &self.control(c, n, token, data_xor, checksums));
        }
    }

    /// Prepares the blocks of an output chain: links, numbers and tokens, data zeroed (so that a device
    /// that writes less than the output length leaves zeros, never an earlier command's bytes).
    #[inline]
    pub fn prepare_output(&self, c: Chain, token: u8, checksums: bool) {
        if !c.is_empty() {
            self.prepare_blocks(c, token, checksums);
        }
    }

    fn prepare_blocks(&self, c: Chain, token: u8, checksums: bool) {
        for n in 0..c.len() {
            let off = Self::block_offset(c, n);
            self.mem.zero(off, BLOCK_DATA);
            self.mem.write(off.saturating_add(BLOCK_DATA), &self.control(c, n, token, 0, checksums));
        }
    }

    /// Copies the output chain into message bytes `INLINE_BYTES..` of `out`, checking each block's
    /// number and token, and its signatures when `checksums` is set.
    ///
    /// A block whose data lands in one part of `out` is read straight into it (one copy) and checked
    /// there; only a block that straddles the parts or the end of `out` goes through a scratch block.
    #[inline]
    pub fn read_output(&self, c: Chain, token: u8, checksums: bool, out: &mut PartsMut<'_>) -> Result<(), ChainError> {
        let blocks = c.len().min(out.len().saturating_sub(INLINE_BYTES).div_ceil(BLOCK_DATA));
        if blocks == 0 {
            return Ok(());
        }
        self.read_blocks(c, blocks, token, checksums, out)
    }

    fn read_blocks(
        &self,
        c: Chain,
        blocks: usize,
        token: u8,
        checksums: bool,
        out: &mut PartsMut<'_>,
    ) -> Result<(), ChainError> {
        let mut ctrl = [0u8; CTRL_BYTES];
        for n in 0..blocks {
            let off = Self::block_offset(c, n);
            let at = data_offset(n);
            // The control part first, the data next, and only then a look at the control fields: the
            // data copy gives the control copy's stores time to land.
            self.mem.read(off.saturating_add(BLOCK_DATA), &mut ctrl);
            let data_xor = match out.contiguous_mut(at, BLOCK_DATA) {
                Some(dst) => {
                    self.mem.read(off, dst);
                    if checksums {
                        signature::xor(dst)
                    } else {
                        0
                    }
                }
                None => {
                    let mut data = [0u8; BLOCK_DATA];
                    self.mem.read(off, &mut data);
                    out.copy_from(at, &data);
                    if checksums {
                        signature::xor(&data)
                    } else {
                        0
                    }
                }
            };
            let number = ctrl.get(NUMBER_AT..NUMBER_AT + 4).and_then(|b| b.try_into().ok()).map(u32::from_be_bytes);
            if number != Some(n as u32) || ctrl.get(TOKEN_AT) != Some(&token) {
                return Err(ChainError::Mailbox(n as u32));
            }
            if checksums && !signature::control_and_block_ok(&ctrl, data_xor) {
                return Err(ChainError::Signature(n as u32));
            }
        }
        Ok(())
    }
}

/// Where the fields of a block's control part lie in it (from the generated `cmd_if_box`).
const NEXT_AT: usize = CmdIfBox::FIELD_NEXT_POINTER_63_32.offset / 8 - BLOCK_DATA;
const NUMBER_AT: usize = CmdIfBox::FIELD_BLOCK_NUMBER.offset / 8 - BLOCK_DATA;
const TOKEN_AT: usize = CmdIfBox::FIELD_TOKEN.offset / 8 - BLOCK_DATA;
// The next pointer is one big-endian 64-bit address whose low bits (below the alignment the 31_10 field
// leaves) are reserved: writing an aligned address whole is writing both fields.
const _: () = {
    let (hi, lo) = (CmdIfBox::FIELD_NEXT_POINTER_63_32, CmdIfBox::FIELD_NEXT_POINTER_31_10);
    assert!(hi.offset.is_multiple_of(32) && hi.width == 32 && lo.offset == hi.offset + 32);
    assert!(1usize << (32 - lo.width) == BLOCK_STRIDE);
    assert!(CmdIfBox::FIELD_BLOCK_NUMBER.width == 32 && CmdIfBox::FIELD_BLOCK_NUMBER.offset.is_multiple_of(32));
    assert!(CmdIfBox::FIELD_TOKEN.width == 8 && CmdIfBox::FIELD_TOKEN.offset.is_multiple_of(8));
    assert!(CTRL_BYTES == CmdIfBox::SIZE - BLOCK_DATA);
};

/// Where block `n`'s data lies in a message: after the inline bytes and `n` blocks.
fn data_offset(n: usize) -> usize {
    n.saturating_mul(BLOCK_DATA).saturating_add(INLINE_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_come_from_the_layouts() {
        assert_eq!(INLINE_BYTES, 16);
        assert_eq!(BLOCK_DATA, 512);
        assert_eq!(BLOCK_STRIDE, 1024);
        assert_eq!(blocks_for(16), 0);
        assert_eq!(blocks_for(17), 1);
        assert_eq!(blocks_for(16 + 512), 1);
        assert_eq!(blocks_for(16 + 513), 2);
    }

    /// Pool memory for tests.
    struct Mem(core::cell::RefCell<[u8; 8 * BLOCK_STRIDE]>);

    impl DmaMemory for Mem {
        fn bus_addr(&self) -> u64 {
            0x1_2345_4000
        }
        fn len(&self) -> usize {
            8 * BLOCK_STRIDE
        }
        fn read(&self, offset: usize, out: &mut [u8]) {
            out.copy_from_slice(&self.0.borrow()[offset..offset + out.len()]);
        }
        fn write(&self, offset: usize, data: &[u8]) {
            self.0.borrow_mut()[offset..offset + data.len()].copy_from_slice(data);
        }
    }

    #[test]
    fn written_blocks_verify_by_the_whole_block_rule() {
        let pool = MailboxPool::new(Mem(core::cell::RefCell::new([0xee; 8 * BLOCK_STRIDE]))).ok().unwrap();
        let mut pool = pool;
        let msg: [u8; 16 + 3 * BLOCK_DATA - 5] = core::array::from_fn(|i| (i * 31 + 7) as u8);
        let c = pool.alloc(3).unwrap();
        pool.write_input(c, Parts { head: &msg[..100], tail: &msg[100..] }, 0xa5, true);
        let o = pool.alloc(2).unwrap();
        pool.prepare_output(o, 0x3c, true);
        for (chain, n, token) in [(c, 3, 0xa5), (o, 2, 0x3c)] {
            for k in 0..n {
                let mut b = CmdIfBox::ZERO;
                pool.mem.read(MailboxPool::<Mem>::block_offset(chain, k), &mut b.0);
                assert!(signature::block_ok(&b), "block {k} of a chain of {n}");
                assert_eq!((b.block_number(), b.token()), (k as u32, token));
                let next = (u64::from(b.next_pointer_63_32()) << 32) | u64::from(b.next_pointer_31_10() << 10);
                let want = if k + 1 < n { pool.block_addr(usize::from(chain.start) + k + 1) } else { 0 };
                assert_eq!(next, want);
            }
        }
    }

    #[test]
    fn parts_copy() {
        let p = Parts { head: &[1, 2, 3], tail: &[4, 5] };
        let mut d = [9u8; 4];
        p.copy_to(1, &mut d);
        assert_eq!(d, [2, 3, 4, 5]);
        p.copy_to(4, &mut d);
        assert_eq!(d, [5, 0, 0, 0]);
        let (mut h, mut t) = ([0u8; 2], [0u8; 3]);
        let mut o = PartsMut { head: &mut h, tail: &mut t };
        o.copy_from(1, &[7, 8, 9, 10, 11]);
        assert_eq!(h, [0, 7]);
        assert_eq!(t, [8, 9, 10]);
    }
}
