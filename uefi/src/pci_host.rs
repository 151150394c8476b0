//! The host adapter for a real ConnectX in UEFI: BAR0, DMA memory and firmware pages through the PCI I/O
//! protocol (UEFI specification, "EFI PCI I/O Protocol").
//!
//! - [`PciMmio`]: `PciIo.Mem.Read` / `Mem.Write` on BAR 0 with `EfiPciIoWidthUint32`. Those return the
//!   little-endian reading of the 4 bytes, which is exactly what [`Mmio`] expects (the engine swaps the
//!   big-endian registers itself). A failed access reads as all ones, like a PCI read of a missing device.
//! - [`PciDma`]: `PciIo.AllocateBuffer` (whole 4 KiB pages, so 4 KiB aligned) then
//!   `Map(BusMasterCommonBuffer)`; the device address comes from `Map`. Dropping it unmaps and frees it.
//! - [`PciPages`]: a [`PageProvider`] giving firmware one such page per request.
//! - Delays are `Stall`s ([`crate::clock::StallClock`]).
//!
//! The `uefi` crate (0.41) has no PCI I/O protocol, so [`PciIo`] declares it per the specification.
//!
//! This cannot run without a ConnectX; CI builds it, and the application uses [`PciIo::config_read32`] to
//! look for one (vendor 0x15b3) on every PCI function the firmware enumerated.

use alloc::vec::Vec;
use core::ffi::c_void;
use core::ptr::{self, NonNull};

use mlx5_cmdif::host::{DmaMemory, Mmio, PageProvider, FW_PAGE_SIZE};
use uefi::proto::unsafe_protocol;
use uefi::Status;

/// PCI vendor id of Mellanox / NVIDIA networking.
pub const MELLANOX_VENDOR_ID: u16 = 0x15b3;

/// `EFI_PCI_IO_PROTOCOL_WIDTH`: `EfiPciIoWidthUint32`.
const WIDTH_UINT32: u32 = 2;
/// `EFI_PCI_IO_PROTOCOL_OPERATION`: `EfiPciIoOperationBusMasterCommonBuffer`.
const OP_BUS_MASTER_COMMON_BUFFER: u32 = 2;
/// `EFI_ALLOCATE_TYPE`: `AllocateAnyPages`.
const ALLOCATE_ANY_PAGES: u32 = 0;
/// `EFI_MEMORY_TYPE`: `EfiBootServicesData`.
const BOOT_SERVICES_DATA: u32 = 4;
/// `EFI_PCI_IO_PROTOCOL_ATTRIBUTE_OPERATION`: `EfiPciIoAttributeOperationEnable`.
const ATTR_OP_ENABLE: u32 = 2;
/// `EFI_PCI_IO_ATTRIBUTE_MEMORY`: memory space decoding.
const ATTR_MEMORY: u64 = 0x0002;
/// `EFI_PCI_IO_ATTRIBUTE_BUS_MASTER`: the device may do DMA.
const ATTR_BUS_MASTER: u64 = 0x0004;
/// The BAR holding the initialization segment.
const BAR0: u8 = 0;
/// UEFI pages are 4 KiB, as firmware pages are: one AllocateBuffer page is one firmware page.
const UEFI_PAGE: usize = 4096;
const _: () = assert!(UEFI_PAGE == FW_PAGE_SIZE);

type PollIoMem = unsafe extern "efiapi" fn(*mut PciIo, u32, u8, u64, u64, u64, u64, *mut u64) -> Status;
type IoMem = unsafe extern "efiapi" fn(*mut PciIo, u32, u8, u64, usize, *mut c_void) -> Status;
type ConfigAccess = unsafe extern "efiapi" fn(*mut PciIo, u32, u32, usize, *mut c_void) -> Status;

/// `EFI_PCI_IO_PROTOCOL_ACCESS`: a read and a write function.
#[repr(C)]
#[derive(Debug)]
pub struct PciIoAccess {
    read: IoMem,
    write: IoMem,
}

/// `EFI_PCI_IO_PROTOCOL_CONFIG_ACCESS`: configuration space read and write.
#[repr(C)]
#[derive(Debug)]
pub struct PciConfigAccess {
    read: ConfigAccess,
    write: ConfigAccess,
}

