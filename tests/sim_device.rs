//! The device model driven the way a driver drives hardware: BAR0, queue entries, mailboxes, commands.
#![cfg(feature = "sim")]

mod sim_driver;

use mlx5_cmdif::host::{DmaMemory, PageProvider};
use mlx5_cmdif::prm::*;
use mlx5_cmdif::sim::{syndrome, HcaState, SimConfig, SimDevice};
use sim_driver::*;
use zerocopy::IntoBytes;

#[test]
fn boot_registers_and_initializing() {
    let bus = mlx5_cmdif::sim::SimBus::new();
    let cfg = SimConfig { boot_reads: 3, reinit_reads: 2, ..SimConfig::default() };
    let dev = SimDevice::new(&bus, cfg);
    let mmio = dev.mmio();
    use mlx5_cmdif::host::Mmio;
    let be = |off: usize| u32::from_be_bytes(mmio.read32(off).to_le_bytes());
    let init = dword(InitialSeg::FIELD_INITIALIZING);
    assert_eq!(be(init) >> 31, 1);
    assert_eq!(be(init) >> 31, 1);
    assert_eq!(be(init) >> 31, 1);
    assert_eq!(be(init) >> 31, 0, "clears after the configured reads");
    let rev = be(dword(InitialSeg::FIELD_CMD_INTERFACE_REV));
    assert_eq!(rev >> 16, 5);
    assert_eq!(rev & 0xffff, 1000);
    let fw = be(dword(InitialSeg::FIELD_FW_REV_MAJOR));
    assert_eq!((fw & 0xffff, fw >> 16), (22, 41));
    let l = be(dword(InitialSeg::FIELD_LOG_CMDQ_SIZE));
    assert_eq!(((l >> 4) & 0xf, l & 0xf), (5, 6));
    // cmd_exec_to: 60000 ms with multiplier 0 (facts §1, 0xff8).
    assert_eq!(be(0xff8), 60_000);
    // Beyond BAR0: all ones.
    assert_eq!(mmio.read32(InitialSeg::SIZE), u32::MAX);
    assert_eq!(mmio.read32(1 << 20), u32::MAX);
    // The health counter advances.
    let hc = dword(InitialSeg::FIELD_HEALTH_COUNTER);
    let a = be(hc);
    let b = be(hc);
    assert_ne!(a, b);
    // Programming the queue sets initializing again, briefly.
    let q = bus.alloc(4096, 4096);
    mmio.write32(
        dword(InitialSeg::FIELD_CMDQ_PHY_ADDR_63_32),
        u32::from_le_bytes(((q.bus_addr() >> 32) as u32).to_be_bytes()),
    );
    mmio.write32(dword(InitialSeg::FIELD_CMDQ_PHY_ADDR_31_12), u32::from_le_bytes((q.bus_addr() as u32).to_be_bytes()));
    assert_eq!(be(init) >> 31, 1);
    assert_eq!(be(init) >> 31, 1);
    assert_eq!(be(init) >> 31, 0);
    assert_eq!(dev.cmdq_addr(), Some(q.bus_addr()));
    // The read-only size/stride survived the write; nic_interface reads FULL_DRIVER (bits 10:8 = 0).
    let l = be(dword(InitialSeg::FIELD_LOG_CMDQ_SIZE));
    assert_eq!(((l >> 4) & 0xf, l & 0xf, (l >> 8) & 7), (5, 6, 0));
}

#[test]
fn ownership_handoff_and_entry_signature() {
    let mut d = Driver::new(quick());
    let e = d.prepare(3, &hdr(Opcode::ENABLE_HCA, 0), EnableHcaOut::SIZE);
    d.write_entry(3, &e);
    assert!(d.owned(3));
    d.ring(3);
    let done = d.poll(3, 10).expect("sync mode completes inside the doorbell write");
    assert!(!done.entry.ownership());
    assert_eq!(done.delivery, DeliveryStatus::OK);
    assert_eq!(done.entry.token(), e.token());
    assert_eq!(xor8(done.entry.as_bytes()), 0xff, "completion signature covers the whole entry");
    assert_eq!(done.status(), CmdStatus::OK);
    assert_eq!(d.dev.hca_state(), HcaState::Enabled);
    let rec = d.dev.stats().last.unwrap();
    assert_eq!((rec.slot, rec.opcode), (3, Opcode::ENABLE_HCA.0));
    // Ringing a slot that software owns does nothing.
    d.ring(3);
    assert_eq!(d.dev.stats().spurious_doorbells, 1);
}

#[test]
fn commands_before_enable_hca_fail_with_bad_system_state() {
    let mut d = Driver::new(quick());
    let done = d.cmd(&hdr(Opcode::NOP, 0), 16);
    assert_eq!(done.status(), CmdStatus::BAD_SYSTEM_STATE);
    assert_eq!(done.syndrome(), syndrome::NOT_ENABLED);
    let done = d.cmd(&hdr(Opcode::QUERY_ISSI, 0), QueryIssiOut::SIZE);
    assert_eq!(done.status(), CmdStatus::BAD_SYSTEM_STATE);
    // Unknown opcode: bad opcode.
    let done = d.cmd(&hdr(Opcode(0x7ff), 0), 16);
    assert_eq!(done.status(), CmdStatus::BAD_OPCODE);
    d.ok(&hdr(Opcode::ENABLE_HCA, 0), EnableHcaOut::SIZE);
    d.ok(&hdr(Opcode::NOP, 0), 16);
    // A PRM opcode the model does not implement.
    let done = d.cmd(&hdr(Opcode::CREATE_EQ, 0), 16);
    assert_eq!((done.status(), done.syndrome()), (CmdStatus::BAD_OPCODE, syndrome::NOT_MODELLED));
}

