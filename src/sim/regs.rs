//! ACCESS_REG: the access registers the model implements, and the port, sensor and module state behind
//! them.
//!
//! Implemented: PAOS, PMTU, PTYS, PPCNT, MTCAP, MTMP, MCIA, MCQS, MCQI and HOST_ENDIANNESS (write and read
//! back). Every other register id is BAD_PARAMETER ([`syndrome::UNKNOWN_REGISTER`](super::syndrome)).

use alloc::vec::Vec;

use zerocopy::IntoBytes;

use super::fw::{fail, parse, Fail, Reply, Res, BAD_FIELD, BAD_OP_MOD};
use super::syndrome as synd;
use crate::layout::{bits, Layout};
use crate::prm::{
    AccessRegisterIn, AccessRegisterOut, CmdStatus, MciaReg, McqiActivationMethod, McqiCap, McqiReg, McqiVersion,
    McqsReg, MtcapReg, MtmpReg, PaosReg, PmtuReg, PortStatus, PpcntGrp, PpcntReg, PtysReg, RegisterId,
};

/// PTYS Ethernet protocol bit (`MLX5_PTYS_EN`) of `proto_mask`.
const PTYS_EN: u8 = 1 << 2;
/// Legacy Ethernet link modes of a 100 GbE port (kernel `enum mlx5e_link_modes` bit numbers).
const ETH_10GBASE_CR: u32 = 1 << 12;
const ETH_10GBASE_SR: u32 = 1 << 13;
const ETH_40GBASE_CR4: u32 = 1 << 6;
const ETH_100GBASE_CR4: u32 = 1 << 20;
const ETH_100GBASE_SR4: u32 = 1 << 21;
const ETH_25GBASE_CR: u32 = 1 << 27;
const ETH_25GBASE_SR: u32 = 1 << 29;
const ETH_50GBASE_CR2: u32 = 1 << 30;
const ETH_CAPABILITY: u32 = ETH_10GBASE_CR
    | ETH_10GBASE_SR
    | ETH_40GBASE_CR4
    | ETH_100GBASE_CR4
    | ETH_100GBASE_SR4
    | ETH_25GBASE_CR
    | ETH_25GBASE_SR
    | ETH_50GBASE_CR2;

/// Largest MTU of a port.
const MAX_MTU: u16 = 9216;
/// HOST_ENDIANNESS payload size (facts §7: a 16-byte payload; the specs have no layout for it).
const HOST_ENDIANNESS_LEN: usize = 16;
/// Temperature sensors: (name, base temperature in 0.125 °C).
const SENSORS: [(&[u8; 4], i16); 2] = [(b"ASIC", 440), (b"PCB ", 388)];
/// Upper temperature threshold, 105 °C.
const TEMP_HI: u16 = 105 * 8;
/// MCIA: I2C address of the module's lower memory and page 0.
const I2C_LOWER: u8 = 0x50;
/// MCIA status: I2C error (page not implemented).
const MCIA_I2C_ERROR: u8 = 0x9;
/// MCIA: most bytes per access (12 data dwords).
const MCIA_MAX: usize = 48;
/// MCQI info types.
const MCQI_CAPABILITIES: u8 = 0;
const MCQI_VERSION: u8 = 1;
const MCQI_ACTIVATION_METHOD: u8 = 5;

/// State of one port.
#[derive(Debug, Clone)]
pub(crate) struct Port {
    admin: PortStatus,
    oper: PortStatus,
    admin_mtu: u16,
    oper_mtu: u16,
    eth_admin: u32,
    /// PPCNT reads since the last clear (the counters grow with it).
    ticks: u64,
}

/// Ports, sensors and the rest of the register state.
pub(crate) struct Ports {
    ports: Vec<Port>,
    sensor_reads: u64,
    max_temp: [i16; 2],
    host_endianness: [u8; HOST_ENDIANNESS_LEN],
}

fn bad_port() -> Fail {
    fail(CmdStatus::BAD_PARAMETER, synd::BAD_PORT)
}

/// Parses a register payload, or BAD_INPUT_LENGTH.
fn reg<T: Layout>(data: &[u8]) -> Result<T, Fail> {
    parse(data)
}

impl Ports {
    pub(crate) fn new(n: u8) -> Self {
        let port = Port {
            admin: PortStatus::UP,
            oper: PortStatus::UP,
            admin_mtu: 1500,
            oper_mtu: 1500,
            eth_admin: ETH_CAPABILITY,
            ticks: 0,
        };
        Ports {
            ports: (0..n).map(|_| port.clone()).collect(),
            sensor_reads: 0,
            max_temp: [SENSORS[0].1, SENSORS[1].1],
            host_endianness: [0; HOST_ENDIANNESS_LEN],
        }
    }