/// `EFI_PCI_IO_PROTOCOL`, laid out as the UEFI specification declares it.
#[repr(C)]
#[derive(Debug)]
#[unsafe_protocol("4cf5b200-68b8-4ca5-9eec-b23e3f50029a")]
pub struct PciIo {
    poll_mem: PollIoMem,
    poll_io: PollIoMem,
    mem: PciIoAccess,
    io: PciIoAccess,
    pci: PciConfigAccess,
    copy_mem: unsafe extern "efiapi" fn(*mut PciIo, u32, u8, u64, u8, u64, usize) -> Status,
    map: unsafe extern "efiapi" fn(*mut PciIo, u32, *mut c_void, *mut usize, *mut u64, *mut *mut c_void) -> Status,
    unmap: unsafe extern "efiapi" fn(*mut PciIo, *mut c_void) -> Status,
    allocate_buffer: unsafe extern "efiapi" fn(*mut PciIo, u32, u32, usize, *mut *mut c_void, u64) -> Status,
    free_buffer: unsafe extern "efiapi" fn(*mut PciIo, usize, *mut c_void) -> Status,
    flush: unsafe extern "efiapi" fn(*mut PciIo) -> Status,
    get_location: unsafe extern "efiapi" fn(*mut PciIo, *mut usize, *mut usize, *mut usize, *mut usize) -> Status,
    attributes: unsafe extern "efiapi" fn(*mut PciIo, u32, u64, *mut u64) -> Status,
    get_bar_attributes: unsafe extern "efiapi" fn(*mut PciIo, u8, *mut u64, *mut *mut c_void) -> Status,
    set_bar_attributes: unsafe extern "efiapi" fn(*mut PciIo, u64, u8, *mut u64, *mut u64) -> Status,
    rom_size: u64,
    rom_image: *mut c_void,
}

/// Where a PCI function sits: segment, bus, device, function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PciLocation {
    /// PCI segment.
    pub segment: usize,
    /// Bus number.
    pub bus: usize,
    /// Device number.
    pub device: usize,
    /// Function number.
    pub function: usize,
}

impl core::fmt::Display for PciLocation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:04x}:{:02x}:{:02x}.{}", self.segment, self.bus, self.device, self.function)
    }
}

impl PciIo {
    /// The protocol as the `This` pointer its functions take. The functions do not change the protocol
    /// structure itself; the pointer is `*mut` only because the C prototypes say so.
    fn this(&self) -> *mut PciIo {
        ptr::from_ref(self).cast_mut()
    }

    /// Reads the dword at `offset` of the function's configuration space (`Pci.Read`, 32-bit).
    pub fn config_read32(&self, offset: u32) -> Result<u32, Status> {
        let mut v = 0u32;
        // SAFETY: `self` is a PCI I/O protocol instance the firmware installed (we only get `&PciIo` from an
        // opened protocol); `v` is valid for one 32-bit write, which is what Count = 1 at width Uint32 asks.
        let s = unsafe { (self.pci.read)(self.this(), WIDTH_UINT32, offset, 1, ptr::from_mut(&mut v).cast()) };
        if s.is_success() {
            Ok(v)
        } else {
            Err(s)
        }
    }

    /// The vendor and device ids from configuration space.
    pub fn ids(&self) -> Result<(u16, u16), Status> {
        let v = self.config_read32(0)?;
        Ok(((v & 0xffff) as u16, (v >> 16) as u16))
    }

    /// Where the function sits (`GetLocation`).
    pub fn location(&self) -> Result<PciLocation, Status> {
        let (mut segment, mut bus, mut device, mut function) = (0, 0, 0, 0);
        // SAFETY: a firmware-installed protocol instance; the four out-pointers are valid `usize`s.
        let s = unsafe { (self.get_location)(self.this(), &mut segment, &mut bus, &mut device, &mut function) };
        if s.is_success() {
            Ok(PciLocation { segment, bus, device, function })
        } else {
            Err(s)
        }
    }

    /// Enables memory decoding and bus mastering (`Attributes(Enable, MEMORY | BUS_MASTER)`), which the
    /// command queue needs: the device must reach BAR0 and do DMA.
    pub fn enable_device(&self) -> Result<(), Status> {
        // SAFETY: a firmware-installed protocol instance; Result may be NULL for the Enable operation.
        let s =
            unsafe { (self.attributes)(self.this(), ATTR_OP_ENABLE, ATTR_MEMORY | ATTR_BUS_MASTER, ptr::null_mut()) };
        if s.is_success() {
            Ok(())
        } else {
            Err(s)
        }
    }

    /// Allocates `pages` zeroed 4 KiB pages of DMA memory and maps them as a common buffer.
    pub fn alloc_dma(&self, pages: usize) -> Result<PciDma<'_>, Status> {
        let mut host: *mut c_void = ptr::null_mut();
        // SAFETY: a firmware-installed protocol instance; `host` receives the allocation.
        let s =
            unsafe { (self.allocate_buffer)(self.this(), ALLOCATE_ANY_PAGES, BOOT_SERVICES_DATA, pages, &mut host, 0) };
        if !s.is_success() {
            return Err(s);
        }
        let Some(host) = NonNull::new(host.cast::<u8>()) else { return Err(Status::OUT_OF_RESOURCES) };
        let len = pages.saturating_mul(UEFI_PAGE);
        // SAFETY: AllocateBuffer returned `pages` whole pages at `host`, owned by us until FreeBuffer.
        unsafe { ptr::write_bytes(host.as_ptr(), 0, len) };
        let (mut mapped, mut bus, mut mapping) = (len, 0u64, ptr::null_mut());
        // SAFETY: maps the buffer we own for common-buffer DMA; the out-pointers are valid.
        let s = unsafe {
            (self.map)(
                self.this(),
                OP_BUS_MASTER_COMMON_BUFFER,
                host.as_ptr().cast(),
                &mut mapped,
                &mut bus,
                &mut mapping,
            )
        };
        if !s.is_success() || mapped < len {
            if s.is_success() {
                // SAFETY: `mapping` came from the successful Map above.
                unsafe {
                    let _ = (self.unmap)(self.this(), mapping);
                };
            }
            // SAFETY: the buffer came from AllocateBuffer with this page count and nothing else refers to it.
            unsafe {
                let _ = (self.free_buffer)(self.this(), pages, host.as_ptr().cast());
            };
            return Err(if s.is_success() { Status::OUT_OF_RESOURCES } else { s });
        }
        Ok(PciDma { io: self, host, len, pages, bus, mapping })
    }
}

