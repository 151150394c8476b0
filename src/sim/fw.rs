//! The firmware: HCA life cycle, pages, capabilities, user contexts and the commands the model executes.
//!
//! [`Firmware::execute`] takes a whole input message and the output length the host gave and returns the
//! output message. Every input and output is read and built with the generated layouts.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;

use zerocopy::IntoBytes;

use super::caps::{Caps, LOG_MAX_UCTX};
use super::config::SimConfig;
use super::dma::SimBus;
use super::regs::Ports;
use super::syndrome as synd;
use crate::host::FW_PAGE_SIZE;
use crate::layout::Layout;
use crate::prm::{
    CmdStatus, CreateUctxIn, CreateUctxOut, DestroyUctxIn, DestroyUctxOut, DiagnosticCntrStruct,
    DiagnosticParamsContext, DisableHcaIn, DisableHcaOut, EnableHcaIn, EnableHcaOut, HcaCapUnion, HcaVportContext,
    InitHcaIn, InitHcaOut, ManagePagesIn, ManagePagesOut, MboxInHdr, MboxOutHdr, NicVportContext, NopOut, Opcode,
    PortStatus, QueryAdapterOut, QueryDiagnosticCntrsIn, QueryDiagnosticCntrsOut, QueryDiagnosticParamsOut,
    QueryEswFunctionsOut, QueryHcaCapIn, QueryHcaCapOut, QueryHcaVportContextIn, QueryHcaVportContextOut, QueryIssiOut,
    QueryNicVportContextIn, QueryNicVportContextOut, QueryPagesIn, QueryPagesOut, QueryVportStateIn,
    QueryVportStateOut, SetDiagnosticParamsIn, SetDiagnosticParamsOut, SetDriverVersionIn, SetDriverVersionOut,
    SetHcaCapIn, SetHcaCapOut, SetIssiIn, SetIssiOut, TeardownHcaIn, TeardownHcaOut, TeardownProfile, TeardownState,
    UctxCap, VportState,
};

/// Life-cycle state of the HCA (the PCI function) in firmware.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HcaState {
    /// Before ENABLE_HCA, and after DISABLE_HCA.
    Disabled,
    /// After ENABLE_HCA, before INIT_HCA.
    Enabled,
    /// After INIT_HCA.
    Initialized,
    /// After TEARDOWN_HCA; pages can be reclaimed, then DISABLE_HCA.
    TornDown,
}

/// A failed command: status and syndrome of the output header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fail {
    pub(crate) status: CmdStatus,
    pub(crate) syndrome: u32,
}

pub(crate) const fn fail(status: CmdStatus, syndrome: u32) -> Fail {
    Fail { status, syndrome }
}

pub(crate) const BAD_FIELD: Fail = fail(CmdStatus::BAD_PARAMETER, synd::BAD_FIELD);
pub(crate) const BAD_OP_MOD: Fail = fail(CmdStatus::BAD_PARAMETER, synd::BAD_OP_MOD);
const NO_SUCH_FUNCTION: Fail = fail(CmdStatus::BAD_PARAMETER, synd::NO_SUCH_FUNCTION);
const WRONG_STATE: Fail = fail(CmdStatus::BAD_SYSTEM_STATE, synd::WRONG_STATE);
const PAGES_MISSING: Fail = fail(CmdStatus::BAD_SYSTEM_STATE, synd::PAGES_MISSING);

/// A command's result: OK with its output message in the [`Reply`], or the failure the header reports.
pub(crate) type Res = Result<(), Fail>;

/// Where a command puts its output message: the device's reusable output buffer (no allocation per
/// command once it has grown), and the output length the host gave.
pub(crate) struct Reply<'a> {
    buf: &'a mut Vec<u8>,
    limit: usize,
}

impl<'a> Reply<'a> {
    /// An empty output in `buf`, for an output length of `limit` bytes.
    pub(crate) fn new(buf: &'a mut Vec<u8>, limit: usize) -> Self {
        buf.clear();
        Reply { buf, limit }
    }

    /// The output length the host gave.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Fails with BAD_OUTPUT_LENGTH unless `len` bytes fit the host's output.
    pub(crate) fn fits(&self, len: usize) -> Res {
        if len > self.limit {
            Err(fail(CmdStatus::BAD_OUTPUT_LENGTH, synd::OUTPUT_TOO_SHORT))
        } else {
            Ok(())
        }
    }

