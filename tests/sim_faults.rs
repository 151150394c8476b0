//! Fault injection: every fault of the device model, seen from the driver's side.
#![cfg(feature = "sim")]

mod sim_driver;

use std::time::{Duration, Instant};

use mlx5_cmdif::host::Mmio;
use mlx5_cmdif::prm::*;
use mlx5_cmdif::sim::{Delay, Fault, LateTrigger, SimConfig, When};
use sim_driver::*;
use zerocopy::IntoBytes;

fn enabled() -> Driver {
    let mut d = Driver::new(quick());
    d.ok(&hdr(Opcode::ENABLE_HCA, 0), EnableHcaOut::SIZE);
    d
}

fn nop() -> Vec<u8> {
    hdr(Opcode::NOP, 0)
}

#[test]
fn delayed_completion_after_polls() {
    let mut d = enabled();
    d.dev.arm(Fault::Delayed(Delay::Polls(5)), When::Next);
    d.submit(0, &nop(), 16);
    for _ in 0..4 {
        assert!(d.owned(0), "still owned before the fifth poll");
    }
    assert!(!d.owned(0), "completes on the fifth poll");
    assert_eq!(d.collect(0).delivery, DeliveryStatus::OK);
    // The next command is not delayed.
    d.submit(0, &nop(), 16);
    assert!(!d.owned(0));
}

#[test]
fn delayed_completion_after_time_in_threaded_mode() {
    let mut d = Driver::threaded(quick());
    d.ok(&hdr(Opcode::ENABLE_HCA, 0), EnableHcaOut::SIZE);
    d.dev.arm(Fault::Delayed(Delay::Time(Duration::from_millis(30))), When::Next);
    let start = Instant::now();
    d.submit(0, &nop(), 16);
    let done = d.poll(0, u32::MAX).expect("completes");
    assert!(start.elapsed() >= Duration::from_millis(30));
    assert_eq!(done.status(), CmdStatus::OK);
}

#[test]
fn no_completion() {
    let mut d = enabled();
    d.dev.arm(Fault::NoCompletion, When::Next);
    d.submit(0, &nop(), 16);
    assert!(d.poll(0, 1000).is_none());
    assert_eq!(d.dev.pending_completions(), 0);
    // Other slots still work.
    d.submit(1, &nop(), 16);
    assert!(d.poll(1, 10).is_some());
    assert!(d.owned(0));
}

#[test]
fn late_completion_manual_and_after_mmio_accesses() {
    let mut d = enabled();
    d.dev.arm(Fault::Late(LateTrigger::Manual), When::Next);
    d.submit(0, &nop(), 16);
    assert!(d.poll(0, 1000).is_none(), "the host gives up");
    assert_eq!(d.dev.pending_completions(), 1);
    assert_eq!(d.dev.complete_late(), 1);
    assert_eq!(d.poll(0, 1).expect("late completion arrived").status(), CmdStatus::OK);

    d.dev.arm(Fault::Late(LateTrigger::MmioAccesses(3)), When::Next);
    d.submit(2, &nop(), 16); // the doorbell write itself is not counted
    assert!(d.poll(2, 100).is_none());
    let hc = dword(InitialSeg::FIELD_HEALTH_COUNTER);
    d.mmio.read32(hc);
    d.mmio.read32(hc);
    assert!(d.owned(2));
    d.mmio.read32(hc);
    assert!(!d.owned(2));
}

