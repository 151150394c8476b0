//! The device side of the command queue: fetching an entry and its input mailboxes, checking them the way
//! firmware does, and writing the output and the completion.
//!
//! Every offset comes from the generated [`CmdQueueEntry`] and [`CmdIfBox`] field descriptions.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::engine::signature;
use crate::layout::{bits, FieldDesc, Layout};
use crate::prm::{CmdIfBox, CmdQueueEntry, CmdXport, DeliveryStatus, MboxInHdr, MboxOutHdr};

use super::dma::DeviceDma;

pub(crate) use crate::engine::mailbox::{blocks_for, BLOCK_DATA, INLINE_BYTES as INLINE};

/// Longest chain the device accepts (2 MiB of data, the fwctl limit).
pub(crate) const MAX_BLOCKS: usize = 4096;

/// Byte just past a field (or array) of a layout.
const fn end_byte(f: FieldDesc) -> usize {
    (f.offset + f.total_bits()) / 8
}

/// Alignment implied by a pointer field `*_31_N`: the N low bits after it in its dword are reserved.
const fn ptr_align(f: FieldDesc) -> u64 {
    1u64 << (32 - (f.offset % 32 + f.width))
}

/// Shortest input a command can have: through the header's op_mod.
pub(crate) const MIN_INPUT: usize = end_byte(MboxInHdr::FIELD_OP_MOD);
/// Shortest output a command can have: through the header's syndrome (ENABLE_HCA's output is 12 bytes).
pub(crate) const MIN_OUTPUT: usize = end_byte(MboxOutHdr::FIELD_SYNDROME);

pub(crate) use crate::engine::signature::{entry_ok as entry_signature_ok, sign_entry};

/// The whole 64-bit input mailbox pointer of an entry, reserved low bits included.
pub(crate) fn input_pointer(e: &CmdQueueEntry) -> u64 {
    bits::get64(e.as_array(), CmdQueueEntry::FIELD_INPUT_MAILBOX_POINTER_63_32.offset)
}

/// The whole 64-bit output mailbox pointer of an entry, reserved low bits included.
pub(crate) fn output_pointer(e: &CmdQueueEntry) -> u64 {
    bits::get64(e.as_array(), CmdQueueEntry::FIELD_OUTPUT_MAILBOX_POINTER_63_32.offset)
}

/// The whole 64-bit next pointer of a block, reserved low bits included.
pub(crate) fn next_pointer(b: &CmdIfBox) -> u64 {
    bits::get64(b.as_array(), CmdIfBox::FIELD_NEXT_POINTER_63_32.offset)
}

/// Byte offset of the status/ownership byte in an entry (written last).
pub(crate) const STATUS_OWN_BYTE: usize = CmdQueueEntry::FIELD_OWNERSHIP.offset / 8;

/// Which chain is being walked (for the delivery status of its errors).
#[derive(Clone, Copy)]
pub(crate) enum Dir {
    In,
    Out,
}

impl Dir {
    fn ptr_error(self) -> DeliveryStatus {
        match self {
            Dir::In => DeliveryStatus::IN_PTR_ALIGN_ERROR,
            Dir::Out => DeliveryStatus::OUT_PTR_ALIGN_ERROR,
        }
    }
    fn length_error(self) -> DeliveryStatus {
        match self {
            Dir::In => DeliveryStatus::IN_LENGTH_ERROR,
            Dir::Out => DeliveryStatus::OUT_LENGTH_ERROR,
        }
    }
}

/// Bytes of a mailbox block (data, then the control part).
const BOX_BYTES: usize = <CmdIfBox as Layout>::SIZE;
/// Words of a mailbox block, of its data and of its control part.
const BOX_WORDS: usize = BOX_BYTES / 8;
const DATA_WORDS: usize = BLOCK_DATA / 8;
/// Bytes of a block's control part (block number, token, next pointer, signatures).
const CTRL_BYTES: usize = BOX_BYTES - BLOCK_DATA;

/// An output mailbox block: its bus address and its control part as the host wrote it (checked).
#[derive(Clone, Copy)]
pub(crate) struct OutBlock {
    pub(crate) addr: u64,
    pub(crate) ctrl: [u8; CTRL_BYTES],
}