fn enabled() -> Driver {
    let mut d = Driver::new(quick());
    d.ok(&hdr(Opcode::ENABLE_HCA, 0), EnableHcaOut::SIZE);
    d
}

/// Writes `e` (after `f` changes it), rings and returns the delivery status.
fn deliver(d: &mut Driver, e: CmdQueueEntry) -> DeliveryStatus {
    d.write_entry(0, &e);
    d.ring(0);
    d.poll(0, 10).expect("completes").delivery
}

#[test]
fn delivery_status_checks() {
    let mut d = enabled();
    let big = vec![0u8; 16 + 600]; // a NOP with two input blocks
    let nop = |d: &mut Driver| {
        d.prepare(
            0,
            &{
                let mut m = big.clone();
                m[..16].copy_from_slice(&hdr(Opcode::NOP, 0));
                m
            },
            16 + 600,
        )
    };

    // Good.
    let e = nop(&mut d);
    assert_eq!(deliver(&mut d, e), DeliveryStatus::OK);

    // Bad type.
    let mut e = nop(&mut d);
    e.set_type(CmdXport(3));
    sign_entry(&mut e);
    assert_eq!(deliver(&mut d, e), DeliveryStatus::BAD_DESCRIPTOR_TYPE);

    // Bad entry signature.
    let mut e = nop(&mut d);
    e.set_signature(e.signature() ^ 1);
    assert_eq!(deliver(&mut d, e), DeliveryStatus::SIGNATURE_ERROR);

    // Token of an input block differs from the entry's.
    let e = nop(&mut d);
    let blk = &d.chains.last().unwrap().1.blocks[1];
    let mut b = CmdIfBox::new();
    blk.read(0, &mut b.0);
    b.set_token(b.token() ^ 0x40);
    blk.write(0, b.as_bytes());
    assert_eq!(deliver(&mut d, e), DeliveryStatus::TOKEN_ERROR);

    // Bad block number in the output chain.
    let e = nop(&mut d);
    let blk = &d.chains.last().unwrap().2.blocks[1];
    blk.read(0, &mut b.0);
    b.set_block_number(7);
    blk.write(0, b.as_bytes());
    assert_eq!(deliver(&mut d, e), DeliveryStatus::BAD_BLOCK_NUMBER);

    // Input pointer not aligned (512 B granularity in the entry).
    let mut e = nop(&mut d);
    let p = d.chains.last().unwrap().1.head();
    mlx5_cmdif::layout::bits::set64(&mut e.0, CmdQueueEntry::FIELD_INPUT_MAILBOX_POINTER_63_32.offset, p + 8);
    sign_entry(&mut e);
    assert_eq!(deliver(&mut d, e), DeliveryStatus::IN_PTR_ALIGN_ERROR);

    // Output pointer not aligned.
    let mut e = nop(&mut d);
    let p = d.chains.last().unwrap().2.head();
    mlx5_cmdif::layout::bits::set64(&mut e.0, CmdQueueEntry::FIELD_OUTPUT_MAILBOX_POINTER_63_32.offset, p + 0x40);
    sign_entry(&mut e);
    assert_eq!(deliver(&mut d, e), DeliveryStatus::OUT_PTR_ALIGN_ERROR);

    // Input pointer to unmapped memory: a DMA fault reported as a pointer error.
    let mut e = nop(&mut d);
    set_in_ptr(&mut e, 0x7_0000_0000);
    sign_entry(&mut e);
    assert_eq!(deliver(&mut d, e), DeliveryStatus::IN_PTR_ALIGN_ERROR);

    // Input length says there are blocks but there is no chain.
    let mut e = nop(&mut d);
    set_in_ptr(&mut e, 0);
    sign_entry(&mut e);
    assert_eq!(deliver(&mut d, e), DeliveryStatus::IN_LENGTH_ERROR);

    // Input shorter than a header.
    let mut e = nop(&mut d);
    e.set_input_length(4);
    sign_entry(&mut e);
    assert_eq!(deliver(&mut d, e), DeliveryStatus::IN_LENGTH_ERROR);

    // Output length below the shortest output.
    let mut e = nop(&mut d);
    e.set_output_length(4);
    sign_entry(&mut e);
    assert_eq!(deliver(&mut d, e), DeliveryStatus::OUT_LENGTH_ERROR);

    let s = d.dev.stats();
    assert_eq!(s.delivery_errors, 10);
}

