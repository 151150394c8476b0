//! The DMA memory model: a bus of buffers with fake bus addresses, shared by host and device.
//!
//! [`SimBus`] hands out [`SimDma`] buffers. Each buffer is a run of `AtomicU64` words, so the host (through
//! [`DmaMemory`]) and the device (through the bus, by bus address) can touch the same bytes from different
//! threads without `unsafe`. Whole words are copied with one atomic load or store each; only the bytes at
//! the edges of a range take a compare-and-swap. Stores are `Release` and loads `Acquire`, so a device that
//! writes an output and then clears the ownership bit publishes the output to a host that sees the bit clear.
//!
//! Bus addresses start at `0x1_0000_0000`, are aligned as asked, are never 0 and are never reused; buffers
//! are separated by an unmapped guard gap, so an overrun or a stale pointer is a DMA fault, not a silent hit
//! on another buffer. Dropping a [`SimDma`] unmaps it.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::sync::{lock, read, write, Mutex, RwLock};
use crate::host::{DmaMemory, PageProvider, FW_PAGE_SIZE};

/// First bus address the bus hands out.
const BUS_BASE: u64 = 0x1_0000_0000;
/// Unmapped bytes left after every buffer.
const GUARD_GAP: u64 = 0x1000;

/// Something that wants to know when the host reads a watched buffer (the device watching its queue page,
/// to model "complete after N polls of the entry").
pub(crate) trait HostPollWatcher: Send + Sync {
    /// The host is about to read the watched buffer.
    fn on_host_poll(&self);
}

/// The memory behind one buffer.
pub(crate) struct Region {
    base: u64,
    len: usize,
    /// The words, plus up to seven spare ones in front so that the buffer starts on a cache line
    /// (a queue entry is then one line, as on hardware, and host and device threads share no more lines
    /// than the bytes they exchange).
    storage: Box<[AtomicU64]>,
    /// Index in `storage` of the buffer's first word, and one past its last.
    start: usize,
    end: usize,
    /// Whether host reads call the watcher (the watcher decides; a plain load on the host's poll path).
    watched: AtomicBool,
    /// Cleared when the host drops the buffer, so a device holding on to the region still faults.
    mapped: AtomicBool,
    watcher: Mutex<Option<Weak<dyn HostPollWatcher>>>,
}

impl Region {
    fn new(base: u64, len: usize) -> Self {
        const LINE: usize = 64;
        let n = len.div_ceil(8);
        let storage: Box<[AtomicU64]> = (0..n + LINE / 8 - 1).map(|_| AtomicU64::new(0)).collect();
        // Reading the address is safe; only the index of the first line-aligned word is derived from it.
        let misalign = (storage.as_ptr() as usize) % LINE;
        let start = if misalign == 0 { 0 } else { (LINE - misalign) / 8 };
        Region {
            base,
            len,
            storage,
            start,
            end: start + n,
            watched: AtomicBool::new(false),
            mapped: AtomicBool::new(true),
            watcher: Mutex::new(None),
        }
    }

    /// Makes host reads call the watcher (`on`) or not. Only the watcher set by [`SimBus::watch`] is ever
    /// called.
    pub(crate) fn set_watched(&self, on: bool) {
        self.watched.store(on, Ordering::Release);
    }

    /// Copies bytes from `offset` into `out`; bytes beyond the end read as zero.
    ///
    /// The two accesses on every command's path take no detour: a read inside one word (a poll of the
    /// ownership byte) is one load, and a whole-word read (an entry, a mailbox block) a plain loop.
    #[inline]
    fn read(&self, offset: usize, out: &mut [u8]) {
        let at = offset % 8;
        if let [byte] = out {
            if offset < self.len {
                if let Some(w) = self.words().get(offset / 8) {
                    *byte = (w.load(Ordering::Acquire) >> (8 * at)) as u8;
                    return;
                }
            }
        } else if at == 0 && out.len().is_multiple_of(8) {
            if let Some(words) = self.words().get(offset / 8..).and_then(|w| w.get(..out.len() / 8)) {
                for (c, w) in out.chunks_exact_mut(8).zip(words) {
                    c.copy_from_slice(&w.load(Ordering::Acquire).to_le_bytes());
                }
                return;
            }
        }
        self.read_any(offset, out);
    }