    fn port(&mut self, local_port: u8) -> Result<&mut Port, Fail> {
        let i = usize::from(local_port).checked_sub(1).ok_or_else(bad_port)?;
        self.ports.get_mut(i).ok_or_else(bad_port)
    }

    /// Administrative state of a port (1-based).
    pub(crate) fn admin(&self, local_port: u8) -> Option<PortStatus> {
        self.ports.get(usize::from(local_port).checked_sub(1)?).map(|p| p.admin)
    }

    /// Operational state of a port (1-based).
    pub(crate) fn oper(&self, local_port: u8) -> Option<PortStatus> {
        self.ports.get(usize::from(local_port).checked_sub(1)?).map(|p| p.oper)
    }

    /// Operational MTU of a port (1-based).
    pub(crate) fn oper_mtu(&self, local_port: u8) -> Option<u16> {
        self.ports.get(usize::from(local_port).checked_sub(1)?).map(|p| p.oper_mtu)
    }

    /// Executes ACCESS_REG.
    pub(crate) fn access_reg(&mut self, input: &[u8], reply: &mut Reply<'_>) -> Res {
        let i: AccessRegisterIn = parse(input)?;
        let write = match i.op_mod() {
            0 => true,
            1 => false,
            _ => return Err(BAD_OP_MOD),
        };
        let data = input.get(AccessRegisterIn::SIZE..).unwrap_or(&[]);
        let room = reply.limit().saturating_sub(AccessRegisterOut::SIZE);
        let payload = match RegisterId(i.register_id()) {
            RegisterId::PAOS => self.paos(write, reg(data)?)?.as_bytes().to_vec(),
            RegisterId::PMTU => self.pmtu(write, reg(data)?)?.as_bytes().to_vec(),
            RegisterId::PTYS => self.ptys(write, reg(data)?)?.as_bytes().to_vec(),
            RegisterId::PPCNT if !write => self.ppcnt(reg(data)?)?.as_bytes().to_vec(),
            RegisterId::MTCAP if !write => {
                let _: MtcapReg = reg(data)?;
                let map = (1u64 << SENSORS.len()) - 1;
                MtcapReg::new().with_sensor_count(SENSORS.len() as u8).with_sensor_map(map).as_bytes().to_vec()
            }
            RegisterId::MTMP => self.mtmp(write, reg(data)?)?.as_bytes().to_vec(),
            RegisterId::MCIA if !write => self.mcia(reg(data)?)?.as_bytes().to_vec(),
            RegisterId::MCQS if !write => mcqs(reg(data)?)?.as_bytes().to_vec(),
            RegisterId::MCQI if !write => mcqi(reg(data)?, room)?,
            RegisterId::HOST_ENDIANNESS => {
                let d =
                    data.get(..HOST_ENDIANNESS_LEN).ok_or(fail(CmdStatus::BAD_INPUT_LENGTH, synd::INPUT_TOO_SHORT))?;
                if write {
                    self.host_endianness.copy_from_slice(d);
                }
                self.host_endianness.to_vec()
            }
            _ => return Err(fail(CmdStatus::BAD_PARAMETER, synd::UNKNOWN_REGISTER)),
        };
        reply.put_parts(&[AccessRegisterOut::new().as_bytes(), &payload])
    }

    fn paos(&mut self, write: bool, mut r: PaosReg) -> Result<PaosReg, Fail> {
        let p = self.port(r.local_port())?;
        if write && r.ase() {
            let s = r.admin_status();
            if s != PortStatus::UP && s != PortStatus::DOWN {
                return Err(BAD_FIELD);
            }
            p.admin = s;
            p.oper = s;
        }
        r.set_admin_status(p.admin);
        r.set_oper_status(p.oper);
        Ok(r)
    }

    fn pmtu(&mut self, write: bool, mut r: PmtuReg) -> Result<PmtuReg, Fail> {
        let p = self.port(r.local_port())?;
        if write {
            let m = r.admin_mtu();
            if m == 0 || m > MAX_MTU {
                return Err(BAD_FIELD);
            }
            p.admin_mtu = m;
            p.oper_mtu = m;
        }
        r.set_max_mtu(MAX_MTU);
        r.set_admin_mtu(p.admin_mtu);
        r.set_oper_mtu(p.oper_mtu);
        Ok(r)
    }