#[test]
fn corrupted_completions() {
    let mut d = enabled();
    d.dev.arm(Fault::CorruptToken, When::Next);
    let e = d.prepare(0, &nop(), 16);
    d.write_entry(0, &e);
    d.ring(0);
    let done = d.poll(0, 1).unwrap();
    assert_ne!(done.entry.token(), e.token());
    assert_eq!(xor8(done.entry.as_bytes()), 0xff, "only the token is wrong");

    d.dev.arm(Fault::CorruptEntrySignature, When::Next);
    let done = d.exec(&nop(), 16);
    assert_ne!(xor8(done.entry.as_bytes()), 0xff);

    // Output block faults need output blocks: QUERY_ISSI's 112-byte output has one.
    d.dev.arm(Fault::CorruptOutputSignature, When::Next);
    let done = d.exec(&hdr(Opcode::QUERY_ISSI, 0), QueryIssiOut::SIZE);
    assert_ne!(xor8(done.out_blocks[0].as_bytes()), 0xff);
    assert_eq!(xor8(done.entry.as_bytes()), 0xff);

    d.dev.arm(Fault::CorruptOutputBlockNumber, When::Next);
    let done = d.exec(&hdr(Opcode::QUERY_ISSI, 0), QueryIssiOut::SIZE);
    assert_ne!(done.out_blocks[0].block_number(), 0);
    assert_eq!(xor8(done.out_blocks[0].as_bytes()), 0xff);

    d.dev.arm(Fault::BadOutputLength, When::Next);
    assert_eq!(d.exec(&nop(), 16).delivery, DeliveryStatus::OUT_LENGTH_ERROR);

    d.dev.arm(Fault::WrongDeliveryStatus(DeliveryStatus::FW_ERROR), When::Next);
    let done = d.exec(&nop(), 16);
    assert_eq!(done.delivery, DeliveryStatus::FW_ERROR);
    assert_eq!(d.dev.armed(), 0);
}

#[test]
fn firmware_status_for_an_opcode_and_for_the_next_n() {
    let mut d = enabled();
    d.dev.arm(Fault::FwStatus { status: CmdStatus::BAD_SYSTEM_STATE, syndrome: 0x1234 }, When::Opcode(Opcode::NOP.0));
    for _ in 0..3 {
        let done = d.cmd(&nop(), 16);
        assert_eq!((done.status(), done.syndrome()), (CmdStatus::BAD_SYSTEM_STATE, 0x1234));
    }
    d.ok(&hdr(Opcode::QUERY_ISSI, 0), QueryIssiOut::SIZE);
    d.dev.disarm_all();
    d.ok(&nop(), 16);

    d.dev.arm(Fault::FwStatus { status: CmdStatus::INTERNAL_ERROR, syndrome: 1 }, When::NextN(2));
    assert_eq!(d.cmd(&nop(), 16).status(), CmdStatus::INTERNAL_ERROR);
    assert_eq!(d.cmd(&hdr(Opcode::QUERY_ISSI, 0), QueryIssiOut::SIZE).status(), CmdStatus::INTERNAL_ERROR);
    d.ok(&nop(), 16);
}

#[test]
fn surprise_removal_reads_all_ones_and_completes_nothing() {
    let mut d = enabled();
    d.dev.inject(Fault::SurpriseRemoval);
    assert!(d.dev.is_removed());
    for f in [InitialSeg::FIELD_FW_REV_MINOR, InitialSeg::FIELD_CMDQ_PHY_ADDR_31_12, InitialSeg::FIELD_HEALTH_COUNTER] {
        assert_eq!(d.mmio.read32(dword(f)), u32::MAX);
    }
    // fw_ver in the health buffer reads all ones: Linux's first fatal check.
    assert_eq!(d.bar_field(InitialSeg::FIELD_HEALTH_BUFFER.offset, HealthBuffer::FIELD_FW_VERSION), u32::MAX);
    // nic_interface, read as Linux does (3 bits at 10:8), is 7 = SW_RESET.
    assert_eq!((d.reg(InitialSeg::FIELD_NIC_INTERFACE) >> 8) & 7, 7);
    d.submit(0, &nop(), 16);
    assert!(d.poll(0, 1000).is_none());
}

#[test]
fn surprise_removal_armed_for_an_opcode() {
    let mut d = enabled();
    d.dev.arm(Fault::SurpriseRemoval, When::Opcode(Opcode::QUERY_ISSI.0));
    d.ok(&nop(), 16);
    d.submit(0, &hdr(Opcode::QUERY_ISSI, 0), QueryIssiOut::SIZE);
    assert!(d.poll(0, 100).is_none());
    assert!(d.dev.is_removed());
}