    /// [`Region::read`] of any range: partial words at either end, bytes past the buffer read as zero.
    #[inline(never)]
    fn read_any(&self, offset: usize, out: &mut [u8]) {
        let n = out.len().min(self.len.saturating_sub(offset));
        let (inside, outside) = out.split_at_mut(n);
        if !outside.is_empty() {
            outside.fill(0);
        }
        if inside.is_empty() {
            return;
        }
        let mut pos = offset;
        let head = ((8 - pos % 8) % 8).min(inside.len());
        let (h, rest) = inside.split_at_mut(head);
        if !h.is_empty() {
            let word = self.load(pos / 8) >> (8 * (pos % 8));
            for (k, o) in h.iter_mut().enumerate() {
                *o = (word >> (8 * k)) as u8;
            }
            pos += head;
        }
        // From here `pos` is on a word: whole words, then the first bytes of one more.
        let words = self.words().get(pos / 8..).unwrap_or(&[]);
        let mut chunks = rest.chunks_exact_mut(8);
        let mut words = words.iter();
        for (c, w) in (&mut chunks).zip(&mut words) {
            c.copy_from_slice(&w.load(Ordering::Acquire).to_le_bytes());
        }
        let tail = chunks.into_remainder();
        if !tail.is_empty() {
            let word = words.next().map_or(0, |w| w.load(Ordering::Acquire)).to_le_bytes();
            if let Some(src) = word.get(..tail.len()) {
                tail.copy_from_slice(src);
            }
        }
    }

    /// Copies `data` to `offset`; bytes beyond the end are dropped.
    #[inline]
    fn write(&self, offset: usize, data: &[u8]) {
        if offset.is_multiple_of(8) && data.len().is_multiple_of(8) {
            if let Some(words) = self.words().get(offset / 8..).and_then(|w| w.get(..data.len() / 8)) {
                for (c, w) in data.chunks_exact(8).zip(words) {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(c);
                    w.store(u64::from_le_bytes(b), Ordering::Release);
                }
                return;
            }
        }
        self.write_any(offset, data);
    }

    /// [`Region::write`] of any range: partial words at either end merged in, bytes past the buffer dropped.
    #[inline(never)]
    fn write_any(&self, offset: usize, data: &[u8]) {
        let n = data.len().min(self.len.saturating_sub(offset));
        let Some(inside) = data.get(..n) else { return };
        if inside.is_empty() {
            return;
        }
        let mut pos = offset;
        let head = ((8 - pos % 8) % 8).min(inside.len());
        let (h, rest) = inside.split_at(head);
        if !h.is_empty() {
            self.merge(pos / 8, pos % 8, h);
            pos += head;
        }
        let first = pos / 8;
        let used = rest.len() / 8;
        let (body, tail) = rest.split_at(used * 8);
        let words = self.words().get(first..first.saturating_add(used)).unwrap_or(&[]);
        for (c, w) in body.chunks_exact(8).zip(words) {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            w.store(u64::from_le_bytes(b), Ordering::Release);
        }
        if !tail.is_empty() {
            self.merge(first + used, 0, tail);
        }
    }

    /// Sets `len` bytes from `offset` to zero (whole words stored, partial ones merged); bytes beyond the
    /// end are dropped.
    fn zero(&self, offset: usize, len: usize) {
        let end = offset.saturating_add(len).min(self.len);
        if offset >= end {
            return;
        }
        let first_whole = offset.next_multiple_of(8).min(end);
        let last_whole = (end / 8 * 8).max(first_whole);
        if offset < first_whole {
            self.merge(offset / 8, offset % 8, [0; 8].get(..first_whole - offset).unwrap_or(&[]));
        }
        for w in self.words().get(first_whole / 8..last_whole / 8).unwrap_or(&[]) {
            w.store(0, Ordering::Release);
        }
        if last_whole < end {
            self.merge(last_whole / 8, 0, [0; 8].get(..end - last_whole).unwrap_or(&[]));
        }
    }

    /// The `n` words from byte `offset` (which must be a multiple of 8), for the device's word-wise copies.
    pub(crate) fn words_at(&self, offset: usize, n: usize) -> Option<&[AtomicU64]> {
        if !offset.is_multiple_of(8) {
            return None;
        }
        self.words().get(offset / 8..(offset / 8).checked_add(n)?)
    }