    /// The output is the concatenation of `parts`, or BAD_OUTPUT_LENGTH when the host's buffer is shorter.
    pub(crate) fn put_parts(&mut self, parts: &[&[u8]]) -> Res {
        self.fits(parts.iter().map(|p| p.len()).sum())?;
        self.buf.clear();
        for p in parts {
            self.buf.extend_from_slice(p);
        }
        Ok(())
    }

    /// The output is `bytes`, or BAD_OUTPUT_LENGTH.
    pub(crate) fn put_bytes(&mut self, bytes: &[u8]) -> Res {
        self.put_parts(&[bytes])
    }

    /// The output is a fixed-size layout, or BAD_OUTPUT_LENGTH.
    pub(crate) fn put<T: Layout>(&mut self, out: &T) -> Res {
        self.put_bytes(out.as_bytes())
    }
}

/// The fixed part of a command input, or BAD_INPUT_LENGTH.
pub(crate) fn parse<T: Layout>(input: &[u8]) -> Result<T, Fail> {
    T::read_from_prefix(input).map(|(t, _)| t).map_err(|_| fail(CmdStatus::BAD_INPUT_LENGTH, synd::INPUT_TOO_SHORT))
}

/// Index of `opcode` in [`crate::prm::COMMANDS`] (sorted by opcode), `None` for an opcode the specs do not
/// know; through the engine's compact opcode table.
pub(crate) fn command_index(opcode: u16) -> Option<usize> {
    crate::engine::stats::StatSlot::of(opcode).index()
}

/// The output header of a failed command.
pub(crate) fn failure_output(f: Fail) -> MboxOutHdr {
    MboxOutHdr::new().with_status(f.status).with_syndrome(f.syndrome)
}

/// Commands no user context may run.
const LIFE_CYCLE: [Opcode; 9] = [
    Opcode::ENABLE_HCA,
    Opcode::DISABLE_HCA,
    Opcode::INIT_HCA,
    Opcode::TEARDOWN_HCA,
    Opcode::MANAGE_PAGES,
    Opcode::SET_ISSI,
    Opcode::SET_DRIVER_VERSION,
    Opcode::CREATE_UCTX,
    Opcode::DESTROY_UCTX,
];

/// Diagnostic counters a SET_DIAGNOSTIC_PARAMS may select.
const MAX_DIAG_COUNTERS: usize = 64;

/// Diagnostic sampling state.
#[derive(Default)]
struct Diag {
    params: DiagnosticParamsContext,
    counters: Vec<u16>,
    queries: u64,
}

/// Whether the current general capabilities turn mailbox signatures on (`cmdif_checksum` "enabled").
fn checksums_of(caps: &Caps) -> bool {
    caps.get(crate::prm::CapType::GENERAL.0, true)
        .is_some_and(|p| p.cmd_hca_cap().cmdif_checksum() == crate::prm::CmdifChecksum::ENABLED)
}

/// The firmware state.
pub(crate) struct Firmware {
    cfg: SimConfig,
    pub(crate) state: HcaState,
    pub(crate) issi: u16,
    pages: Vec<u64>,
    page_set: BTreeSet<u64>,
    caps: Caps,
    /// Whether the current `cmdif_checksum` is "enabled" (kept in step with `caps`: asked on every command).
    checksums: bool,
    pub(crate) driver_version: [u8; 64],
    pub(crate) ports: Ports,
    pub(crate) uctx: BTreeMap<u16, UctxCap>,
    next_uid: u16,
    diag: Diag,
    pub(crate) sw_owner_id: [u32; 4],
}

impl Firmware {
    pub(crate) fn new(cfg: &SimConfig) -> Self {
        let caps = Caps::new(cfg.ports);
        Firmware {
            checksums: checksums_of(&caps),
            cfg: cfg.clone(),
            state: HcaState::Disabled,
            issi: 0,
            pages: Vec::new(),
            page_set: BTreeSet::new(),
            caps,
            driver_version: [0; 64],
            ports: Ports::new(cfg.ports),
            uctx: BTreeMap::new(),
            next_uid: 1,
            diag: Diag::default(),
            sw_owner_id: [0; 4],
        }
    }

    /// Pages firmware holds, in the order given.
    pub(crate) fn pages(&self) -> &[u64] {
        &self.pages
    }

    /// Whether mailbox signatures are checked (current `cmdif_checksum` is "enabled").
    pub(crate) fn checksums_enabled(&self) -> bool {
        self.checksums
    }