#[test]
fn mailbox_chains_of_0_1_2_and_512_blocks() {
    let mut d = enabled();
    for blocks in [0usize, 1, 2, 512] {
        let len = 16 + blocks * 512;
        let mut msg = vec![0xa5u8; len];
        msg[..16].copy_from_slice(&hdr(Opcode::NOP, 0));
        let done = d.cmd(&msg, len);
        assert_eq!(done.status(), CmdStatus::OK, "{blocks} blocks");
        assert_eq!(done.out_blocks.len(), blocks);
        for (i, b) in done.out_blocks.iter().enumerate() {
            assert_eq!(b.block_number() as usize, i);
            assert_eq!(b.token(), done.entry.token());
            // The NOP's output is inline: the blocks keep what the host prepared (zeros, unsigned as
            // checksums are off).
            assert!(b.mailbox_data_bytes().iter().all(|x| *x == 0), "output beyond the NOP output is zero");
        }
    }
    assert_eq!(d.dev.stats().executed(Opcode::NOP.0), 4);
}

#[test]
fn bring_up_pages_and_teardown() {
    let mut d = enabled();
    // Capabilities need the boot pages; INIT_HCA needs boot + init pages.
    let done = d.cmd(&hdr(Opcode::QUERY_HCA_CAP, 1), QueryHcaCapOut::SIZE);
    assert_eq!((done.status(), done.syndrome()), (CmdStatus::BAD_SYSTEM_STATE, syndrome::PAGES_MISSING));
    let done = d.cmd(InitHcaIn::new().with_opcode(Opcode::INIT_HCA.0).as_bytes(), 16);
    assert_eq!((done.status(), done.syndrome()), (CmdStatus::BAD_SYSTEM_STATE, syndrome::PAGES_MISSING));

    let mut pages = mlx5_cmdif::sim::SimPages::new(&d.bus);
    let boot = d.query_pages(1);
    assert_eq!(boot, 16);
    d.give_pages(&mut pages, boot as usize);
    assert_eq!(d.query_pages(1), 0);
    let done = d.cmd(InitHcaIn::new().with_opcode(Opcode::INIT_HCA.0).as_bytes(), 16);
    assert_eq!(done.status(), CmdStatus::BAD_SYSTEM_STATE, "init pages still missing");
    // A page that is not on the bus is refused.
    let mut msg = ManagePagesIn::new()
        .with_opcode(Opcode::MANAGE_PAGES.0)
        .with_op_mod(1)
        .with_input_num_entries(1)
        .as_bytes()
        .to_vec();
    msg.resize(ManagePagesIn::len_with_pas(1), 0);
    ManagePagesIn::set_tail_pas(&mut msg, 0, 0x9_0000_0000).unwrap();
    assert_eq!(d.cmd(&msg, 16).syndrome(), syndrome::BAD_PAGE);
    let init = d.query_pages(2);
    assert_eq!(init, 48);
    d.give_pages(&mut pages, init as usize);
    assert_eq!(d.dev.pages_held(), 64);
    // Query caps across a 9-block output chain.
    let out = d.ok(&hdr(Opcode::QUERY_HCA_CAP, 0), QueryHcaCapOut::SIZE);
    let cap = *QueryHcaCapOut::read(&out).capability().cmd_hca_cap();
    assert_eq!(cap.port_type(), PortType::ETHERNET);
    assert_eq!(cap.num_ports(), 2);
    assert_eq!(cap.cmdif_checksum(), CmdifChecksum::ENABLED);
    // SET_HCA_CAP across a 9-block input chain; a field above its maximum is refused.
    let mut set = SetHcaCapIn::new().with_opcode(Opcode::SET_HCA_CAP.0);
    set.capability_mut().cmd_hca_cap_mut().0 = cap.0;
    set.capability_mut().cmd_hca_cap_mut().set_log_max_qp(17);
    set.capability_mut().cmd_hca_cap_mut().set_cmdif_checksum(CmdifChecksum::DISABLED);
    d.ok(set.as_bytes(), 16);
    let out = d.ok(&hdr(Opcode::QUERY_HCA_CAP, 1), QueryHcaCapOut::SIZE);
    let cur = *QueryHcaCapOut::read(&out).capability().cmd_hca_cap();
    assert_eq!((cur.log_max_qp(), cur.cmdif_checksum()), (17, CmdifChecksum::DISABLED));
    set.capability_mut().cmd_hca_cap_mut().set_log_max_qp(31);
    assert_eq!(d.cmd(set.as_bytes(), 16).syndrome(), syndrome::CAP_NOT_SETTABLE);
    // Other cap pages.
    for t in [CapType::GENERAL_2, CapType::ETHERNET_OFFLOADS, CapType::QOS] {
        d.ok(&hdr(Opcode::QUERY_HCA_CAP, t.0 << 1 | 1), QueryHcaCapOut::SIZE);
    }
    let out = d.ok(&hdr(Opcode::QUERY_HCA_CAP, CapType::ETHERNET_OFFLOADS.0 << 1), QueryHcaCapOut::SIZE);
    assert!(QueryHcaCapOut::read(&out).capability().per_protocol_networking_offload_caps().csum_cap());
    assert_eq!(
        d.cmd(&hdr(Opcode::QUERY_HCA_CAP, CapType::ODP.0 << 1), QueryHcaCapOut::SIZE).status(),
        CmdStatus::BAD_PARAMETER
    );

    let mut init = InitHcaIn::new().with_opcode(Opcode::INIT_HCA.0);
    init.set_sw_owner_id(0, 0xdead_beef).unwrap();
    d.ok(init.as_bytes(), InitHcaOut::SIZE);
    assert_eq!(d.dev.hca_state(), HcaState::Initialized);
    assert_eq!(d.dev.sw_owner_id()[0], 0xdead_beef);
    // Caps are fixed after INIT_HCA.
    set.capability_mut().cmd_hca_cap_mut().set_log_max_qp(17);
    assert_eq!(d.cmd(set.as_bytes(), 16).status(), CmdStatus::BAD_SYSTEM_STATE);
    // DISABLE_HCA while initialized is refused.
    assert_eq!(d.cmd(&hdr(Opcode::DISABLE_HCA, 0), DisableHcaOut::SIZE).status(), CmdStatus::BAD_SYSTEM_STATE);

    // Teardown, then reclaim every page.
    let out = d.ok(
        TeardownHcaIn::new().with_opcode(Opcode::TEARDOWN_HCA.0).with_profile(TeardownProfile::FORCE_CLOSE).as_bytes(),
        16,
    );
    assert_eq!(TeardownHcaOut::read(&out).state(), TeardownState::SUCCESS);
    assert_eq!(d.query_pages(3), -64);
    let mut returned = Vec::new();
    while d.dev.pages_held() > 0 {
        let ask = 10;
        let msg = ManagePagesIn::new().with_opcode(Opcode::MANAGE_PAGES.0).with_op_mod(2).with_input_num_entries(ask);
        let out = d.ok(msg.as_bytes(), ManagePagesOut::len_with_pas(ask as usize));
        let n = ManagePagesOut::read(&out).output_num_entries();
        assert!(n <= ask && n > 0, "never more than asked");
        for i in 0..n as usize {
            returned.push(ManagePagesOut::tail_pas(&out, i).unwrap());
        }
    }
    assert_eq!(returned.len(), 64);
    for a in returned {
        assert!(pages.free_page(a), "firmware returned a page it was given");
    }
    assert_eq!(pages.pages_out(), 0);
    // An output too short for the entries asked for.
    d.give_pages(&mut pages, 2);
    let msg = ManagePagesIn::new().with_opcode(Opcode::MANAGE_PAGES.0).with_op_mod(2).with_input_num_entries(2);
    assert_eq!(d.cmd(msg.as_bytes(), 16).status(), CmdStatus::BAD_OUTPUT_LENGTH);
    d.ok(&hdr(Opcode::DISABLE_HCA, 0), DisableHcaOut::SIZE);
    assert_eq!(d.dev.hca_state(), HcaState::Disabled);
}

