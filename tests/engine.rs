//! The command-queue engine against the device model: bring-up, typed and raw commands, mailbox chains,
//! many commands in flight, every injected fault, and concurrent submitters on the threaded model.
#![cfg(feature = "sim")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::thread;

use mlx5_cmdif::engine::hca::{self, BringUp};
use mlx5_cmdif::engine::{Cmdq, Config, DeadReason, Error, Options};
use mlx5_cmdif::prm::{
    CmdHcaCap, CmdStatus, DeliveryStatus, HealthSyndrome, MciaReg, NicInterface, Nop, NopIn, Opcode, PaosReg,
    PortStatus, QueryAdapter, QueryAdapterIn,
};
use mlx5_cmdif::sim::{
    Delay, Fault, LateTrigger, SimBus, SimClock, SimConfig, SimDevice, SimDma, SimMmio, SimPages, When,
};

type Q = Cmdq<SimMmio, SimClock, SimDma, SimDma>;

struct Rig {
    bus: Arc<SimBus>,
    dev: SimDevice,
    q: Q,
    pages: SimPages,
}

/// 2 MiB of mailbox pool: room for a 256 KiB input and a 256 KiB output at once.
const POOL: usize = 2 << 20;

fn rig_with(dev_cfg: SimConfig, cfg: Config, threaded: bool) -> Rig {
    let bus = SimBus::new();
    let dev = if threaded { SimDevice::threaded(&bus, dev_cfg) } else { SimDevice::new(&bus, dev_cfg) };
    let q = Cmdq::new(dev.mmio(), SimClock::new(), bus.alloc(4096, 4096), bus.alloc(POOL, 1024), cfg).unwrap();
    let pages = SimPages::new(&bus);
    Rig { bus, dev, q, pages }
}

fn rig() -> Rig {
    rig_with(SimConfig::default(), Config::default(), false)
}

fn up() -> Rig {
    let mut r = rig();
    hca::bring_up(&mut r.q, &mut r.pages, &BringUp::default()).unwrap();
    r
}

fn nop_bytes() -> [u8; 16] {
    NopIn::new().with_opcode(Opcode::NOP.0).0
}

/// The queue still works: a NOP goes through.
fn still_works(q: &mut Q) {
    q.execute::<Nop>(&NopIn::new()).expect("the queue keeps working");
}

fn short() -> Options {
    Options { timeout_us: Some(30_000) }
}

#[test]
fn bring_up_reads_the_device_and_teardown_returns_every_page() {
    let mut r = rig();
    assert_eq!(r.q.geometry().slots, 32);
    assert_eq!(r.q.fw_version().to_string(), "22.41.1000");
    assert_eq!(r.q.cmd_timeout_us(), 60_000_000, "cmd_exec_to advertised by the device");
    let info = hca::bring_up(&mut r.q, &mut r.pages, &BringUp { driver_version: "test,1.0" }).unwrap();
    assert_eq!(info.issi, 1);
    assert_eq!((info.boot_pages, info.init_pages), (16, 48));
    assert_eq!(r.dev.pages_held(), 64);
    assert!(info.driver_version_set);
    assert_eq!(r.dev.driver_version(), "test,1.0");
    assert!(info.caps_max.log_max_qp() >= info.caps.log_max_qp());

    let adapter = r.q.execute::<QueryAdapter>(&QueryAdapterIn::new()).unwrap();
    let psid = adapter.query_adapter_struct().vsd_contd_psid_bytes();
    assert!(psid.starts_with(b"MT_"), "{psid:?}");

    let reclaimed = hca::teardown(&mut r.q, &mut r.pages).unwrap();
    assert_eq!(reclaimed, 64);
    assert_eq!(r.dev.pages_held(), 0);
    assert_eq!(mlx5_cmdif::host::PageProvider::pages_out(&r.pages), 0);
    let s = r.q.stats();
    assert_eq!(s.get(Opcode::MANAGE_PAGES.0).errors, 0);
    assert!(s.get(Opcode::MANAGE_PAGES.0).count >= 3);
}

