//! The device side of the command queue: fetching an entry and its input mailboxes, checking them the way
//! firmware does, and writing the output and the completion.
//!
//! Every offset comes from the generated [`CmdQueueEntry`] and [`CmdIfBox`] field descriptions.

use alloc::vec;
use alloc::vec::Vec;

use crate::layout::{bits, FieldDesc};
use crate::prm::{CmdIfBox, CmdQueueEntry, CmdXport, DeliveryStatus, MboxInHdr, MboxOutHdr};

use super::dma::SimBus;

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

pub(crate) use crate::engine::signature::{
    block_ok as block_signatures_ok, entry_ok as entry_signature_ok, sign_block, sign_entry,
};

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

/// Walks a mailbox chain of `n` blocks from `first`, checking alignment, mapping, block numbers, tokens and
/// (when `verify_sigs`) signatures. Returns each block with its bus address.
pub(crate) fn read_chain(
    bus: &SimBus,
    first: u64,
    n: usize,
    token: u8,
    verify_sigs: bool,
    dir: Dir,
) -> Result<Vec<(u64, CmdIfBox)>, DeliveryStatus> {
    let mut out = Vec::with_capacity(n);
    let mut ptr = first;
    for i in 0..n {
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
        let mut b = CmdIfBox::new();
        // An unmapped block is reported like a bad pointer (Linux maps both to EFAULT).
        bus.dma_read(ptr, &mut b.0).map_err(|_| dir.ptr_error())?;
        if b.block_number() as usize != i {
            return Err(DeliveryStatus::BAD_BLOCK_NUMBER);
        }
        if b.token() != token {
            return Err(DeliveryStatus::TOKEN_ERROR);
        }
        if verify_sigs && !block_signatures_ok(&b) {
            return Err(DeliveryStatus::SIGNATURE_ERROR);
        }
        out.push((ptr, b));
        ptr = next_pointer(&b);
    }
    Ok(out)
}

/// Checks the lengths and pointers of an entry and fetches its input message and output chain.
pub(crate) struct Fetched {
    /// The whole input message (inline bytes, then block data), `input_length` bytes.
    pub(crate) input: Vec<u8>,
    /// The output chain, checked; its blocks receive the output.
    pub(crate) out_blocks: Vec<(u64, CmdIfBox)>,
}

/// Delivery checks and input fetch; the entry's type, ownership and signature were checked by the caller.
pub(crate) fn fetch(bus: &SimBus, e: &CmdQueueEntry, verify_sigs: bool) -> Result<Fetched, DeliveryStatus> {
    let in_len = e.input_length() as usize;
    let out_len = e.output_length() as usize;
    let max = INLINE + MAX_BLOCKS * BLOCK_DATA;
    if !(MIN_INPUT..=max).contains(&in_len) {
        return Err(DeliveryStatus::IN_LENGTH_ERROR);
    }
    if !(MIN_OUTPUT..=max).contains(&out_len) {
        return Err(DeliveryStatus::OUT_LENGTH_ERROR);
    }
    let in_blocks = read_chain(bus, input_pointer(e), blocks_for(in_len), e.token(), verify_sigs, Dir::In)?;
    let out_blocks = read_chain(bus, output_pointer(e), blocks_for(out_len), e.token(), verify_sigs, Dir::Out)?;
    let mut input = vec![0u8; in_len];
    let (inline, rest) = input.split_at_mut(in_len.min(INLINE));
    if let Some(src) = e.command_input_inline_data_bytes().get(..inline.len()) {
        inline.copy_from_slice(src);
    }
    for (chunk, (_, b)) in rest.chunks_mut(BLOCK_DATA).zip(&in_blocks) {
        if let Some(src) = b.mailbox_data_bytes().get(..chunk.len()) {
            chunk.copy_from_slice(src);
        }
    }
    Ok(Fetched { input, out_blocks })
}

/// Places `output` (already `output_length` bytes) into the entry's inline output and the output blocks,
/// stamping block numbers and tokens and signing each block.
pub(crate) fn place_output(e: &mut CmdQueueEntry, blocks: &mut [(u64, CmdIfBox)], output: &[u8]) {
    let (inline, rest) = output.split_at(output.len().min(INLINE));
    let dst = e.command_output_inline_data_bytes_mut();
    dst.fill(0);
    if let Some(d) = dst.get_mut(..inline.len()) {
        d.copy_from_slice(inline);
    }
    let token = e.token();
    let mut chunks = rest.chunks(BLOCK_DATA);
    for (i, (_, b)) in blocks.iter_mut().enumerate() {
        let data = b.mailbox_data_bytes_mut();
        data.fill(0);
        if let Some(chunk) = chunks.next() {
            if let Some(d) = data.get_mut(..chunk.len()) {
                d.copy_from_slice(chunk);
            }
        }
        b.set_block_number(u32::try_from(i).unwrap_or(u32::MAX));
        b.set_token(token);
        sign_block(b);
    }
}

/// Checks an entry's type, returning the delivery status for a bad one.
pub(crate) fn check_type(e: &CmdQueueEntry) -> Result<(), DeliveryStatus> {
    if e.r#type() == CmdXport::PCI {
        Ok(())
    } else {
        Err(DeliveryStatus::BAD_DESCRIPTOR_TYPE)
    }
}