/// What a completion does wrong to the output blocks on purpose (fault injection).
#[derive(Clone, Copy, Default)]
pub(crate) struct BlockFaults {
    /// Stamp every block with the complement of the entry's token.
    pub(crate) flip_token: bool,
    /// Added to the first block's block number.
    pub(crate) first_number_add: u32,
    /// XORed into the first block's signature, after signing.
    pub(crate) first_signature_xor: u8,
}

/// XOR of all bytes of the words whose XOR is `acc` (the signature rule of [`signature::xor`], one fold).
fn fold(acc: u64) -> u8 {
    signature::xor(&acc.to_ne_bytes())
}

/// Loads `words` into `dst` (as many bytes as it has, at most all of them), returning the XOR of all the
/// words (also those beyond `dst`, which the signature covers).
fn gather(words: &[AtomicU64], dst: &mut [u8]) -> u64 {
    let full = (dst.len() / 8).min(words.len());
    let (copied, rest) = words.split_at(full);
    // Eight words at a time into eight XOR lanes, so no load waits for another's XOR.
    let mut lanes = [0u64; 8];
    let (dst_full, tail) = dst.split_at_mut(full * 8);
    let mut dst_lines = dst_full.chunks_exact_mut(64);
    let mut src_lines = copied.chunks_exact(8);
    for (d, s) in (&mut dst_lines).zip(&mut src_lines) {
        for ((l, c), w) in lanes.iter_mut().zip(d.chunks_exact_mut(8)).zip(s) {
            let v = w.load(Ordering::Acquire);
            *l ^= v;
            c.copy_from_slice(&v.to_le_bytes());
        }
    }
    let mut acc = lanes.iter().fold(0, |a, l| a ^ l);
    for (c, w) in dst_lines.into_remainder().chunks_exact_mut(8).zip(src_lines.remainder()) {
        let v = w.load(Ordering::Acquire);
        acc ^= v;
        c.copy_from_slice(&v.to_le_bytes());
    }
    let mut rest = rest.iter();
    if !tail.is_empty() {
        if let Some(w) = rest.next() {
            let v = w.load(Ordering::Acquire);
            acc ^= v;
            if let Some(src) = v.to_le_bytes().get(..tail.len()) {
                tail.copy_from_slice(src);
            }
        }
    }
    rest.fold(acc, |a, w| a ^ w.load(Ordering::Acquire))
}

/// Stores `src` into `words`, zero-padded to all of them, returning the XOR of the stored words.
fn scatter(words: &[AtomicU64], src: &[u8]) -> u64 {
    let mut chunks = src.chunks_exact(8);
    let mut acc = 0;
    let mut words = words.iter();
    for (c, w) in (&mut chunks).zip(&mut words) {
        let mut b = [0u8; 8];
        b.copy_from_slice(c);
        let v = u64::from_le_bytes(b);
        acc ^= v;
        w.store(v, Ordering::Release);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        if let Some(w) = words.next() {
            let mut b = [0u8; 8];
            if let Some(d) = b.get_mut(..tail.len()) {
                d.copy_from_slice(tail);
            }
            let v = u64::from_le_bytes(b);
            acc ^= v;
            w.store(v, Ordering::Release);
        }
    }
    for w in words {
        w.store(0, Ordering::Release);
    }
    acc
}

/// Copies the control part of a block's words into `b` (whose data part is not touched).
fn load_control(words: &[AtomicU64], b: &mut CmdIfBox) {
    let ctrl = b.0.get_mut(BLOCK_DATA..).unwrap_or(&mut []);
    for (c, w) in ctrl.chunks_exact_mut(8).zip(words) {
        c.copy_from_slice(&w.load(Ordering::Acquire).to_le_bytes());
    }
}

/// A mailbox chain as the entry describes it.
struct ChainSpec {
    /// Bus address of the first block.
    first: u64,
    /// Blocks the message length needs.
    n: usize,
    /// The entry's token, which every block must carry.
    token: u8,
    /// Whether block signatures are checked.
    verify_sigs: bool,
    dir: Dir,
}