    fn boot_ok(&self) -> bool {
        self.pages.len() >= self.cfg.boot_pages as usize
    }

    fn init_ok(&self) -> bool {
        self.pages.len() >= (self.cfg.boot_pages as usize).saturating_add(self.cfg.init_pages as usize)
    }

    fn need(&self, states: &[HcaState]) -> Result<(), Fail> {
        if states.contains(&self.state) {
            Ok(())
        } else {
            Err(WRONG_STATE)
        }
    }

    /// Executes one command; leaves the output message (not yet padded or cut to `out_len`) in `out`.
    ///
    /// `index` is the opcode's [`command_index`] (the device looks it up once per command).
    pub(crate) fn execute(
        &mut self,
        bus: &SimBus,
        index: Option<usize>,
        input: &[u8],
        out_len: usize,
        out: &mut Vec<u8>,
    ) {
        if let Err(f) = self.dispatch(bus, index, input, &mut Reply::new(out, out_len)) {
            out.clear();
            out.extend_from_slice(failure_output(f).as_bytes());
        }
    }

    fn dispatch(&mut self, bus: &SimBus, index: Option<usize>, input: &[u8], reply: &mut Reply<'_>) -> Res {
        // The header by a fixed-size read (a variable-length copy would make the loads below wait for it);
        // a shorter input (the device checked it holds at least the opcode) is zero-padded.
        let h = match input.first_chunk::<{ MboxInHdr::SIZE }>() {
            Some(b) => MboxInHdr(*b),
            None => {
                let mut h = MboxInHdr::new();
                let n = input.len().min(MboxInHdr::SIZE);
                if let (Some(d), Some(s)) = (h.0.get_mut(..n), input.get(..n)) {
                    d.copy_from_slice(s);
                }
                h
            }
        };
        let op = Opcode(h.opcode());
        if index.is_none() {
            return Err(fail(CmdStatus::BAD_OPCODE, synd::UNKNOWN_OPCODE));
        }
        if self.state == HcaState::Disabled && op != Opcode::ENABLE_HCA {
            return Err(fail(CmdStatus::BAD_SYSTEM_STATE, synd::NOT_ENABLED));
        }
        let uid = h.uid();
        if uid != 0 {
            let Some(cap) = self.uctx.get(&uid) else {
                return Err(fail(CmdStatus::BAD_PARAMETER, synd::UID_NOT_LIVE));
            };
            let tools = cap.contains(UctxCap::TOOLS_RESOURCES);
            if LIFE_CYCLE.contains(&op) || (tools && op == Opcode::SET_HCA_CAP) {
                return Err(fail(CmdStatus::BAD_PARAMETER, synd::UID_NOT_PERMITTED));
            }
        }
        let op_mod = h.op_mod();
        match op {
            Opcode::ENABLE_HCA => self.enable_hca(input, reply),
            Opcode::DISABLE_HCA => self.disable_hca(input, reply),
            Opcode::QUERY_ISSI => {
                reply.put(&QueryIssiOut::new().with_current_issi(self.issi).with_supported_issi_dw0(0b11))
            }
            Opcode::SET_ISSI => self.set_issi(input, reply),
            Opcode::QUERY_PAGES => self.query_pages(input, op_mod, reply),
            Opcode::MANAGE_PAGES => self.manage_pages(bus, input, op_mod, reply),
            Opcode::QUERY_HCA_CAP => self.query_hca_cap(input, op_mod, reply),
            Opcode::SET_HCA_CAP => self.set_hca_cap(input, op_mod, reply),
            Opcode::INIT_HCA => self.init_hca(input, reply),
            Opcode::TEARDOWN_HCA => self.teardown_hca(input, reply),
            Opcode::QUERY_ADAPTER => self.query_adapter(reply),
            Opcode::SET_DRIVER_VERSION => self.set_driver_version(input, reply),
            Opcode::NOP => reply.put(&NopOut::new()),
            Opcode::ACCESS_REG => self.ports.access_reg(input, reply),
            Opcode::CREATE_UCTX => self.create_uctx(input, reply),
            Opcode::DESTROY_UCTX => self.destroy_uctx(input, reply),
            Opcode::QUERY_VPORT_STATE => self.query_vport_state(input, op_mod, reply),
            Opcode::QUERY_NIC_VPORT_CONTEXT => self.query_nic_vport_context(input, reply),
            Opcode::QUERY_HCA_VPORT_CONTEXT => self.query_hca_vport_context(input, reply),
            Opcode::QUERY_ESW_FUNCTIONS => self.query_esw_functions(reply),
            Opcode::QUERY_DIAGNOSTIC_PARAMS => self.query_diag_params(reply),
            Opcode::SET_DIAGNOSTIC_PARAMS => self.set_diag_params(input, reply),
            Opcode::QUERY_DIAGNOSTIC_COUNTERS => self.query_diag_counters(input, reply),
            _ => Err(fail(CmdStatus::BAD_OPCODE, synd::NOT_MODELLED)),
        }
    }

