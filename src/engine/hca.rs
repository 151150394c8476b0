//! Bringing a device (an HCA) up and down in polling mode, as pre-boot provisioning needs it
//! (kernel `mlx5_function_setup` / `mlx5_function_teardown`, `pagealloc.c`).
//!
//! Bring-up: ENABLE_HCA → ISSI negotiation → boot pages → capabilities → init pages → INIT_HCA →
//! SET_DRIVER_VERSION. Teardown: TEARDOWN_HCA → page reclaim → DISABLE_HCA. Pages come from the host's
//! [`PageProvider`]; the engine keeps no list of them.

use crate::command::Command;
use crate::host::{Clock, DmaMemory, Mmio, PageProvider};
use crate::layout::Layout;
use crate::prm::{
    CmdHcaCap, CmdStatus, CmdifChecksum, DisableHca, DisableHcaIn, EnableHca, EnableHcaIn, InitHca, InitHcaIn,
    InitialSeg, ManagePages, ManagePagesIn, ManagePagesOpMod, ManagePagesOut, QueryHcaCap, QueryHcaCapIn, QueryIssi,
    QueryIssiIn, QueryPages, QueryPagesIn, QueryPagesOpMod, SetDriverVersion, SetDriverVersionIn, SetHcaCap,
    SetHcaCapIn, SetIssi, SetIssiIn, TeardownHca, TeardownHcaIn, TeardownProfile, TeardownState,
};

use super::error::{CmdId, Error};
use super::iseg::Iseg;
use super::queue::{Cmdq, Options};

/// Pages given or taken back per MANAGE_PAGES command.
pub const PAGES_PER_COMMAND: usize = 64;
const MANAGE_PAGES_BYTES: usize = ManagePagesIn::len_with_pas(PAGES_PER_COMMAND);

/// Capability type of the general page (`MLX5_CAP_GENERAL`).
pub const CAP_GENERAL: u16 = <CmdHcaCap as crate::command::CapabilityPage>::CAP_TYPE;

/// QUERY_HCA_CAP op_mod for a page: `cap_type << 1 | current`.
pub const fn query_cap_op_mod(cap_type: u16, current: bool) -> u16 {
    (cap_type << 1) | current as u16
}

/// How to bring a device up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BringUp<'a> {
    /// The string for SET_DRIVER_VERSION (sent when firmware supports it; at most 64 bytes).
    pub driver_version: &'a str,
}

impl Default for BringUp<'_> {
    fn default() -> Self {
        BringUp { driver_version: "mlx5-cmdif,0.1.0" }
    }
}

/// What bring-up found.
#[derive(Debug, Clone)]
pub struct HcaInfo {
    /// The interface step (ISSI) in use (0 or 1).
    pub issi: u16,
    /// Pages firmware asked for at boot.
    pub boot_pages: u32,
    /// Pages firmware asked for at init.
    pub init_pages: u32,
    /// The general capabilities, maximum values.
    pub caps_max: CmdHcaCap,
    /// The general capabilities in force after SET_HCA_CAP.
    pub caps: CmdHcaCap,
    /// Whether this function runs on the embedded (BlueField Arm) CPU.
    pub embedded_cpu: bool,
    /// Whether SET_DRIVER_VERSION was sent.
    pub driver_version_set: bool,
}

fn cmd_id<C: Command>(op_mod: u16) -> CmdId {
    CmdId { opcode: crate::prm::Opcode(C::OPCODE), op_mod }
}