    /// All words of the buffer.
    #[inline]
    fn words(&self) -> &[AtomicU64] {
        self.storage.get(self.start..self.end).unwrap_or(&[])
    }

    /// The byte offset of `[addr, addr + len)` in this buffer, if it is mapped and contains the range.
    fn offset_of(&self, addr: u64, len: usize) -> Option<usize> {
        if !self.mapped.load(Ordering::Acquire) {
            return None;
        }
        let off = usize::try_from(addr.checked_sub(self.base)?).ok()?;
        (off.checked_add(len)? <= self.len).then_some(off)
    }

    fn load(&self, i: usize) -> u64 {
        self.words().get(i).map_or(0, |w| w.load(Ordering::Acquire))
    }

    /// Replaces `data.len()` bytes of word `i` starting at byte `start`, atomically with respect to the
    /// other bytes of the word.
    fn merge(&self, i: usize, start: usize, data: &[u8]) {
        let Some(w) = self.words().get(i) else { return };
        let (mut val, mut mask) = (0u64, 0u64);
        // At most eight bytes: a byte loop, no call to `memcpy`.
        for (k, b) in data.iter().take(8usize.saturating_sub(start)).enumerate() {
            let sh = 8 * (start + k);
            val |= u64::from(*b) << sh;
            mask |= 0xff << sh;
        }
        let mut old = w.load(Ordering::Acquire);
        loop {
            match w.compare_exchange_weak(old, (old & !mask) | val, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return,
                Err(now) => old = now,
            }
        }
    }

    #[inline]
    fn notify_watcher(&self) {
        if !self.watched.load(Ordering::Acquire) {
            return;
        }
        self.notify_slow();
    }

    #[cold]
    fn notify_slow(&self) {
        let watcher = lock(&self.watcher).as_ref().and_then(Weak::upgrade);
        if let Some(w) = watcher {
            w.on_host_poll();
        }
    }
}

/// A DMA fault: the device touched a bus address range that no live buffer covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DmaFault {
    /// The first bus address of the access.
    pub addr: u64,
    /// Its length in bytes.
    pub len: usize,
}

/// The simulated bus: every DMA buffer the host allocated, by bus address.
///
/// Shared between the host side (which allocates [`SimDma`] buffers and [`SimPages`]) and the device (which
/// resolves the bus addresses it finds in queue entries, mailboxes and page lists). Create it with
/// [`SimBus::new`], which returns an `Arc`.
pub struct SimBus {
    map: RwLock<BTreeMap<u64, Arc<Region>>>,
    next: Mutex<u64>,
}

impl core::fmt::Debug for SimBus {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SimBus").field("buffers", &self.buffers()).finish()
    }
}

impl SimBus {
    /// An empty bus.
    pub fn new() -> Arc<SimBus> {
        Arc::new(SimBus { map: RwLock::new(BTreeMap::new()), next: Mutex::new(BUS_BASE) })
    }

    /// Allocates a zeroed buffer of `len` bytes whose bus address is a multiple of `align` (rounded up to a
    /// power of two; at least 8).
    pub fn alloc(self: &Arc<Self>, len: usize, align: usize) -> SimDma {
        let align = (align.max(8).checked_next_power_of_two().unwrap_or(1 << 20)) as u64;
        let base = {
            let mut next = lock(&self.next);
            let base = next.div_ceil(align).saturating_mul(align);
            *next = base.saturating_add(len as u64).saturating_add(GUARD_GAP);
            base
        };
        let region = Arc::new(Region::new(base, len));
        write(&self.map).insert(base, Arc::clone(&region));
        SimDma { region, bus: Arc::downgrade(self) }
    }

    /// Number of live buffers (a leak check for tests).
    pub fn buffers(&self) -> usize {
        read(&self.map).len()
    }

    /// Whether `len` bytes at bus address `addr` all lie inside one live buffer.
    pub fn is_mapped(&self, addr: u64, len: usize) -> bool {
        self.find(addr, len).is_some()
    }

    /// Reads bus memory the way the device does: a fault when the range is not inside one live buffer.
    pub fn dma_read(&self, addr: u64, out: &mut [u8]) -> Result<(), DmaFault> {
        let (r, off) = self.find(addr, out.len()).ok_or(DmaFault { addr, len: out.len() })?;
        r.read(off, out);
        Ok(())
    }