    fn enable_hca(&mut self, input: &[u8], reply: &mut Reply<'_>) -> Res {
        let i: EnableHcaIn = parse(input)?;
        if i.function_id() != 0 || i.embedded_cpu_function() {
            return Err(NO_SUCH_FUNCTION);
        }
        reply.put(&EnableHcaOut::new())?;
        if self.state == HcaState::Disabled {
            self.state = HcaState::Enabled;
        }
        Ok(())
    }

    fn disable_hca(&mut self, input: &[u8], reply: &mut Reply<'_>) -> Res {
        let i: DisableHcaIn = parse(input)?;
        if i.function_id() != 0 || i.embedded_cpu_function() {
            return Err(NO_SUCH_FUNCTION);
        }
        self.need(&[HcaState::Enabled, HcaState::TornDown])?;
        reply.put(&DisableHcaOut::new())?;
        self.state = HcaState::Disabled;
        self.issi = 0;
        Ok(())
    }

    fn set_issi(&mut self, input: &[u8], reply: &mut Reply<'_>) -> Res {
        let i: SetIssiIn = parse(input)?;
        self.need(&[HcaState::Enabled])?;
        if i.current_issi() > 1 {
            return Err(BAD_FIELD);
        }
        reply.put(&SetIssiOut::new())?;
        self.issi = i.current_issi();
        Ok(())
    }

    fn query_pages(&mut self, input: &[u8], op_mod: u16, reply: &mut Reply<'_>) -> Res {
        let i: QueryPagesIn = parse(input)?;
        if i.function_id() != 0 || i.embedded_cpu_function() {
            return Err(NO_SUCH_FUNCTION);
        }
        let held = i64::try_from(self.pages.len()).unwrap_or(i64::MAX);
        let boot = i64::from(self.cfg.boot_pages);
        let init = i64::from(self.cfg.init_pages);
        let n = match op_mod {
            1 => (boot - held).max(0),
            2 => (boot + init - held).clamp(0, init),
            3 if self.state == HcaState::TornDown => -held,
            3 => 0,
            _ => return Err(BAD_OP_MOD),
        };
        let n = i32::try_from(n).unwrap_or(i32::MAX);
        reply.put(&QueryPagesOut::new().with_num_pages(n))
    }

    fn manage_pages(&mut self, bus: &SimBus, input: &[u8], op_mod: u16, reply: &mut Reply<'_>) -> Res {
        let i: ManagePagesIn = parse(input)?;
        if i.function_id() != 0 || i.embedded_cpu_function() {
            return Err(NO_SUCH_FUNCTION);
        }
        let n = i.input_num_entries() as usize;
        match op_mod {
            0 => reply.put(&ManagePagesOut::new()),
            1 => {
                if ManagePagesIn::tail_pas_len(input.len()) < n {
                    return Err(fail(CmdStatus::BAD_INPUT_LENGTH, synd::INPUT_TOO_SHORT));
                }
                reply.put(&ManagePagesOut::new())?;
                let mut new = Vec::with_capacity(n);
                let mut seen = BTreeSet::new();
                for k in 0..n {
                    let addr = ManagePagesIn::tail_pas(input, k).unwrap_or(0);
                    let bad = !addr.is_multiple_of(FW_PAGE_SIZE as u64)
                        || !bus.is_mapped(addr, FW_PAGE_SIZE)
                        || self.page_set.contains(&addr)
                        || !seen.insert(addr);
                    if bad {
                        return Err(fail(CmdStatus::BAD_PARAMETER, synd::BAD_PAGE));
                    }
                    new.push(addr);
                }
                self.page_set.extend(new.iter().copied());
                self.pages.extend(new);
                Ok(())
            }
            2 => {
                let needed = match self.state {
                    HcaState::Initialized => {
                        (self.cfg.boot_pages as usize).saturating_add(self.cfg.init_pages as usize)
                    }
                    _ => 0,
                };
                let k = n.min(self.pages.len().saturating_sub(needed));
                let mut out = ManagePagesOut::new()
                    .with_output_num_entries(u32::try_from(k).unwrap_or(u32::MAX))
                    .as_bytes()
                    .to_vec();
                out.resize(ManagePagesOut::len_with_pas(k), 0);
                reply.fits(out.len())?;
                let split = self.pages.len().saturating_sub(k);
                let returned = self.pages.split_off(split);
                for (idx, addr) in returned.iter().rev().enumerate() {
                    let _ = ManagePagesOut::set_tail_pas(&mut out, idx, *addr);
                    self.page_set.remove(addr);
                }
                reply.put_bytes(&out)
            }
            _ => Err(BAD_OP_MOD),
        }
    }