#[test]
fn length_checks_of_commands() {
    let mut d = enabled();
    // INIT_HCA's input is 32 bytes.
    let done = d.cmd(&hdr(Opcode::INIT_HCA, 0), 16);
    assert_eq!((done.status(), done.syndrome()), (CmdStatus::BAD_INPUT_LENGTH, syndrome::INPUT_TOO_SHORT));
    // QUERY_ISSI's output is 112 bytes.
    let done = d.cmd(&hdr(Opcode::QUERY_ISSI, 0), 16);
    assert_eq!((done.status(), done.syndrome()), (CmdStatus::BAD_OUTPUT_LENGTH, syndrome::OUTPUT_TOO_SHORT));
    // ENABLE_HCA's 12-byte output is enough.
    d.ok(&hdr(Opcode::ENABLE_HCA, 0), 12);
}

#[test]
fn block_signatures_are_checked_when_checksums_are_enabled() {
    let mut d = enabled();
    let _pages = enable_checksums(&mut d);
    let mut msg = vec![0u8; 16 + 512];
    msg[..16].copy_from_slice(&hdr(Opcode::NOP, 0));
    assert_eq!(d.exec(&msg, 16).delivery, DeliveryStatus::SIGNATURE_ERROR, "unsigned input block");
    d.checksums = true;
    assert_eq!(d.exec(&msg, 16).delivery, DeliveryStatus::OK);
}

/// Gives the boot pages and turns `cmdif_checksum` on with SET_HCA_CAP (the driver still signs nothing);
/// returns the pages, which must outlive the commands.
fn enable_checksums(d: &mut Driver) -> mlx5_cmdif::sim::SimPages {
    let mut pages = mlx5_cmdif::sim::SimPages::new(&d.bus);
    let boot = d.query_pages(1);
    d.give_pages(&mut pages, boot as usize);
    let out = d.ok(&hdr(Opcode::QUERY_HCA_CAP, 1), QueryHcaCapOut::SIZE);
    let mut set = SetHcaCapIn::new().with_opcode(Opcode::SET_HCA_CAP.0);
    set.set_capability(QueryHcaCapOut::read(&out).capability());
    set.capability_mut().cmd_hca_cap_mut().set_cmdif_checksum(CmdifChecksum::ENABLED);
    d.ok(set.as_bytes(), 16);
    pages
}

fn initialized() -> (Driver, mlx5_cmdif::sim::SimPages) {
    let mut d = Driver::new(quick());
    let p = d.bring_up();
    (d, p)
}