    fn ptys(&mut self, write: bool, mut r: PtysReg) -> Result<PtysReg, Fail> {
        if r.proto_mask() & PTYS_EN == 0 {
            return Err(BAD_FIELD);
        }
        let p = self.port(r.local_port())?;
        if write {
            let a = r.eth_proto_admin();
            if a == 0 || a & !ETH_CAPABILITY != 0 {
                return Err(BAD_FIELD);
            }
            p.eth_admin = a;
        }
        // The link runs at the fastest enabled mode: the highest of the enabled 100G/50G/40G/25G/10G bits.
        let oper = if p.oper == PortStatus::UP {
            [ETH_100GBASE_CR4, ETH_100GBASE_SR4, ETH_50GBASE_CR2, ETH_40GBASE_CR4, ETH_25GBASE_CR, ETH_25GBASE_SR]
                .into_iter()
                .chain([ETH_10GBASE_CR, ETH_10GBASE_SR])
                .find(|m| p.eth_admin & m != 0)
                .unwrap_or(0)
        } else {
            0
        };
        r.set_eth_proto_capability(ETH_CAPABILITY);
        r.set_eth_proto_admin(p.eth_admin);
        r.set_eth_proto_oper(oper);
        Ok(r)
    }

    fn ppcnt(&mut self, mut r: PpcntReg) -> Result<PpcntReg, Fail> {
        let grp = r.grp();
        let clr = r.clr();
        let p = self.port(r.local_port())?;
        if p.oper == PortStatus::UP {
            p.ticks = p.ticks.saturating_add(1);
        }
        let t = p.ticks;
        let frames = t.saturating_mul(1000);
        let octets = frames.saturating_mul(1024).saturating_add(t * 7);
        let hi = |v: u64| (v >> 32) as u32;
        let lo = |v: u64| v as u32;
        let set = r.counter_set_mut();
        match grp {
            PpcntGrp::IEEE_802_3 => {
                let c = set.eth_802_3_cntrs_grp_data_layout_mut();
                c.set_a_frames_transmitted_ok_high(hi(frames));
                c.set_a_frames_transmitted_ok_low(lo(frames));
                c.set_a_frames_received_ok_high(hi(frames + t));
                c.set_a_frames_received_ok_low(lo(frames + t));
                c.set_a_octets_transmitted_ok_high(hi(octets));
                c.set_a_octets_transmitted_ok_low(lo(octets));
                c.set_a_octets_received_ok_high(hi(octets + t));
                c.set_a_octets_received_ok_low(lo(octets + t));
                c.set_a_multicast_frames_xmitted_ok_low(lo(t * 3));
                c.set_a_broadcast_frames_xmitted_ok_low(lo(t));
                c.set_a_multicast_frames_received_ok_low(lo(t * 5));
                c.set_a_broadcast_frames_received_ok_low(lo(t * 2));
            }
            PpcntGrp::RFC_2863 => {
                let c = set.eth_2863_cntrs_grp_data_layout_mut();
                c.set_if_in_octets_high(hi(octets + t));
                c.set_if_in_octets_low(lo(octets + t));
                c.set_if_out_octets_high(hi(octets));
                c.set_if_out_octets_low(lo(octets));
                c.set_if_in_ucast_pkts_low(lo(frames + t));
                c.set_if_out_ucast_pkts_low(lo(frames));
            }
            PpcntGrp::RFC_2819
            | PpcntGrp::RFC_3635
            | PpcntGrp::ETHERNET_EXTENDED
            | PpcntGrp::ETHERNET_DISCARD
            | PpcntGrp::PER_PRIORITY
            | PpcntGrp::PER_TRAFFIC_CLASS
            | PpcntGrp::PHYSICAL_LAYER
            | PpcntGrp::PHYSICAL_LAYER_STATISTICAL => {}
            _ => return Err(BAD_FIELD),
        }
        if clr {
            p.ticks = 0;
        }
        Ok(r)
    }

    fn mtmp(&mut self, write: bool, mut r: MtmpReg) -> Result<MtmpReg, Fail> {
        let idx = usize::from(r.sensor_index());
        let (name, base) = *SENSORS.get(idx).ok_or(BAD_FIELD)?;
        self.sensor_reads = self.sensor_reads.wrapping_add(1);
        let t = base.saturating_add((self.sensor_reads % 5) as i16);
        let max = self.max_temp.get_mut(idx).ok_or(BAD_FIELD)?;
        if write && r.mtr() {
            *max = t;
        }
        *max = (*max).max(t);
        r.set_temperature(t);
        r.set_max_temperature(*max);
        r.set_temp_threshold_hi(TEMP_HI);
        r.set_sensor_name_hi(u32::from_be_bytes(*name));
        r.set_sensor_name_lo(u32::from_be_bytes(*b"\0\0\0\0"));
        Ok(r)
    }