    fn query_hca_cap(&mut self, input: &[u8], op_mod: u16, reply: &mut Reply<'_>) -> Res {
        let i: QueryHcaCapIn = parse(input)?;
        if i.other_function() || i.function_id() != 0 {
            return Err(NO_SUCH_FUNCTION);
        }
        if !self.boot_ok() {
            return Err(PAGES_MISSING);
        }
        let page = self.caps.get(op_mod >> 1, op_mod & 1 == 1).ok_or(BAD_OP_MOD)?;
        let mut out = QueryHcaCapOut::new();
        out.set_capability(page);
        reply.put(&out)
    }

    fn set_hca_cap(&mut self, input: &[u8], op_mod: u16, reply: &mut Reply<'_>) -> Res {
        let i: SetHcaCapIn = parse(input)?;
        if i.other_function() || i.function_id() != 0 {
            return Err(NO_SUCH_FUNCTION);
        }
        self.need(&[HcaState::Enabled])?;
        if !self.boot_ok() {
            return Err(PAGES_MISSING);
        }
        if op_mod & 1 != 0 {
            return Err(BAD_OP_MOD);
        }
        reply.put(&SetHcaCapOut::new())?;
        let page: HcaCapUnion = *i.capability();
        if !self.caps.set(op_mod >> 1, &page) {
            return Err(fail(CmdStatus::BAD_PARAMETER, synd::CAP_NOT_SETTABLE));
        }
        self.checksums = checksums_of(&self.caps);
        Ok(())
    }

    fn init_hca(&mut self, input: &[u8], reply: &mut Reply<'_>) -> Res {
        let i: InitHcaIn = parse(input)?;
        self.need(&[HcaState::Enabled])?;
        if !self.init_ok() {
            return Err(PAGES_MISSING);
        }
        reply.put(&InitHcaOut::new())?;
        for (k, v) in self.sw_owner_id.iter_mut().enumerate() {
            *v = i.sw_owner_id(k).unwrap_or(0);
        }
        self.state = HcaState::Initialized;
        Ok(())
    }

    fn teardown_hca(&mut self, input: &[u8], reply: &mut Reply<'_>) -> Res {
        let i: TeardownHcaIn = parse(input)?;
        let p = i.profile();
        if ![TeardownProfile::GRACEFUL_CLOSE, TeardownProfile::FORCE_CLOSE, TeardownProfile::PREPARE_FAST_TEARDOWN]
            .contains(&p)
        {
            return Err(BAD_FIELD);
        }
        self.need(&[HcaState::Initialized])?;
        reply.put(&TeardownHcaOut::new().with_state(TeardownState::SUCCESS))?;
        self.state = HcaState::TornDown;
        self.uctx.clear();
        self.diag = Diag::default();
        Ok(())
    }

    fn query_adapter(&mut self, reply: &mut Reply<'_>) -> Res {
        let mut out = QueryAdapterOut::new();
        let a = out.query_adapter_struct_mut();
        a.set_ieee_vendor_id(0x0002c9);
        a.set_vsd_vendor_id(0x15b3);
        let vsd = b"MLNX-SIM ConnectX-6 Dx (simulated) mlx5-cmdif device model";
        if let Some(d) = a.vsd_bytes_mut().get_mut(..vsd.len()) {
            d.copy_from_slice(vsd);
        }
        *a.vsd_contd_psid_bytes_mut() = self.cfg.psid;
        reply.put(&out)
    }