fn reg_msg(id: RegisterId, write: bool, payload: &[u8]) -> Vec<u8> {
    let mut m = AccessRegisterIn::new()
        .with_opcode(Opcode::ACCESS_REG.0)
        .with_op_mod(if write { 0 } else { 1 })
        .with_register_id(id.0)
        .as_bytes()
        .to_vec();
    m.extend_from_slice(payload);
    m
}

fn access<T: zerocopy::FromBytes>(d: &mut Driver, id: RegisterId, write: bool, payload: &[u8]) -> T {
    let out = d.ok(&reg_msg(id, write, payload), AccessRegisterOut::SIZE + payload.len());
    T::read(&out[AccessRegisterOut::SIZE..])
}

#[test]
fn paos_admin_status_persists_per_port() {
    let (mut d, _p) = initialized();
    let r: PaosReg = access(&mut d, RegisterId::PAOS, false, PaosReg::new().with_local_port(1).as_bytes());
    assert_eq!((r.admin_status(), r.oper_status()), (PortStatus::UP, PortStatus::UP));
    // Without ase the admin status is not written.
    let _: PaosReg = access(
        &mut d,
        RegisterId::PAOS,
        true,
        PaosReg::new().with_local_port(1).with_admin_status(PortStatus::DOWN).as_bytes(),
    );
    assert_eq!(d.dev.port_admin(1), Some(PortStatus::UP));
    let _: PaosReg = access(
        &mut d,
        RegisterId::PAOS,
        true,
        PaosReg::new().with_local_port(1).with_admin_status(PortStatus::DOWN).with_ase(true).as_bytes(),
    );
    let r: PaosReg = access(&mut d, RegisterId::PAOS, false, PaosReg::new().with_local_port(1).as_bytes());
    assert_eq!((r.admin_status(), r.oper_status()), (PortStatus::DOWN, PortStatus::DOWN));
    assert_eq!(d.dev.port_admin(1), Some(PortStatus::DOWN));
    assert_eq!(d.dev.port_admin(2), Some(PortStatus::UP));
    // The vport follows the port.
    let out = d.ok(&hdr(Opcode::QUERY_VPORT_STATE, 0), QueryVportStateOut::SIZE);
    assert_eq!(QueryVportStateOut::read(&out).state(), VportState::DOWN);
    // Port 3 does not exist; nor does register 0x1234.
    let done = d.cmd(&reg_msg(RegisterId::PAOS, false, PaosReg::new().with_local_port(3).as_bytes()), 32);
    assert_eq!((done.status(), done.syndrome()), (CmdStatus::BAD_PARAMETER, syndrome::BAD_PORT));
    let done = d.cmd(&reg_msg(RegisterId(0x1234), false, &[0; 16]), 32);
    assert_eq!((done.status(), done.syndrome()), (CmdStatus::BAD_PARAMETER, syndrome::UNKNOWN_REGISTER));
    // The register payload must be in the input and fit in the output.
    assert_eq!(d.cmd(&reg_msg(RegisterId::PAOS, false, &[0; 8]), 32).status(), CmdStatus::BAD_INPUT_LENGTH);
    assert_eq!(
        d.cmd(&reg_msg(RegisterId::PAOS, false, PaosReg::new().with_local_port(1).as_bytes()), 24).status(),
        CmdStatus::BAD_OUTPUT_LENGTH
    );
}