/// Brings the device up: after this, commands that need an initialized HCA work.
///
/// # Errors
/// Any [`Error`] of the commands involved; [`Error::Pages`] when the provider runs out of pages.
pub fn bring_up<M: Mmio, C: Clock, Q: DmaMemory, P: DmaMemory, PP: PageProvider>(
    q: &mut Cmdq<M, C, Q, P>,
    pages: &mut PP,
    opts: &BringUp<'_>,
) -> Result<HcaInfo, Error> {
    let embedded_cpu = Iseg::new(q.mmio()).read(&InitialSeg::FIELD_EMBEDDED_CPU) != 0;
    q.execute::<EnableHca>(&EnableHcaIn::new().with_embedded_cpu_function(embedded_cpu))?;

    // ISSI: use 1 when firmware offers it; a failing QUERY_ISSI means ISSI 0 (old firmware).
    let issi = match q.execute::<QueryIssi>(&QueryIssiIn::new()) {
        Ok(out) if out.supported_issi_dw0() & (1 << 1) != 0 => {
            q.execute::<SetIssi>(&SetIssiIn::new().with_current_issi(1))?;
            1
        }
        Ok(_) | Err(Error::Firmware { .. }) => 0,
        Err(e) => return Err(e),
    };

    let boot_pages = give_pages(q, pages, QueryPagesOpMod::BOOT, embedded_cpu)?;

    let caps_max = query_general_caps(q, false)?;
    let mut caps = query_general_caps(q, true)?;
    let checksum = if q.config().checksums { CmdifChecksum::ENABLED } else { CmdifChecksum::DISABLED };
    if caps.cmdif_checksum() != checksum {
        let mut set = SetHcaCapIn::new().with_op_mod(query_cap_op_mod(CAP_GENERAL, false));
        let mut wanted = caps;
        wanted.set_cmdif_checksum(checksum);
        *set.capability_mut().cmd_hca_cap_mut() = wanted;
        q.execute::<SetHcaCap>(&set)?;
        caps = query_general_caps(q, true)?;
    }

    let init_pages = give_pages(q, pages, QueryPagesOpMod::INIT, embedded_cpu)?;
    q.execute::<InitHca>(&InitHcaIn::new())?;

    let driver_version_set = caps.driver_version();
    if driver_version_set {
        let mut v = [0u8; 64];
        let src = opts.driver_version.as_bytes();
        // The last byte stays 0: firmware reads a NUL-terminated string.
        let n = src.len().min(v.len().saturating_sub(1));
        if let (Some(d), Some(s)) = (v.get_mut(..n), src.get(..n)) {
            d.copy_from_slice(s);
        }
        let mut input = SetDriverVersionIn::new();
        *input.driver_version_bytes_mut() = v;
        q.execute::<SetDriverVersion>(&input)?;
    }

    Ok(HcaInfo { issi, boot_pages, init_pages, caps_max, caps, embedded_cpu, driver_version_set })
}

fn query_general_caps<M: Mmio, C: Clock, Q: DmaMemory, P: DmaMemory>(
    q: &mut Cmdq<M, C, Q, P>,
    current: bool,
) -> Result<CmdHcaCap, Error> {
    let out = q.execute::<QueryHcaCap>(&QueryHcaCapIn::new().with_op_mod(query_cap_op_mod(CAP_GENERAL, current)))?;
    Ok(*out.capability().cmd_hca_cap())
}

/// Asks firmware how many pages it needs at `stage` and gives them; returns how many were given.
///
/// # Errors
/// [`Error::Pages`] when the provider runs out (firmware is then told the allocation failed);
/// any error of QUERY_PAGES or MANAGE_PAGES.
pub fn give_pages<M: Mmio, C: Clock, Q: DmaMemory, P: DmaMemory, PP: PageProvider>(
    q: &mut Cmdq<M, C, Q, P>,
    pages: &mut PP,
    stage: QueryPagesOpMod,
    embedded_cpu: bool,
) -> Result<u32, Error> {
    let out =
        q.execute::<QueryPages>(&QueryPagesIn::new().with_op_mod(stage.0).with_embedded_cpu_function(embedded_cpu))?;
    let wanted = u32::try_from(out.num_pages()).unwrap_or(0);
    let mut given = 0u32;
    while given < wanted {
        let batch = (wanted.saturating_sub(given) as usize).min(PAGES_PER_COMMAND);
        let mut msg = [0u8; MANAGE_PAGES_BYTES];
        let mut got = 0usize;
        for i in 0..batch {
            let Some(addr) = pages.alloc_page() else { break };
            let _ = ManagePagesIn::set_tail_pas(&mut msg, i, addr);
            got = got.saturating_add(1);
        }
        let op_mod = if got == 0 { ManagePagesOpMod::ALLOCATION_FAIL } else { ManagePagesOpMod::ALLOCATION_SUCCESS };
        let fixed = ManagePagesIn::new()
            .with_opcode(ManagePages::OPCODE)
            .with_op_mod(op_mod.0)
            .with_embedded_cpu_function(embedded_cpu)
            .with_input_num_entries(got as u32);
        if let Some(head) = msg.get_mut(..ManagePagesIn::SIZE) {
            head.copy_from_slice(fixed.as_array());
        }
        let len = ManagePagesIn::len_with_pas(got);
        let mut out = ManagePagesOut::ZERO;
        let sent = q.execute_raw(msg.get(..len).unwrap_or(&[]), out.as_mut_bytes_array(), Options::default());
        let failed = match sent {
            Ok(c) => c.check().err(),
            Err(e) => Some(e),
        };
        if let Some(e) = failed {
            for i in 0..got {
                if let Some(a) = ManagePagesIn::tail_pas(&msg, i) {
                    pages.free_page(a);
                }
            }
            return Err(e);
        }
        if got < batch {
            return Err(Error::Pages { cmd: cmd_id::<ManagePages>(op_mod.0) });
        }
        given = given.saturating_add(got as u32);
    }
    Ok(given)
}