/// Walks a mailbox chain, checking alignment, mapping, block numbers, tokens and (when `verify_sigs`)
/// signatures, in one pass over each block's words. `data(i, words)` gets the data words of block `i` and
/// returns their XOR (it need not read them when `verify_sigs` is off or the chain is an output chain,
/// whose blocks only have their ctrl signature checked); `block` then gets each checked block's bus
/// address and control part.
fn walk_chain(
    dma: &mut DeviceDma,
    c: &ChainSpec,
    mut data: impl FnMut(usize, &[AtomicU64]) -> u64,
    mut block: impl FnMut(u64, &CmdIfBox),
) -> Result<(), DeliveryStatus> {
    let (token, verify_sigs, dir) = (c.token, c.verify_sigs, c.dir);
    if c.n == 0 {
        return Ok(());
    }
    let mut b = CmdIfBox::new();
    let mut ptr = c.first;
    for i in 0..c.n {
        if ptr == 0 {
            return Err(dir.length_error());
        }
        let align = if i == 0 {
            match dir {
                Dir::In => ptr_align(CmdQueueEntry::FIELD_INPUT_MAILBOX_POINTER_31_9),
                Dir::Out => ptr_align(CmdQueueEntry::FIELD_OUTPUT_MAILBOX_POINTER_31_9),
            }
        } else {
            ptr_align(CmdIfBox::FIELD_NEXT_POINTER_31_10)
        };
        if !ptr.is_multiple_of(align) {
            return Err(dir.ptr_error());
        }
        // An unmapped block is reported like a bad pointer (Linux maps both to EFAULT). Buffers start on
        // 8-byte bus addresses and blocks are aligned, so a block is whole words.
        let words = dma.resolve(ptr, BOX_BYTES).and_then(|(r, off)| r.words_at(off, BOX_WORDS));
        let (data_words, ctrl_words) = words.ok_or(dir.ptr_error())?.split_at(DATA_WORDS);
        load_control(ctrl_words, &mut b);
        if b.block_number() as usize != i {
            return Err(DeliveryStatus::BAD_BLOCK_NUMBER);
        }
        if b.token() != token {
            return Err(DeliveryStatus::TOKEN_ERROR);
        }
        let acc = data(i, data_words);
        let signed = match dir {
            // Input: both signatures, the block signature over the data just read.
            Dir::In => signature::block_control_ok(&b, fold(acc)),
            // Output: the data part is the device's to write, so only the control part it walks by is
            // checked (what the ctrl signature is for); blocks the device writes are signed anew.
            Dir::Out => signature::ctrl_ok(&b),
        };
        if verify_sigs && !signed {
            return Err(DeliveryStatus::SIGNATURE_ERROR);
        }
        block(ptr, &b);
        ptr = next_pointer(&b);
    }
    Ok(())
}

/// Delivery checks and input fetch; the entry's type, ownership and signature were checked by the caller.
///
/// Leaves the whole input message (inline bytes, then block data, `input_length` bytes) at the start of
/// `input` (which only grows, so a reused buffer does not allocate) and the checked output chain in
/// `out_blocks`; returns the input length.
pub(crate) fn fetch(
    dma: &mut DeviceDma,
    e: &CmdQueueEntry,
    verify_sigs: bool,
    input: &mut Vec<u8>,
    out_blocks: &mut Vec<OutBlock>,
) -> Result<usize, DeliveryStatus> {
    let in_len = e.input_length() as usize;
    let out_len = e.output_length() as usize;
    let max = INLINE + MAX_BLOCKS * BLOCK_DATA;
    if !(MIN_INPUT..=max).contains(&in_len) {
        return Err(DeliveryStatus::IN_LENGTH_ERROR);
    }
    if !(MIN_OUTPUT..=max).contains(&out_len) {
        return Err(DeliveryStatus::OUT_LENGTH_ERROR);
    }
    if input.len() < in_len {
        input.resize(in_len, 0);
    }
    let msg = input.get_mut(..in_len).unwrap_or(&mut []);
    let (inline, rest) = msg.split_at_mut(in_len.min(INLINE));
    if let Some(src) = e.command_input_inline_data_bytes().get(..inline.len()) {
        inline.copy_from_slice(src);
    }
    // Every byte of the message is written: the chain has a block for every 512 bytes after the inline ones.
    let mut chunks = rest.chunks_mut(BLOCK_DATA);
    let copy = |_: usize, words: &[AtomicU64]| gather(words, chunks.next().unwrap_or(&mut []));
    let spec =
        ChainSpec { first: input_pointer(e), n: blocks_for(in_len), token: e.token(), verify_sigs, dir: Dir::In };
    walk_chain(dma, &spec, copy, |_, _| {})?;
    out_blocks.clear();
    let keep = |addr: u64, b: &CmdIfBox| {
        let mut ctrl = [0u8; CTRL_BYTES];
        if let Some(src) = b.0.get(BLOCK_DATA..) {
            ctrl.copy_from_slice(src);
        }
        out_blocks.push(OutBlock { addr, ctrl });
    };
    let spec =
        ChainSpec { first: output_pointer(e), n: blocks_for(out_len), token: e.token(), verify_sigs, dir: Dir::Out };
    walk_chain(dma, &spec, |_, _| 0, keep)?;
    Ok(in_len)
}