#[test]
fn stuck_initializing() {
    let d = Driver::new(quick());
    d.dev.inject(Fault::StuckInitializing);
    assert!(!d.wait_ready(1000));
    d.dev.release_initializing();
    assert!(d.wait_ready(1));

    // Stuck from power-on: the driver's wait fails.
    let bus = mlx5_cmdif::sim::SimBus::new();
    let dev = mlx5_cmdif::sim::SimDevice::new(&bus, SimConfig::default());
    dev.inject(Fault::StuckInitializing);
    let m = dev.mmio();
    let init = dword(InitialSeg::FIELD_INITIALIZING);
    assert!((0..100).all(|_| u32::from_be_bytes(m.read32(init).to_le_bytes()) >> 31 == 1));
}

#[test]
fn doorbells_while_initializing_are_ignored() {
    let mut d = enabled();
    d.dev.inject(Fault::StuckInitializing);
    d.submit(0, &nop(), 16);
    assert!(d.poll(0, 100).is_none());
    assert_eq!(d.dev.stats().ignored_doorbells, 1);
}

#[test]
fn health_syndrome() {
    let mut d = enabled();
    let hc = || d_health_counter(&d);
    fn d_health_counter(d: &Driver) -> u32 {
        d.reg(InitialSeg::FIELD_HEALTH_COUNTER) & 0xff_ffff
    }
    assert_ne!(hc(), hc());
    d.dev.inject(Fault::Health { syndrome: HealthSyndrome::HW_FATAL_ERROR, ext_syndrome: 0x42 });
    let hb = InitialSeg::FIELD_HEALTH_BUFFER.offset;
    assert_eq!(d.bar_field(hb, HealthBuffer::FIELD_SYND), 0x8);
    assert_eq!(d.bar_field(hb, HealthBuffer::FIELD_EXT_SYND), 0x42);
    assert_eq!(d.bar_field(hb, HealthBuffer::FIELD_RFR), 1);
    assert_eq!(d.bar_field(hb, HealthBuffer::FIELD_VALID), 1);
    assert_eq!(d.bar_field(hb, HealthBuffer::FIELD_SEVERITY), u32::from(HealthSeverity::CRITICAL.0));
    let a = d_health_counter(&d);
    assert_eq!(a, d_health_counter(&d), "the health counter stops");
    d.submit(0, &nop(), 16);
    assert!(d.poll(0, 100).is_none());
}

#[test]
fn nic_interface_disabled_and_restored() {
    let mut d = enabled();
    d.dev.inject(Fault::NicInterface(NicInterface::DISABLED));
    assert_eq!((d.reg(InitialSeg::FIELD_NIC_INTERFACE) >> 8) & 7, 1);
    assert_eq!(d.dev.nic_interface(), NicInterface::DISABLED);
    d.submit(0, &nop(), 16);
    assert!(d.poll(0, 100).is_none());
    // The driver writes SW_RESET with a read-modify-write of cmdq_addr_l_sz, then full-driver mode.
    let off = dword(InitialSeg::FIELD_CMDQ_PHY_ADDR_31_12);
    let cur = d.reg_at(off);
    d.write_reg(off, (cur & 0xffff_f000) | (7 << 8));
    assert_eq!(d.dev.nic_interface(), NicInterface::SW_RESET);
    d.write_reg(off, cur & 0xffff_f000);
    assert_eq!(d.dev.nic_interface(), NicInterface::FULL_DRIVER);
    assert_eq!(d.exec(&nop(), 16).status(), CmdStatus::OK);
}

#[test]
fn dma_to_freed_output_mailboxes_is_a_fault_not_a_panic() {
    let mut d = enabled();
    d.dev.arm(Fault::Late(LateTrigger::Manual), When::Next);
    d.submit(0, &hdr(Opcode::QUERY_ISSI, 0), QueryIssiOut::SIZE);
    // The host gives up and frees the command's mailboxes; the late completion then hits unmapped memory.
    d.chains.clear();
    assert_eq!(d.dev.complete_late(), 1);
    assert!(d.dev.stats().dma_faults >= 1);
    assert!(!d.owned(0), "the entry itself is still written");
}