    fn set_driver_version(&mut self, input: &[u8], reply: &mut Reply<'_>) -> Res {
        let i: SetDriverVersionIn = parse(input)?;
        self.need(&[HcaState::Initialized])?;
        reply.put(&SetDriverVersionOut::new())?;
        self.driver_version = *i.driver_version_bytes();
        Ok(())
    }

    fn create_uctx(&mut self, input: &[u8], reply: &mut Reply<'_>) -> Res {
        let i: CreateUctxIn = parse(input)?;
        self.need(&[HcaState::Initialized])?;
        let want = i.uctx().cap();
        let offered = self.caps.general().uctx_cap();
        if want.bits() & !offered.bits() != 0 {
            return Err(BAD_FIELD);
        }
        if self.uctx.len() >= 1usize << LOG_MAX_UCTX {
            return Err(fail(CmdStatus::EXCEED_LIMIT, synd::NO_UIDS));
        }
        let mut uid = self.next_uid;
        while uid == 0 || self.uctx.contains_key(&uid) {
            uid = uid.wrapping_add(1);
        }
        reply.put(&CreateUctxOut::new().with_uid(uid))?;
        self.uctx.insert(uid, want);
        self.next_uid = uid.wrapping_add(1);
        Ok(())
    }

    fn destroy_uctx(&mut self, input: &[u8], reply: &mut Reply<'_>) -> Res {
        let i: DestroyUctxIn = parse(input)?;
        self.need(&[HcaState::Initialized])?;
        if !self.uctx.contains_key(&i.uid()) {
            return Err(fail(CmdStatus::BAD_RESOURCE, synd::NO_SUCH_UID));
        }
        reply.put(&DestroyUctxOut::new())?;
        self.uctx.remove(&i.uid());
        Ok(())
    }

    fn query_vport_state(&mut self, input: &[u8], op_mod: u16, reply: &mut Reply<'_>) -> Res {
        let i: QueryVportStateIn = parse(input)?;
        self.need(&[HcaState::Initialized])?;
        if i.other_vport() && i.vport_number() != 0 {
            return Err(NO_SUCH_FUNCTION);
        }
        if op_mod > 2 {
            return Err(BAD_OP_MOD);
        }
        let up = self.ports.oper(1) == Some(PortStatus::UP);
        let out = QueryVportStateOut::new().with_admin_state(1).with_state(if up {
            VportState::UP
        } else {
            VportState::DOWN
        });
        reply.put(&out)
    }