    fn mcia(&mut self, mut r: MciaReg) -> Result<MciaReg, Fail> {
        if usize::from(r.module()) >= self.ports.len() {
            return Err(bad_port());
        }
        let size = usize::from(r.size());
        let addr = usize::from(r.device_address());
        if size > MCIA_MAX || addr + size > 256 || r.i2c_device_address() != I2C_LOWER {
            return Err(BAD_FIELD);
        }
        let mut data = [0u8; MCIA_MAX];
        match r.page_number() {
            0 => {
                let image = qsfp_page0();
                if let (Some(d), Some(s)) = (data.get_mut(..size), image.get(addr..addr + size)) {
                    d.copy_from_slice(s);
                }
            }
            3 => {}
            _ => r.set_status(MCIA_I2C_ERROR),
        }
        bits::put_bytes(&mut r.0, MciaReg::FIELD_DWORD_0.offset / 8, &data);
        Ok(r)
    }
}

/// Lower memory and upper page 0 of a QSFP28 100G direct-attach cable (SFF-8636).
fn qsfp_page0() -> [u8; 256] {
    let mut p = [0u8; 256];
    let mut put = |at: usize, bytes: &[u8]| {
        if let Some(d) = p.get_mut(at..at + bytes.len()) {
            d.copy_from_slice(bytes);
        }
    };
    put(0, &[0x11, 0x08, 0x00]); // identifier QSFP28, revision SFF-8636 2.8, status
    put(22, &[0x1e, 0x00]); // module temperature 30 °C
    put(128, &[0x11, 0x00, 0x23]); // identifier, ext identifier, connector: no separable connector
    put(131, &[0x80]); // extended compliance in byte 192
    put(146, &[0x01]); // cable length 1 m
    put(147, &[0xa0]); // copper cable, unequalized
    put(148, b"NVIDIA          ");
    put(165, &[0x00, 0x02, 0xc9]); // vendor OUI
    put(168, b"MCP1600-C001E30N");
    put(184, b"A3");
    put(192, &[0x0b]); // 100GBASE-CR4
    put(196, b"MT2101VS00001   ");
    put(212, b"210101  ");
    let base: u8 = p.get(128..191).map_or(0, |s| s.iter().fold(0u8, |a, b| a.wrapping_add(*b)));
    let ext: u8 = p.get(192..223).map_or(0, |s| s.iter().fold(0u8, |a, b| a.wrapping_add(*b)));
    if let Some(b) = p.get_mut(191) {
        *b = base;
    }
    if let Some(b) = p.get_mut(223) {
        *b = ext;
    }
    p
}

/// MCQS: one component, the boot image, in use.
fn mcqs(r: McqsReg) -> Result<McqsReg, Fail> {
    if r.component_index() != 0 {
        return Err(BAD_FIELD);
    }
    Ok(r.with_last_index_flag(true).with_identifier(0x1).with_component_status(0x2).with_component_update_state(0))
}

/// MCQI of component 0: capabilities, version or activation method, `data_size` bytes from `offset`.
fn mcqi(r: McqiReg, room: usize) -> Result<Vec<u8>, Fail> {
    if r.component_index() != 0 {
        return Err(BAD_FIELD);
    }
    let info: Vec<u8> = match r.info_type() {
        MCQI_CAPABILITIES => McqiCap::new()
            .with_supported_info_bitmask((1 << MCQI_CAPABILITIES) | (1 << MCQI_VERSION) | (1 << MCQI_ACTIVATION_METHOD))
            .with_component_size(0x0100_0000)
            .with_max_component_size(0x0200_0000)
            .with_log_mcda_word_size(2)
            .with_mcda_max_write_size(0x1000)
            .with_rd_en(true)
            .with_match_psid(true)
            .as_bytes()
            .to_vec(),
        MCQI_VERSION => {
            let s = b"22.41.1000";
            let mut v = McqiVersion::new()
                .with_version((22 << 24) | (41 << 16) | 1000)
                .with_version_string_length(s.len() as u8)
                .with_build_time_valid(true)
                .with_build_time(0x2024_0601_1200_0000);
            for (k, b) in s.iter().enumerate() {
                let _ = v.set_version_string(k, *b);
            }
            v.as_bytes().to_vec()
        }
        MCQI_ACTIVATION_METHOD => McqiActivationMethod::new().with_pending_fw_reset(true).as_bytes().to_vec(),
        _ => return Err(BAD_FIELD),
    };
    let offset = r.offset() as usize;
    let size = usize::from(r.data_size()).min(info.len().saturating_sub(offset));
    let data = info.get(offset..offset + size).unwrap_or(&[]);
    let head =
        r.with_info_size(u32::try_from(info.len()).unwrap_or(0)).with_data_size(u16::try_from(data.len()).unwrap_or(0));
    let mut out = head.as_bytes().to_vec();
    out.extend_from_slice(data);
    if out.len() > room {
        return Err(fail(CmdStatus::BAD_OUTPUT_LENGTH, synd::OUTPUT_TOO_SHORT));
    }
    Ok(out)
}