#[test]
fn port_and_management_registers() {
    let (mut d, _p) = initialized();
    // PPCNT 802.3 counters grow.
    let q = PpcntReg::new().with_local_port(1).with_grp(PpcntGrp::IEEE_802_3);
    let a: PpcntReg = access(&mut d, RegisterId::PPCNT, false, q.as_bytes());
    let b: PpcntReg = access(&mut d, RegisterId::PPCNT, false, q.as_bytes());
    let tx = |r: &PpcntReg| r.counter_set().eth_802_3_cntrs_grp_data_layout().a_frames_transmitted_ok_low();
    assert!(tx(&b) > tx(&a) && tx(&a) > 0);
    // PMTU.
    let r: PmtuReg =
        access(&mut d, RegisterId::PMTU, true, PmtuReg::new().with_local_port(1).with_admin_mtu(9000).as_bytes());
    assert_eq!((r.max_mtu(), r.oper_mtu()), (9216, 9000));
    // PTYS.
    let r: PtysReg =
        access(&mut d, RegisterId::PTYS, false, PtysReg::new().with_local_port(1).with_proto_mask(4).as_bytes());
    assert_ne!(r.eth_proto_capability(), 0);
    assert_eq!(r.eth_proto_oper(), 1 << 20, "100GBASE-CR4");
    // MTCAP / MTMP: temperatures in 0.125 degree units.
    let r: MtcapReg = access(&mut d, RegisterId::MTCAP, false, MtcapReg::new().as_bytes());
    assert_eq!((r.sensor_count(), r.sensor_map()), (2, 0b11));
    let r: MtmpReg = access(&mut d, RegisterId::MTMP, false, MtmpReg::new().with_sensor_index(0).as_bytes());
    assert!((20 * 8..90 * 8).contains(&r.temperature()), "{}", r.temperature());
    assert!(r.max_temperature() >= r.temperature());
    assert_eq!(&r.sensor_name_hi().to_be_bytes(), b"ASIC");
    assert_eq!(
        d.cmd(&reg_msg(RegisterId::MTMP, false, MtmpReg::new().with_sensor_index(9).as_bytes()), 48).status(),
        CmdStatus::BAD_PARAMETER
    );
    // MCIA: QSFP28 identifier and vendor name.
    let r: MciaReg = access(
        &mut d,
        RegisterId::MCIA,
        false,
        MciaReg::new().with_i2c_device_address(0x50).with_device_address(0).with_size(1).as_bytes(),
    );
    assert_eq!(r.dword_0() >> 24, 0x11);
    let r: MciaReg = access(
        &mut d,
        RegisterId::MCIA,
        false,
        MciaReg::new().with_i2c_device_address(0x50).with_device_address(148).with_size(16).as_bytes(),
    );
    let name: Vec<u8> =
        [r.dword_0(), r.dword_1(), r.dword_2(), r.dword_3()].iter().flat_map(|w| w.to_be_bytes()).collect();
    assert_eq!(&name, b"NVIDIA          ");
    assert_eq!(r.status(), 0);
    // MCQS / MCQI.
    let r: McqsReg = access(&mut d, RegisterId::MCQS, false, McqsReg::new().as_bytes());
    assert!(r.last_index_flag());
    assert_eq!(r.identifier(), 1);
    let mut q = McqiReg::new().with_info_type(1).with_data_size(124).as_bytes().to_vec();
    q.resize(McqiReg::SIZE + 124, 0);
    let out = d.ok(&reg_msg(RegisterId::MCQI, false, &q), AccessRegisterOut::SIZE + McqiReg::SIZE + 124);
    let data = &out[AccessRegisterOut::SIZE..];
    let v = McqiReg::tail_data(data, 0).unwrap().mcqi_version();
    assert_eq!(&v.version_string_bytes()[..10], b"22.41.1000");
}

#[test]
fn adapter_driver_version_vport_and_diagnostics() {
    let (mut d, _p) = initialized();
    let out = d.ok(&hdr(Opcode::QUERY_ADAPTER, 0), QueryAdapterOut::SIZE);
    let a = *QueryAdapterOut::read(&out).query_adapter_struct();
    assert_eq!(a.ieee_vendor_id(), 0x02c9);
    assert_eq!(&a.vsd_contd_psid_bytes()[..13], b"MT_0000000359");
    let mut v = SetDriverVersionIn::new().with_opcode(Opcode::SET_DRIVER_VERSION.0);
    v.driver_version_bytes_mut()[..22].copy_from_slice(b"Linux,mlx5_core,6.12.0");
    d.ok(v.as_bytes(), 16);
    assert_eq!(d.dev.driver_version(), "Linux,mlx5_core,6.12.0");

    let out = d.ok(&hdr(Opcode::QUERY_NIC_VPORT_CONTEXT, 0), QueryNicVportContextOut::SIZE);
    let c = *QueryNicVportContextOut::read(&out).nic_vport_context();
    assert_eq!(c.permanent_address().mac_addr_47_32(), 0xb8ce);
    assert_eq!(c.permanent_address().mac_addr_31_0(), 0xf612_3456);
    assert_eq!(c.mtu(), 1500);
    d.ok(&hdr(Opcode::QUERY_HCA_VPORT_CONTEXT, 0), QueryHcaVportContextOut::SIZE);
    let out = d.ok(&hdr(Opcode::QUERY_ESW_FUNCTIONS, 0), QueryEswFunctionsOut::SIZE);
    assert_eq!(QueryEswFunctionsOut::read(&out).host_params_context().host_total_vfs(), 8);

    // Diagnostic counters: not enabled yet, then two counters sampled twice, values advancing.
    let q = QueryDiagnosticCntrsIn::new().with_opcode(Opcode::QUERY_DIAGNOSTIC_COUNTERS.0).with_num_of_samples(1);
    assert_eq!(d.cmd(q.as_bytes(), 64).status(), CmdStatus::BAD_RESOURCE_STATE);
    let mut set = SetDiagnosticParamsIn::new().with_opcode(Opcode::SET_DIAGNOSTIC_PARAMS.0);
    set.diagnostic_params_context_mut().set_num_of_counters(2);
    set.diagnostic_params_context_mut().set_enable(true);
    let mut m = set.as_bytes().to_vec();
    m.extend_from_slice(CounterId::new().with_counter_id(0x401).as_bytes());
    m.extend_from_slice(CounterId::new().with_counter_id(0x402).as_bytes());
    d.ok(&m, 16);
    let out = d.ok(&hdr(Opcode::QUERY_DIAGNOSTIC_PARAMS, 0), 64);
    let ctx_at = QueryDiagnosticParamsOut::FIELD_DIAGNOSTIC_PARAMS_CONTEXT.offset / 8;
    assert_eq!(DiagnosticParamsContext::tail_counter_id(&out[ctx_at..], 1).unwrap().counter_id(), 0x402);
    let len = QueryDiagnosticCntrsOut::len_with_diag_counter(2);
    let a = d.ok(q.as_bytes(), len);
    let b = d.ok(q.as_bytes(), len);
    let val = |o: &[u8]| QueryDiagnosticCntrsOut::tail_diag_counter(o, 1).unwrap().counter_value_l();
    assert_eq!(QueryDiagnosticCntrsOut::tail_diag_counter(&a, 1).unwrap().counter_id(), 0x402);
    assert!(val(&b) > val(&a));
}