    /// Writes bus memory the way the device does: a fault when the range is not inside one live buffer.
    pub fn dma_write(&self, addr: u64, data: &[u8]) -> Result<(), DmaFault> {
        let (r, off) = self.find(addr, data.len()).ok_or(DmaFault { addr, len: data.len() })?;
        r.write(off, data);
        Ok(())
    }

    /// The buffer containing `[addr, addr + len)` and the offset of `addr` in it.
    fn find(&self, addr: u64, len: usize) -> Option<(Arc<Region>, usize)> {
        let map = read(&self.map);
        let (_, r) = map.range(..=addr).next_back()?;
        let off = usize::try_from(addr.checked_sub(r.base)?).ok()?;
        if off.checked_add(len)? > r.len {
            return None;
        }
        Some((Arc::clone(r), off))
    }

    /// Makes `watcher` the watcher of the buffer containing `addr` (and of no other) and returns that
    /// buffer; the watcher turns the calls on and off with [`Region::set_watched`].
    pub(crate) fn watch(&self, addr: u64, watcher: Weak<dyn HostPollWatcher>) -> Option<Arc<Region>> {
        let map = read(&self.map);
        for r in map.values() {
            let mut w = lock(&r.watcher);
            if w.as_ref().is_some_and(|w| w.ptr_eq(&watcher)) {
                *w = None;
                r.watched.store(false, Ordering::Release);
            }
        }
        drop(map);
        let (r, _) = self.find(addr, 1)?;
        *lock(&r.watcher) = Some(watcher);
        Some(r)
    }

    fn unmap(&self, region: &Region) {
        region.mapped.store(false, Ordering::Release);
        write(&self.map).remove(&region.base);
    }
}

/// Buffers [`DeviceDma`] remembers besides the queue page.
const RECENT: usize = 4;

/// The device's side of the bus: resolves bus addresses through the queue page and the last few buffers
/// hit before it looks in the bus map (a lock and a tree walk). A buffer the host dropped is unmapped
/// (its `mapped` flag is cleared), so a DMA to it is still a fault even while it is remembered here.
pub(crate) struct DeviceDma {
    bus: Arc<SimBus>,
    queue: Option<Arc<Region>>,
    recent: [Option<Arc<Region>>; RECENT],
    next: usize,
}

impl DeviceDma {
    pub(crate) fn new(bus: Arc<SimBus>) -> Self {
        DeviceDma { bus, queue: None, recent: Default::default(), next: 0 }
    }

    /// The buffer holding the command queue, if the host programmed a mapped address.
    pub(crate) fn queue_page(&self) -> Option<&Region> {
        self.queue.as_deref()
    }

    /// Remembers the buffer holding the command queue (resolved when the host programs its address).
    pub(crate) fn set_queue_page(&mut self, r: Option<Arc<Region>>) {
        self.queue = r;
    }

    /// The live buffer containing `[addr, addr + len)` and the offset of `addr` in it.
    pub(crate) fn resolve(&mut self, addr: u64, len: usize) -> Option<(&Region, usize)> {
        if let Some(q) = &self.queue {
            if let Some(off) = q.offset_of(addr, len) {
                return Some((q, off));
            }
        }
        let hit = self.recent.iter().position(|r| r.as_ref().and_then(|r| r.offset_of(addr, len)).is_some());
        let i = match hit {
            Some(i) => i,
            None => {
                let (r, _) = self.bus.find(addr, len)?;
                let i = self.next % RECENT;
                self.next = i.wrapping_add(1);
                let slot = self.recent.get_mut(i)?;
                *slot = Some(r);
                i
            }
        };
        let r = self.recent.get(i)?.as_deref()?;
        Some((r, r.offset_of(addr, len)?))
    }

    /// Reads bus memory: a fault when the range is not inside one live buffer.
    pub(crate) fn read(&mut self, addr: u64, out: &mut [u8]) -> Result<(), DmaFault> {
        let (r, off) = self.resolve(addr, out.len()).ok_or(DmaFault { addr, len: out.len() })?;
        r.read(off, out);
        Ok(())
    }

    /// Writes bus memory: a fault when the range is not inside one live buffer.
    pub(crate) fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), DmaFault> {
        let (r, off) = self.resolve(addr, data.len()).ok_or(DmaFault { addr, len: data.len() })?;
        r.write(off, data);
        Ok(())
    }
}