/// BAR0 of a ConnectX through PCI I/O `Mem.Read`/`Mem.Write` (32-bit, BAR 0).
#[derive(Debug, Clone, Copy)]
pub struct PciMmio<'a> {
    io: &'a PciIo,
}

impl<'a> PciMmio<'a> {
    /// BAR0 of the function behind `io`.
    pub fn new(io: &'a PciIo) -> Self {
        PciMmio { io }
    }
}

impl Mmio for PciMmio<'_> {
    fn read32(&self, offset: usize) -> u32 {
        let mut v = u32::MAX;
        // SAFETY: a firmware-installed protocol instance; `v` is valid for the one 32-bit value read. The
        // firmware checks `offset` against the BAR and fails the access when it is outside.
        let s = unsafe {
            (self.io.mem.read)(self.io.this(), WIDTH_UINT32, BAR0, offset as u64, 1, ptr::from_mut(&mut v).cast())
        };
        if s.is_success() {
            v
        } else {
            u32::MAX
        }
    }

    fn write32(&self, offset: usize, value: u32) {
        let mut v = value;
        // SAFETY: as in `read32`; the firmware reads one 32-bit value from `v`. A failed write is dropped,
        // as the trait asks for accesses outside BAR0.
        unsafe {
            let _ =
                (self.io.mem.write)(self.io.this(), WIDTH_UINT32, BAR0, offset as u64, 1, ptr::from_mut(&mut v).cast());
        }
    }
}

/// A DMA buffer from `PciIo.AllocateBuffer`, mapped with `Map(BusMasterCommonBuffer)`.
#[derive(Debug)]
pub struct PciDma<'a> {
    io: &'a PciIo,
    host: NonNull<u8>,
    len: usize,
    pages: usize,
    bus: u64,
    mapping: *mut c_void,
}

impl DmaMemory for PciDma<'_> {
    fn bus_addr(&self) -> u64 {
        self.bus
    }

    fn len(&self) -> usize {
        self.len
    }

    fn read(&self, offset: usize, out: &mut [u8]) {
        let n = out.len().min(self.len.saturating_sub(offset));
        let (inside, outside) = out.split_at_mut(n);
        outside.fill(0);
        for (i, b) in inside.iter_mut().enumerate() {
            // SAFETY: `offset + i < self.len`, inside the buffer we own; volatile because the device writes
            // this memory concurrently.
            *b = unsafe { ptr::read_volatile(self.host.as_ptr().add(offset + i)) };
        }
    }

    fn write(&self, offset: usize, data: &[u8]) {
        let n = data.len().min(self.len.saturating_sub(offset));
        for (i, b) in data.iter().take(n).enumerate() {
            // SAFETY: `offset + i < self.len`, inside the buffer we own; volatile because the device reads
            // this memory concurrently.
            unsafe { ptr::write_volatile(self.host.as_ptr().add(offset + i), *b) };
        }
    }
}

impl Drop for PciDma<'_> {
    fn drop(&mut self) {
        // SAFETY: `mapping` and `host` came from Map and AllocateBuffer on this protocol instance, with this
        // page count; after this nothing refers to the buffer.
        unsafe {
            let _ = (self.io.unmap)(self.io.this(), self.mapping);
            let _ = (self.io.free_buffer)(self.io.this(), self.pages, self.host.as_ptr().cast());
        }
    }
}

/// A [`PageProvider`] handing firmware single mapped 4 KiB pages from `PciIo.AllocateBuffer`.
#[derive(Debug)]
pub struct PciPages<'a> {
    io: &'a PciIo,
    out: Vec<PciDma<'a>>,
}

impl<'a> PciPages<'a> {
    /// A provider for the function behind `io`.
    pub fn new(io: &'a PciIo) -> Self {
        PciPages { io, out: Vec::new() }
    }
}

impl PageProvider for PciPages<'_> {
    fn alloc_page(&mut self) -> Option<u64> {
        self.out.try_reserve(1).ok()?;
        let page = self.io.alloc_dma(1).ok()?;
        let bus = page.bus_addr();
        self.out.push(page);
        Some(bus)
    }

    fn free_page(&mut self, bus_addr: u64) -> bool {
        match self.out.iter().position(|p| p.bus_addr() == bus_addr) {
            Some(i) => {
                drop(self.out.swap_remove(i));
                true
            }
            None => false,
        }
    }

    fn pages_out(&self) -> usize {
        self.out.len()
    }
}