/// Places the start of `output` (already cut to `output_length`) in the entry's inline output, zero-padded.
pub(crate) fn place_inline_output(e: &mut CmdQueueEntry, output: &[u8]) {
    let dst = e.command_output_inline_data_bytes_mut();
    dst.fill(0);
    let n = output.len().min(INLINE).min(dst.len());
    if let (Some(d), Some(s)) = (dst.get_mut(..n), output.get(..n)) {
        d.copy_from_slice(s);
    }
}

/// Writes the output blocks of a completion straight into host memory.
///
/// A block that carries output bytes (those of `output` after the inline ones) is written whole: its data
/// (zero-padded to the end of the block) and its control part as the host wrote it, with the block number
/// and `token` stamped and both signatures computed. A block past the output is not written at all: it
/// keeps what the host prepared (the engine, like Linux, zeroes and signs its output blocks), as a device
/// that DMA-writes only the output it has. Injected block faults write the blocks they corrupt (signed
/// over the data they hold, then corrupted). Returns the number of blocks that hit unmapped memory.
pub(crate) fn write_out_blocks(
    dma: &mut DeviceDma,
    blocks: &[OutBlock],
    output: &[u8],
    token: u8,
    faults: BlockFaults,
) -> u64 {
    let data = output.get(INLINE..).unwrap_or(&[]);
    // The blocks carrying output, or more when a fault corrupts them.
    let written = if faults.flip_token {
        blocks.len()
    } else {
        let first_corrupted = faults.first_number_add != 0 || faults.first_signature_xor != 0;
        data.len().div_ceil(BLOCK_DATA).max(usize::from(first_corrupted))
    };
    if written == 0 {
        return 0;
    }
    let chunks = data.chunks(BLOCK_DATA).map(Some).chain(core::iter::repeat(None));
    let mut dma_faults = 0;
    let mut b = CmdIfBox::new();
    for (i, (ob, chunk)) in blocks.iter().zip(chunks).take(written).enumerate() {
        let first = i == 0;
        let Some(words) = dma.resolve(ob.addr, BOX_BYTES).and_then(|(r, off)| r.words_at(off, BOX_WORDS)) else {
            dma_faults += 1;
            continue;
        };
        let (data_words, ctrl_words) = words.split_at(DATA_WORDS);
        if let Some(ctrl) = b.0.get_mut(BLOCK_DATA..) {
            ctrl.copy_from_slice(&ob.ctrl);
        }
        let number = u32::try_from(i).unwrap_or(u32::MAX);
        b.set_block_number(if first { number.wrapping_add(faults.first_number_add) } else { number });
        b.set_token(if faults.flip_token { !token } else { token });
        let acc = match chunk {
            Some(chunk) => scatter(data_words, chunk),
            None => xor_words(data_words),
        };
        signature::sign_block_control(&mut b, fold(acc));
        if first {
            b.set_signature(b.signature() ^ faults.first_signature_xor);
        }
        scatter(ctrl_words, b.0.get(BLOCK_DATA..).unwrap_or(&[]));
    }
    dma_faults
}

/// XOR of `words`, eight lanes at a time (the loads of one lane do not wait for another's).
fn xor_words(words: &[AtomicU64]) -> u64 {
    let mut lanes = [0u64; 8];
    let mut chunks = words.chunks_exact(8);
    for c in &mut chunks {
        for (l, w) in lanes.iter_mut().zip(c) {
            *l ^= w.load(Ordering::Acquire);
        }
    }
    let rest = chunks.remainder().iter().fold(0, |a, w| a ^ w.load(Ordering::Acquire));
    lanes.iter().fold(rest, |a, l| a ^ l)
}

/// Checks an entry's type, returning the delivery status for a bad one.
pub(crate) fn check_type(e: &CmdQueueEntry) -> Result<(), DeliveryStatus> {
    if e.r#type() == CmdXport::PCI {
        Ok(())
    } else {
        Err(DeliveryStatus::BAD_DESCRIPTOR_TYPE)
    }
}