    fn guid(&self) -> u64 {
        let m = self.cfg.mac;
        u64::from_be_bytes([m[0], m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]])
    }

    fn query_nic_vport_context(&mut self, input: &[u8], reply: &mut Reply<'_>) -> Res {
        let i: QueryNicVportContextIn = parse(input)?;
        self.need(&[HcaState::Initialized])?;
        if i.other_vport() && i.vport_number() != 0 {
            return Err(NO_SUCH_FUNCTION);
        }
        let guid = self.guid();
        let mtu = self.ports.oper_mtu(1).unwrap_or(1500);
        let m = self.cfg.mac;
        let mut ctx = NicVportContext::new().with_mtu(mtu).with_system_image_guid(guid).with_port_guid(guid);
        ctx.set_node_guid(guid);
        ctx.set_roce_en(true);
        let mac = ctx.permanent_address_mut();
        mac.set_mac_addr_47_32(u16::from_be_bytes([m[0], m[1]]));
        mac.set_mac_addr_31_0(u32::from_be_bytes([m[2], m[3], m[4], m[5]]));
        let mut out = QueryNicVportContextOut::new();
        out.set_nic_vport_context(&ctx);
        reply.put(&out)
    }

    fn query_hca_vport_context(&mut self, input: &[u8], reply: &mut Reply<'_>) -> Res {
        let i: QueryHcaVportContextIn = parse(input)?;
        self.need(&[HcaState::Initialized])?;
        if i.other_vport() && i.vport_number() != 0 {
            return Err(NO_SUCH_FUNCTION);
        }
        let port = if i.port_num() == 0 { 1 } else { i.port_num() };
        let oper = self.ports.oper(port).ok_or(fail(CmdStatus::BAD_PARAMETER, synd::BAD_PORT))?;
        // IB port states: 1 down, 4 active.
        let state = if oper == PortStatus::UP { 4 } else { 1 };
        let guid = self.guid();
        let mut ctx = HcaVportContext::new()
            .with_port_state(state)
            .with_vport_state(state)
            .with_port_physical_state(if oper == PortStatus::UP { 5 } else { 3 })
            .with_system_image_guid(guid)
            .with_port_guid(guid);
        ctx.set_node_guid(guid);
        let mut out = QueryHcaVportContextOut::new();
        out.set_hca_vport_context(&ctx);
        reply.put(&out)
    }

    fn query_esw_functions(&mut self, reply: &mut Reply<'_>) -> Res {
        self.need(&[HcaState::Initialized])?;
        let mut out = QueryEswFunctionsOut::new();
        let h = out.host_params_context_mut();
        h.set_host_total_vfs(8);
        h.set_host_pci_bus(0x3b);
        reply.put(&out)
    }

    fn query_diag_params(&mut self, reply: &mut Reply<'_>) -> Res {
        self.need(&[HcaState::Initialized])?;
        let mut out = QueryDiagnosticParamsOut::new();
        out.set_diagnostic_params_context(&self.diag.params);
        let mut bytes = out.as_bytes().to_vec();
        let ctx_at = QueryDiagnosticParamsOut::FIELD_DIAGNOSTIC_PARAMS_CONTEXT.offset / 8;
        bytes.resize(ctx_at + DiagnosticParamsContext::len_with_counter_id(self.diag.counters.len()), 0);
        if let Some(ctx) = bytes.get_mut(ctx_at..) {
            for (k, id) in self.diag.counters.iter().enumerate() {
                if let Some(c) = DiagnosticParamsContext::tail_counter_id_mut(ctx, k) {
                    c.set_counter_id(*id);
                }
            }
        }
        reply.put_bytes(&bytes)
    }

    fn set_diag_params(&mut self, input: &[u8], reply: &mut Reply<'_>) -> Res {
        let i: SetDiagnosticParamsIn = parse(input)?;
        self.need(&[HcaState::Initialized])?;
        let ctx = *i.diagnostic_params_context();
        let n = usize::from(ctx.num_of_counters());
        if n > MAX_DIAG_COUNTERS {
            return Err(BAD_FIELD);
        }
        let ctx_at = SetDiagnosticParamsIn::FIELD_DIAGNOSTIC_PARAMS_CONTEXT.offset / 8;
        let tail = input.get(ctx_at..).unwrap_or(&[]);
        if DiagnosticParamsContext::tail_counter_id_len(tail.len()) < n {
            return Err(fail(CmdStatus::BAD_INPUT_LENGTH, synd::INPUT_TOO_SHORT));
        }
        let ids: Vec<u16> =
            (0..n).map(|k| DiagnosticParamsContext::tail_counter_id(tail, k).map_or(0, |c| c.counter_id())).collect();
        reply.put(&SetDiagnosticParamsOut::new())?;
        self.diag = Diag { params: ctx, counters: ids, queries: 0 };
        Ok(())
    }

    fn query_diag_counters(&mut self, input: &[u8], reply: &mut Reply<'_>) -> Res {
        let i: QueryDiagnosticCntrsIn = parse(input)?;
        self.need(&[HcaState::Initialized])?;
        if !self.diag.params.enable() {
            return Err(fail(CmdStatus::BAD_RESOURCE_STATE, synd::DIAG_NOT_ENABLED));
        }
        let samples = usize::from(i.num_of_samples().max(1));
        let n = self.diag.counters.len().saturating_mul(samples);
        let mut bytes = QueryDiagnosticCntrsOut::new().as_bytes().to_vec();
        bytes.resize(QueryDiagnosticCntrsOut::len_with_diag_counter(n), 0);
        let q = self.diag.queries.saturating_add(1);
        let mut k = 0;
        for s in 0..samples {
            let sample_id = i.sample_index().wrapping_add(u16::try_from(s).unwrap_or(u16::MAX));
            for id in &self.diag.counters {
                let value = (u64::from(*id) + 1).saturating_mul(q * 1000 + s as u64);
                if let Some(e) = QueryDiagnosticCntrsOut::tail_diag_counter_mut(&mut bytes, k) {
                    *e = DiagnosticCntrStruct::new()
                        .with_counter_id(*id)
                        .with_sample_id(sample_id)
                        .with_time_stamp_31_0(u32::try_from(q * 1000 + s as u64).unwrap_or(u32::MAX))
                        .with_counter_value_h((value >> 32) as u32)
                        .with_counter_value_l(value as u32);
                }
                k += 1;
            }
        }
        reply.put_bytes(&bytes)?;
        self.diag.queries = q;
        Ok(())
    }
}