#[test]
fn commands_before_enable_hca_fail_with_bad_system_state() {
    let mut r = rig();
    let err = r.q.execute::<QueryAdapter>(&QueryAdapterIn::new()).unwrap_err();
    match err {
        Error::Firmware { cmd, status, .. } => {
            assert_eq!(status, CmdStatus::BAD_SYSTEM_STATE);
            assert_eq!(cmd.opcode, Opcode::QUERY_ADAPTER);
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("QUERY_ADAPTER"), "{err}");
}

#[test]
fn registers_and_capabilities_are_typed() {
    let mut r = up();
    let paos = r.q.read_register(&PaosReg::new().with_local_port(1), 0).unwrap();
    assert_eq!(paos.admin_status(), PortStatus::UP);
    r.q.write_register(&PaosReg::new().with_local_port(1).with_admin_status(PortStatus::DOWN).with_ase(true), 0)
        .unwrap();
    let paos = r.q.read_register(&PaosReg::new().with_local_port(1), 0).unwrap();
    assert_eq!(paos.admin_status(), PortStatus::DOWN);
    assert_eq!(r.dev.port_admin(1), Some(PortStatus::DOWN));
    let cap: CmdHcaCap = r.q.query_cap(true).unwrap();
    assert!(cap.num_ports() >= 1);
}

#[test]
fn mailbox_chains_of_0_1_2_and_512_blocks_in_both_directions() {
    let mut r = up();
    for blocks in [0usize, 1, 2, 512] {
        let len = 16 + blocks * 512;
        let mut input = vec![0x5au8; len];
        input[..16].copy_from_slice(&nop_bytes());
        let mut out = vec![0xffu8; len];
        let free = r.q.free_mailboxes();
        let c = r.q.execute_raw(&input, &mut out, Options::default()).unwrap();
        assert_eq!(c.status, CmdStatus::OK);
        assert_eq!(c.len, len);
        assert!(out[..8].iter().all(|b| *b == 0), "NOP output header is OK");
        assert!(out[16..].iter().all(|b| *b == 0), "{blocks} blocks of output came back zeroed by the device");
        assert_eq!(r.q.free_mailboxes(), free, "chains are returned to the pool");
    }
    // The same with checksums on: input blocks signed, output blocks verified.
    let mut r = rig_with(SimConfig::default(), Config { checksums: true, ..Config::default() }, false);
    hca::bring_up(&mut r.q, &mut r.pages, &BringUp::default()).unwrap();
    let mut input = vec![0u8; 16 + 3 * 512];
    input[..16].copy_from_slice(&nop_bytes());
    let mut out = vec![0u8; 16 + 3 * 512];
    r.q.execute_raw(&input, &mut out, Options::default()).unwrap().check().unwrap();
}

#[test]
fn too_large_and_too_short_messages_are_refused_before_the_device() {
    let mut r = up();
    let before = r.dev.stats().commands;
    let mut out = [0u8; 16];
    assert!(matches!(r.q.execute_raw(&[0u8; 8], &mut out, Options::default()), Err(Error::BadLength { .. })));
    let huge = vec![0u8; POOL * 2];
    assert!(matches!(r.q.execute_raw(&huge, &mut out, Options::default()), Err(Error::BadLength { .. })));
    assert_eq!(r.dev.stats().commands, before);
    still_works(&mut r.q);
}

#[test]
fn thirty_one_commands_in_flight_and_the_last_slot_is_kept_for_pages() {
    let mut r = up();
    // Hold completions back so that every command stays in flight until polled.
    r.dev.arm(Fault::Delayed(Delay::Polls(1)), When::NextN(31));
    let tickets: Vec<_> = (0..31).map(|_| r.q.submit_raw(&nop_bytes(), &[], 16, Options::default()).unwrap()).collect();
    assert_eq!(r.q.in_flight(), 31);
    let slots: std::collections::BTreeSet<u8> = tickets.iter().map(|t| t.slot()).collect();
    assert_eq!(slots.len(), 31, "every command got its own slot");
    assert!(!slots.contains(&31), "the last slot is reserved for MANAGE_PAGES");
    match r.q.submit_raw(&nop_bytes(), &[], 16, Options::default()) {
        Err(Error::Busy(cmd)) => assert_eq!(cmd.opcode, Opcode::NOP),
        other => panic!("{other:?}"),
    }
    // Tokens are distinct and never zero.
    assert!(tickets.iter().all(|t| t.token() != 0));
    let mut out = [0u8; 16];
    for t in tickets.iter().rev() {
        let c = r.q.wait_raw(*t, &mut out, &mut []).unwrap();
        assert_eq!(c.status, CmdStatus::OK);
    }
    assert_eq!(r.q.in_flight(), 0);
    assert!(matches!(r.q.wait_raw(tickets[0], &mut out, &mut []), Err(Error::UnknownTicket)));
}

#[test]
fn delayed_completion_is_waited_for() {
    let mut r = up();
    r.dev.arm(Fault::Delayed(Delay::Polls(50)), When::Next);
    still_works(&mut r.q);
}

#[test]
fn no_completion_times_out_and_quarantines_the_slot() {
    let mut r = up();
    r.dev.arm(Fault::NoCompletion, When::Next);
    let mut out = [0u8; 16];
    match r.q.execute_raw(&nop_bytes(), &mut out, short()) {
        Err(Error::Timeout { cmd, after_us }) => {
            assert_eq!(cmd.opcode, Opcode::NOP);
            assert_eq!(after_us, 30_000);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(r.q.quarantined(), 1);
    assert_eq!(r.q.stats().timeouts, 1);
    still_works(&mut r.q);
    assert_eq!(r.q.quarantined(), 1, "a slot firmware never gave back stays quarantined");
}

#[test]
fn a_late_completion_is_never_delivered_to_another_command() {
    let mut r = up();
    r.dev.arm(Fault::Late(LateTrigger::Manual), When::Opcode(Opcode::QUERY_ADAPTER.0));
    let err = r.q.execute_typed::<QueryAdapter>(
        &QueryAdapterIn::new(),
        &[],
        &mut Default::default(),
        &mut [],
        Options { timeout_us: Some(20_000) },
    );
    assert!(matches!(err, Err(Error::Timeout { .. })), "{err:?}");
    r.dev.disarm_all();
    assert_eq!(r.dev.complete_late(), 1);
    // The next commands complete normally and get their own outputs; the late one is reaped.
    let paos = r.q.read_register(&PaosReg::new().with_local_port(2), 0).unwrap();
    assert_eq!(paos.local_port(), 2);
    still_works(&mut r.q);
    assert_eq!(r.q.quarantined(), 0);
    assert_eq!(r.q.stats().late_completions, 1);
}

#[test]
fn corrupted_completions_give_typed_errors_and_the_queue_recovers() {
    let mut r = rig_with(SimConfig::default(), Config { checksums: true, ..Config::default() }, false);
    hca::bring_up(&mut r.q, &mut r.pages, &BringUp::default()).unwrap();
    let free_before = r.q.free_mailboxes();
    let big_nop = || {
        let mut v = vec![0u8; 16 + 2 * 512];
        v[..16].copy_from_slice(&nop_bytes());
        v
    };
    let mut out = vec![0u8; 16 + 2 * 512];

    r.dev.arm(Fault::CorruptToken, When::Next);
    assert!(matches!(r.q.execute_raw(&big_nop(), &mut out, Options::default()), Err(Error::TokenMismatch { .. })));
    still_works(&mut r.q);

    r.dev.arm(Fault::CorruptEntrySignature, When::Next);
    assert!(matches!(
        r.q.execute_raw(&big_nop(), &mut out, Options::default()),
        Err(Error::BadSignature { block: None, .. })
    ));
    still_works(&mut r.q);

    r.dev.arm(Fault::CorruptOutputSignature, When::Next);
    assert!(matches!(
        r.q.execute_raw(&big_nop(), &mut out, Options::default()),
        Err(Error::BadSignature { block: Some(_), .. })
    ));
    still_works(&mut r.q);

    r.dev.arm(Fault::CorruptOutputBlockNumber, When::Next);
    assert!(matches!(r.q.execute_raw(&big_nop(), &mut out, Options::default()), Err(Error::BadMailbox { .. })));
    still_works(&mut r.q);

    r.dev.arm(Fault::BadOutputLength, When::Next);
    match r.q.execute_raw(&big_nop(), &mut out, Options::default()) {
        Err(e @ Error::Delivery { status: DeliveryStatus::OUT_LENGTH_ERROR, .. }) => assert_eq!(e.errno(), 42),
        other => panic!("{other:?}"),
    }
    still_works(&mut r.q);

    r.dev.arm(Fault::WrongDeliveryStatus(DeliveryStatus(0x7f)), When::Next);
    match r.q.execute_raw(&big_nop(), &mut out, Options::default()) {
        Err(Error::Delivery { status, .. }) => {
            assert_eq!(status, DeliveryStatus(0x7f));
            assert!(format!("{status:?}").contains("0x7f"), "unknown statuses print in hex");
        }
        other => panic!("{other:?}"),
    }
    still_works(&mut r.q);
    assert_eq!(r.q.free_mailboxes(), free_before, "failed commands gave their chains back");
    assert_eq!(r.q.in_flight(), 0);
}

#[test]
fn firmware_error_status_names_the_command_and_keeps_the_output() {
    let mut r = up();
    r.dev.arm(Fault::FwStatus { status: CmdStatus::BAD_PARAMETER, syndrome: 0x1234_5678 }, When::Next);
    let mut input =
        mlx5_cmdif::prm::AccessRegisterIn::new().with_opcode(Opcode::ACCESS_REG.0).with_op_mod(1).0.to_vec();
    input.extend_from_slice(&[0u8; 16]);
    let mut out = [0u8; 32];
    let c = r.q.execute_raw(&input, &mut out, Options::default()).unwrap();
    assert_eq!((c.status, c.syndrome), (CmdStatus::BAD_PARAMETER, 0x1234_5678));
    assert_eq!(out[0], 0x03, "the outbox is returned as fwctl does");
    match c.check() {
        Err(e @ Error::Firmware { cmd, .. }) => {
            assert_eq!((cmd.opcode, cmd.op_mod), (Opcode::ACCESS_REG, 1));
            assert_eq!(e.errno(), 22);
            assert!(e.to_string().contains("ACCESS_REG") && e.to_string().contains("0x12345678"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    still_works(&mut r.q);
}

#[test]
fn surprise_removal_is_detected_and_no_doorbell_is_rung_after() {
    let mut r = up();
    r.dev.inject(Fault::SurpriseRemoval);
    let mut out = [0u8; 16];
    match r.q.execute_raw(&nop_bytes(), &mut out, short()) {
        Err(Error::DeviceDead(DeadReason::SurpriseRemoval)) => {}
        other => panic!("{other:?}"),
    }
    let doorbells = r.dev.stats().doorbells;
    for _ in 0..3 {
        assert!(matches!(r.q.execute_raw(&nop_bytes(), &mut out, short()), Err(Error::DeviceDead(_))));
    }
    assert_eq!(r.dev.stats().doorbells, doorbells, "no doorbell after the device died");
    assert_eq!(r.q.dead(), Some(DeadReason::SurpriseRemoval));
}

#[test]
fn a_fatal_health_syndrome_marks_the_device_dead() {
    let mut r = up();
    r.dev.inject(Fault::Health { syndrome: HealthSyndrome::FW_INTERNAL_ERROR, ext_syndrome: 0x42 });
    let h = r.q.health();
    assert!(!h.is_healthy());
    assert_eq!(h.syndrome, HealthSyndrome::FW_INTERNAL_ERROR);
    assert!(matches!(h.fatal, Some(DeadReason::FatalHealth { ext_syndrome: 0x42, .. })));
    let mut out = [0u8; 16];
    assert!(matches!(
        r.q.execute_raw(&nop_bytes(), &mut out, short()),
        Err(Error::DeviceDead(DeadReason::FatalHealth { .. }))
    ));
}

#[test]
fn a_health_counter_that_stops_is_reported_compromised() {
    let mut r = up();
    for _ in 0..4 {
        assert!(r.q.health().is_healthy(), "the model's health counter advances");
    }
    // A non-fatal syndrome: the counter stops, the device is not dead yet.
    r.dev.inject(Fault::Health { syndrome: HealthSyndrome::FW_INTERNAL_ERROR, ext_syndrome: 0 });
    let reports: Vec<_> = (0..4).map(|_| r.q.health()).collect();
    assert!(reports[3].compromised(), "{:?}", reports[3]);
    assert!(!reports[3].is_healthy());
}

#[test]
fn a_disabled_nic_interface_is_a_dead_device_found_while_waiting() {
    let mut r = up();
    r.dev.inject(Fault::NicInterface(NicInterface::DISABLED));
    let mut out = [0u8; 16];
    match r.q.execute_raw(&nop_bytes(), &mut out, Options { timeout_us: Some(5_000_000) }) {
        Err(Error::DeviceDead(DeadReason::NicInterfaceDisabled)) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn stuck_initializing_is_a_bounded_wait() {
    let bus = SimBus::new();
    let dev = SimDevice::new(&bus, SimConfig::default());
    dev.inject(Fault::StuckInitializing);
    let cfg = Config { pre_init_timeout_us: 20_000, ..Config::default() };
    match Cmdq::new(dev.mmio(), SimClock::new(), bus.alloc(4096, 4096), bus.alloc(64 * 1024, 1024), cfg) {
        Err(Error::InitTimeout { waited_us }) => assert_eq!(waited_us, 20_000),
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("came up while initializing"),
    }
}

#[test]
fn misaligned_host_memory_is_refused() {
    let bus = SimBus::new();
    let dev = SimDevice::new(&bus, SimConfig::default());
    let r = Cmdq::new(dev.mmio(), SimClock::new(), bus.alloc(2048, 2048), bus.alloc(4096, 1024), Config::default());
    assert!(matches!(r, Err(Error::BadHostMemory { .. })));
}

#[test]
fn several_threads_submitting_against_the_threaded_device() {
    let r = rig_with(SimConfig::default(), Config { poll_delay_us: 0, ..Config::default() }, true);
    let Rig { bus: _bus, dev, mut q, mut pages } = r;
    hca::bring_up(&mut q, &mut pages, &BringUp::default()).unwrap();
    let q = Arc::new(Mutex::new(q));
    let handles: Vec<_> = (0..4u8)
        .map(|t| {
            let q = Arc::clone(&q);
            thread::spawn(move || {
                for i in 0..100u16 {
                    let addr = (u16::from(t) * 40 + i % 40) % 200;
                    let reg = MciaReg::new()
                        .with_module(0)
                        .with_i2c_device_address(0x50)
                        .with_device_address(addr)
                        .with_size(4);
                    let input = mlx5_cmdif::prm::AccessRegisterIn::new()
                        .with_opcode(Opcode::ACCESS_REG.0)
                        .with_op_mod(1)
                        .with_register_id(<MciaReg as mlx5_cmdif::command::AccessRegister>::ID);
                    let mut msg = input.0.to_vec();
                    msg.extend_from_slice(&reg.0);
                    let ticket = loop {
                        match q.lock().unwrap().submit_raw(&msg, &[], msg.len(), Options::default()) {
                            Ok(t) => break t,
                            Err(Error::Busy(_)) => thread::yield_now(),
                            Err(e) => panic!("{e}"),
                        }
                    };
                    let mut out = vec![0u8; msg.len()];
                    let c = loop {
                        if let Some(c) = q.lock().unwrap().poll_raw(ticket, &mut out, &mut []).unwrap() {
                            break c;
                        }
                        thread::yield_now();
                    };
                    c.check().unwrap();
                    let got = MciaReg(out[16..16 + MciaReg::SIZE].try_into().unwrap());
                    assert_eq!(got.device_address(), addr, "thread {t} got another command's output");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let q = q.lock().unwrap();
    assert_eq!(q.stats().get(Opcode::ACCESS_REG.0).count, 400);
    assert_eq!(q.stats().get(Opcode::ACCESS_REG.0).errors, 0);
    dev.shutdown();
}