/// A DMA buffer on a [`SimBus`]: host-visible bytes plus the bus address the device uses.
///
/// Implements [`DmaMemory`]. Dropping it unmaps it from the bus; a device access to it afterwards is a DMA
/// fault.
pub struct SimDma {
    region: Arc<Region>,
    bus: Weak<SimBus>,
}

impl core::fmt::Debug for SimDma {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SimDma")
            .field("bus_addr", &format_args!("{:#x}", self.region.base))
            .field("len", &self.region.len)
            .finish()
    }
}

impl DmaMemory for SimDma {
    fn bus_addr(&self) -> u64 {
        self.region.base
    }
    fn len(&self) -> usize {
        self.region.len
    }
    fn read(&self, offset: usize, out: &mut [u8]) {
        self.region.notify_watcher();
        self.region.read(offset, out);
    }
    fn write(&self, offset: usize, data: &[u8]) {
        self.region.write(offset, data);
    }
    fn zero(&self, offset: usize, len: usize) {
        self.region.zero(offset, len);
    }
}

impl Drop for SimDma {
    fn drop(&mut self) {
        match self.bus.upgrade() {
            Some(bus) => bus.unmap(&self.region),
            None => self.region.mapped.store(false, Ordering::Release),
        }
    }
}

/// A [`PageProvider`] that gives zeroed, 4 KiB aligned pages from a [`SimBus`] and tracks them.
pub struct SimPages {
    bus: Arc<SimBus>,
    out: BTreeMap<u64, SimDma>,
    limit: Option<usize>,
}

impl core::fmt::Debug for SimPages {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SimPages").field("pages_out", &self.out.len()).field("limit", &self.limit).finish()
    }
}

impl SimPages {
    /// A provider with no limit.
    pub fn new(bus: &Arc<SimBus>) -> Self {
        SimPages { bus: Arc::clone(bus), out: BTreeMap::new(), limit: None }
    }

    /// A provider that refuses to have more than `limit` pages out (to test allocation failure).
    pub fn with_limit(bus: &Arc<SimBus>, limit: usize) -> Self {
        SimPages { bus: Arc::clone(bus), out: BTreeMap::new(), limit: Some(limit) }
    }

    /// The bus addresses currently given out, sorted.
    pub fn addresses(&self) -> Vec<u64> {
        self.out.keys().copied().collect()
    }
}

impl PageProvider for SimPages {
    fn alloc_page(&mut self) -> Option<u64> {
        if self.limit.is_some_and(|l| self.out.len() >= l) {
            return None;
        }
        let page = self.bus.alloc(FW_PAGE_SIZE, FW_PAGE_SIZE);
        let addr = page.bus_addr();
        self.out.insert(addr, page);
        Some(addr)
    }

    fn free_page(&mut self, bus_addr: u64) -> bool {
        self.out.remove(&bus_addr).is_some()
    }

    fn pages_out(&self) -> usize {
        self.out.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unaligned_ranges_round_trip() {
        let bus = SimBus::new();
        let b = bus.alloc(100, 64);
        assert_eq!(b.bus_addr() % 64, 0);
        let data: Vec<u8> = (0..37u8).collect();
        b.write(3, &data);
        let mut out = [0u8; 37];
        b.read(3, &mut out);
        assert_eq!(&out[..], &data[..]);
        let mut all = [0xaau8; 110];
        b.read(0, &mut all);
        assert_eq!(all[0..3], [0, 0, 0]);
        assert_eq!(all[100..], [0; 10]);
        let mut dev = [0u8; 4];
        bus.dma_read(b.bus_addr() + 3, &mut dev).unwrap();
        assert_eq!(dev, [0, 1, 2, 3]);
        assert!(bus.dma_read(b.bus_addr() + 98, &mut dev).is_err());
        for (at, n) in [(0, 100), (5, 2), (6, 13), (16, 8), (90, 50)] {
            let ones = [0xffu8; 100];
            b.write(0, &ones);
            b.zero(at, n);
            b.read(0, &mut all[..100]);
            for (i, x) in all[..100].iter().enumerate() {
                assert_eq!(*x, if i >= at && i < at + n { 0 } else { 0xff }, "zero({at}, {n}) byte {i}");
            }
        }
        let addr = b.bus_addr();
        drop(b);
        assert!(!bus.is_mapped(addr, 1));
    }
}