/// Takes every page back from firmware (after TEARDOWN_HCA) and returns them to the provider; returns
/// how many came back.
///
/// # Errors
/// [`Error::Pages`] when firmware returns more entries than asked, an address the provider never gave,
/// or stops returning pages while some are still out; any error of MANAGE_PAGES.
pub fn reclaim_pages<M: Mmio, C: Clock, Q: DmaMemory, P: DmaMemory, PP: PageProvider>(
    q: &mut Cmdq<M, C, Q, P>,
    pages: &mut PP,
    embedded_cpu: bool,
) -> Result<u32, Error> {
    let op_mod = ManagePagesOpMod::HCA_RETURN_PAGES.0;
    let bad = Error::Pages { cmd: cmd_id::<ManagePages>(op_mod) };
    let mut reclaimed = 0u32;
    while pages.pages_out() > 0 {
        let ask = pages.pages_out().min(PAGES_PER_COMMAND);
        let input = ManagePagesIn::new()
            .with_opcode(ManagePages::OPCODE)
            .with_op_mod(op_mod)
            .with_embedded_cpu_function(embedded_cpu)
            .with_input_num_entries(ask as u32);
        let mut msg = [0u8; ManagePagesOut::len_with_pas(PAGES_PER_COMMAND)];
        let len = ManagePagesOut::len_with_pas(ask);
        let c = q.execute_raw(input.as_array(), msg.get_mut(..len).unwrap_or(&mut []), Options::default())?.check()?;
        let out = ManagePagesOut::read_prefix(&msg);
        let n = out.output_num_entries() as usize;
        if n > ask || ManagePagesOut::len_with_pas(n) > c.len {
            return Err(bad);
        }
        if n == 0 {
            // Firmware keeps pages it will not return: stop rather than loop.
            return Err(bad);
        }
        for i in 0..n {
            let addr = ManagePagesOut::tail_pas(&msg, i).ok_or(bad)?;
            if !pages.free_page(addr) {
                return Err(bad);
            }
        }
        reclaimed = reclaimed.saturating_add(n as u32);
    }
    Ok(reclaimed)
}

/// Tears the device down: TEARDOWN_HCA (graceful), reclaim every page, DISABLE_HCA.
///
/// # Errors
/// [`Error::Firmware`] when firmware refuses the teardown (its `state` reports failure; Linux stops
/// there too) or any command fails; [`Error::Pages`] as in [`reclaim_pages`].
pub fn teardown<M: Mmio, C: Clock, Q: DmaMemory, P: DmaMemory, PP: PageProvider>(
    q: &mut Cmdq<M, C, Q, P>,
    pages: &mut PP,
) -> Result<u32, Error> {
    let embedded_cpu = Iseg::new(q.mmio()).read(&InitialSeg::FIELD_EMBEDDED_CPU) != 0;
    let profile = TeardownProfile::GRACEFUL_CLOSE;
    let out = q.execute::<TeardownHca>(&TeardownHcaIn::new().with_profile(profile))?;
    if out.state() != TeardownState::SUCCESS {
        return Err(Error::Firmware {
            cmd: cmd_id::<TeardownHca>(0),
            status: CmdStatus::BAD_SYSTEM_STATE,
            syndrome: u32::from(out.state().0),
        });
    }
    let reclaimed = reclaim_pages(q, pages, embedded_cpu)?;
    q.execute::<DisableHca>(&DisableHcaIn::new().with_embedded_cpu_function(embedded_cpu))?;
    Ok(reclaimed)
}

impl<T: Layout> LayoutExt for T {}

/// Small conveniences over generated layouts used by the engine.
trait LayoutExt: Layout {
    /// The layout's bytes, mutably.
    fn as_mut_bytes_array(&mut self) -> &mut [u8] {
        zerocopy::IntoBytes::as_mut_bytes(self)
    }

    /// The layout read from the start of `bytes` (zero-filled when `bytes` is shorter).
    fn read_prefix(bytes: &[u8]) -> Self {
        let mut v = <Self as zerocopy::FromZeros>::new_zeroed();
        let dst = zerocopy::IntoBytes::as_mut_bytes(&mut v);
        let n = dst.len().min(bytes.len());
        if let (Some(d), Some(s)) = (dst.get_mut(..n), bytes.get(..n)) {
            d.copy_from_slice(s);
        }
        v
    }
}