#[test]
fn user_contexts_and_uid_checks() {
    let (mut d, _p) = initialized();
    let mut c = CreateUctxIn::new().with_opcode(Opcode::CREATE_UCTX.0);
    c.uctx_mut().set_cap(UctxCap::TOOLS_RESOURCES);
    let out = d.ok(c.as_bytes(), 16);
    let uid = CreateUctxOut::read(&out).uid();
    assert_ne!(uid, 0);
    assert_eq!(d.dev.live_uids(), vec![uid]);
    // A command carrying the live uid runs.
    let with_uid = |op: Opcode, uid: u16| MboxInHdr::new().with_opcode(op.0).with_uid(uid).as_bytes().to_vec();
    d.ok(&with_uid(Opcode::QUERY_ADAPTER, uid), QueryAdapterOut::SIZE);
    // A dead uid is refused; so are configuration changes by the tools uid.
    let done = d.cmd(&with_uid(Opcode::NOP, uid + 1), 16);
    assert_eq!((done.status(), done.syndrome()), (CmdStatus::BAD_PARAMETER, syndrome::UID_NOT_LIVE));
    let mut set = SetHcaCapIn::new().with_opcode(Opcode::SET_HCA_CAP.0);
    set.0[..16].copy_from_slice(&with_uid(Opcode::SET_HCA_CAP, uid));
    assert_eq!(d.cmd(set.as_bytes(), 16).syndrome(), syndrome::UID_NOT_PERMITTED);
    let mut mp = ManagePagesIn::new().with_opcode(Opcode::MANAGE_PAGES.0).with_op_mod(2);
    mp.0[..16].copy_from_slice(&with_uid(Opcode::MANAGE_PAGES, uid)[..16]);
    mp.set_op_mod(2);
    assert_eq!(d.cmd(mp.as_bytes(), 16).syndrome(), syndrome::UID_NOT_PERMITTED);
    let mut init = InitHcaIn::new();
    init.0[..16].copy_from_slice(&with_uid(Opcode::INIT_HCA, uid));
    assert_eq!(d.cmd(init.as_bytes(), 16).syndrome(), syndrome::UID_NOT_PERMITTED);
    // A capability the device does not offer.
    c.uctx_mut().set_cap(UctxCap::RDMA_CTRL);
    assert_eq!(d.cmd(c.as_bytes(), 16).status(), CmdStatus::BAD_PARAMETER);
    // Destroy, then destroy again.
    let del = DestroyUctxIn::new().with_opcode(Opcode::DESTROY_UCTX.0).with_uid(uid);
    d.ok(del.as_bytes(), 16);
    assert!(d.dev.live_uids().is_empty());
    assert_eq!(d.cmd(del.as_bytes(), 16).status(), CmdStatus::BAD_RESOURCE);
}

#[test]
fn threaded_mode_completes_commands_on_many_slots() {
    let mut d = Driver::threaded(SimConfig::default());
    assert!(d.dev.is_threaded());
    let _pages = d.bring_up();
    for round in 0..20 {
        for slot in 0..8 {
            let e = d.prepare(slot, &hdr(Opcode::NOP, 0), 16);
            d.write_entry(slot, &e);
        }
        // One doorbell write for eight slots.
        d.write_reg(dword(InitialSeg::FIELD_COMMAND_DOORBELL_VECTOR), 0xff);
        for slot in 0..8 {
            let done = d.poll(slot, u32::MAX).unwrap_or_else(|| panic!("round {round} slot {slot} timed out"));
            assert_eq!((done.delivery, done.status()), (DeliveryStatus::OK, CmdStatus::OK));
        }
    }
    assert_eq!(d.dev.stats().executed(Opcode::NOP.0), 160);
    d.dev.shutdown();
    assert!(!d.dev.is_threaded());
    d.ok(&hdr(Opcode::NOP, 0), 16);
}

/// A doorbell rung while another thread shuts the device thread down is executed by one side or the
/// other, never lost. The race window is a few instructions wide, so each round moves the ring a little
/// later relative to the shutdown; a lost doorbell shows as a command that never completes.
#[test]
fn doorbell_racing_shutdown_is_never_lost() {
    use std::sync::{Arc, Barrier};
    for round in 0..200u32 {
        let mut d = Driver::threaded(quick());
        let e = d.prepare(0, &hdr(Opcode::NOP, 0), 16);
        d.write_entry(0, &e);
        let start = Arc::new(Barrier::new(2));
        let dev = d.dev.clone();
        let stopper = {
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                start.wait();
                dev.shutdown();
            })
        };
        start.wait();
        for _ in 0..round * 50 {
            std::hint::spin_loop();
        }
        d.ring(0);
        stopper.join().unwrap();
        assert!(!d.dev.is_threaded());
        let done = d.poll(0, u32::MAX).unwrap_or_else(|| panic!("round {round}: the doorbell was lost"));
        assert_eq!(done.delivery, DeliveryStatus::OK, "round {round}");
    }
}

#[test]
fn output_blocks_carrying_output_are_written_whole_and_the_rest_left_as_the_host_prepared_them() {
    let mut d = enabled();
    for checksums in [false, true] {
        if checksums {
            let pages = enable_checksums(&mut d);
            d.checksums = true;
            std::mem::forget(pages);
        }
        // QUERY_ADAPTER's output fills part of its first block; the host gives room for 3 blocks, all full
        // of old data (signed, when checksums are on, as a host prepares them).
        let out_len = 16 + 2 * 512 + 100;
        let carried = QueryAdapterOut::SIZE - 16;
        assert!(carried < 512);
        let e = d.prepare(0, &hdr(Opcode::QUERY_ADAPTER, 0), out_len);
        let token = e.token();
        let mut prepared = Vec::new();
        for (i, b) in d.chains[0].2.blocks.iter().enumerate() {
            let mut bx = CmdIfBox::new();
            b.read(0, &mut bx.0);
            bx.mailbox_data_bytes_mut().fill(0xee);
            assert_eq!((bx.block_number() as usize, bx.token()), (i, token));
            if checksums {
                sign_block(&mut bx);
            }
            b.write(0, bx.as_bytes());
            prepared.push(bx);
        }
        assert_eq!(deliver(&mut d, e), DeliveryStatus::OK, "checksums {checksums}");
        let done = d.collect(0);
        assert_eq!(done.out_blocks.len(), 3);
        let first = &done.out_blocks[0];
        let vsd = &first.mailbox_data_bytes()[..carried];
        assert!(vsd.windows(8).any(|w| w == b"MLNX-SIM"), "the output landed in block 0");
        assert!(first.mailbox_data_bytes()[carried..].iter().all(|x| *x == 0), "block 0 zero-padded past the output");
        assert_eq!((first.block_number(), first.token()), (0, token));
        if checksums {
            assert_eq!(xor8(first.as_bytes()), 0xff, "block signature");
            assert_eq!(
                xor8(&first.as_bytes()[512..=CmdIfBox::FIELD_CTRL_SIGNATURE.offset / 8]),
                0xff,
                "ctrl signature"
            );
        }
        for (i, (got, host)) in done.out_blocks.iter().zip(&prepared).enumerate().skip(1) {
            assert_eq!(got, host, "block {i} past the output is not written (checksums {checksums})");
        }
    }
}

#[test]
fn mailboxes_the_host_dropped_are_dma_faults_even_after_the_device_used_them() {
    let mut d = enabled();
    let mut msg = vec![0x5au8; 16 + 512];
    msg[..16].copy_from_slice(&hdr(Opcode::NOP, 0));
    let e = d.prepare(0, &msg, 16 + 512);
    assert_eq!(deliver(&mut d, e), DeliveryStatus::OK);
    // Same entry, same chains: still fine.
    assert_eq!(deliver(&mut d, e), DeliveryStatus::OK);
    // The host frees both chains; the entry still points at them.
    d.chains.clear();
    assert_eq!(deliver(&mut d, e), DeliveryStatus::IN_PTR_ALIGN_ERROR);
    // Only the output chain freed: the device faults writing the output, not reading the input.
    let e = d.prepare(0, &msg, 16 + 512);
    assert_eq!(deliver(&mut d, e), DeliveryStatus::OK);
    let (slot, input, output) = d.chains.pop().expect("chains");
    drop(output);
    d.chains.push((slot, input, Chain { blocks: Vec::new() }));
    assert_eq!(deliver(&mut d, e), DeliveryStatus::OUT_PTR_ALIGN_ERROR);
}

#[test]
fn executed_commands_are_counted_per_opcode() {
    assert!(COMMANDS.windows(2).all(|w| w[0].opcode < w[1].opcode), "COMMANDS sorted by opcode, no duplicates");
    let mut d = enabled();
    d.exec(&hdr(Opcode::NOP, 0), 16);
    d.exec(&hdr(Opcode::NOP, 0), 16);
    d.exec(&hdr(Opcode(0x7ff0), 0), 16);
    let last = COMMANDS.last().expect("commands").opcode;
    d.exec(&hdr(Opcode(last), 0), 16);
    let s = d.dev.stats();
    assert_eq!(s.executed(Opcode::NOP.0), 2);
    assert_eq!(s.executed(Opcode::ENABLE_HCA.0), 1);
    assert_eq!(s.executed(0x7ff0), 1, "unknown opcodes are counted too");
    assert_eq!(s.executed(0x7ff1), 0);
    assert_eq!(s.executed(last), 1);
    let mut want = vec![(Opcode::ENABLE_HCA.0, 1), (Opcode::NOP.0, 2), (0x7ff0, 1), (last, 1)];
    want.sort_unstable();
    assert_eq!(s.executed_by_opcode(), want);
    assert_eq!(s.commands, 5);
    assert_eq!(s.doorbells, 5);
}
