//! The fwctl security scope: every opcode of the specs at every scope against the kernel's allow-list
//! (written out here from the fwctl mlx5 driver's rules, independently of the generated table), the
//! length rules, and sessions end to end against the device model: an allowed command reaches the device
//! with the session's uid, a refused one never does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use mlx5_cmdif::command::Scope;
use mlx5_cmdif::engine::Error;
use mlx5_cmdif::prm::{MboxInHdr, COMMANDS};
use mlx5_cmdif::scope::{self, check, MAX_RPC_LEN, MIN_RPC_LEN};

/// Permitted at every scope (CONFIGURATION and up).
const ANY: &[u16] = &[0x823, 0xb2e, 0x101, 0x740, 0x100, 0x762, 0x10e, 0x760, 0xb22, 0x731, 0x109];
/// ACCESS_REG and ACCESS_REGISTER_USER: op_mod 0 (write) at any scope, any other op_mod DEBUG_READ_ONLY.
const REGISTER_ACCESS: &[u16] = &[0x805, 0xb0c];
/// DEBUG_WRITE and up.
const DEBUG_WRITE: &[u16] = &[0x820];
/// DEBUG_READ_ONLY and up.
const DEBUG_READ_ONLY: &[u16] = &[
    0x964, 0x962, 0x80d, 0x971, 0x813, 0x981, 0x824, 0x826, 0x822, 0x402, 0xb14, 0x716, 0x713, 0x911, 0x821, 0x819,
    0xb28, 0xb2a, 0x10c, 0xb03, 0xb2f, 0xb0f, 0x303, 0x752, 0x93b, 0x935, 0x937, 0x932, 0xa02, 0x764, 0x765, 0x10a,
    0x82a, 0x842, 0x80b, 0xb13, 0x201, 0x942, 0x8001, 0x754, 0x722, 0xb02, 0x728, 0x93f, 0x107, 0x602, 0x773, 0x50b,
    0x781, 0x512, 0xb05, 0xb07, 0x90f, 0x90b, 0x919, 0x8000, 0x8006, 0x784, 0x111, 0x203, 0x907, 0x702, 0x903, 0x915,
    0xa05, 0xa09, 0x117, 0xb0d, 0x76f, 0x770, 0x750, 0x831, 0x707, 0x725, 0x727, 0x719, 0xb08, 0xb0a, 0x730, 0x732,
];

/// The least scope the kernel's rules give `opcode` with `op_mod`.
fn expected(opcode: u16, op_mod: u16) -> Option<Scope> {
    if ANY.contains(&opcode) {
        Some(Scope::Configuration)
    } else if REGISTER_ACCESS.contains(&opcode) {
        Some(if op_mod == 0 { Scope::Configuration } else { Scope::DebugReadOnly })
    } else if DEBUG_WRITE.contains(&opcode) {
        Some(Scope::DebugWrite)
    } else if DEBUG_READ_ONLY.contains(&opcode) {
        Some(Scope::DebugReadOnly)
    } else {
        None
    }
}

fn header(opcode: u16, op_mod: u16) -> [u8; 16] {
    MboxInHdr::new().with_opcode(opcode).with_op_mod(op_mod).0
}

#[test]
fn every_opcode_at_every_scope_follows_the_allow_list() {
    assert!(COMMANDS.len() > 100, "the specs define the kernel's opcodes ({})", COMMANDS.len());
    let mut allowed_somewhere = 0;
    let mut checked = 0;
    for c in COMMANDS {
        let mut op_mods: Vec<u16> = vec![0, 1, 2, 0xffff];
        op_mods.extend(c.op_mods.iter().map(|m| m.value));
        for op_mod in op_mods {
            let want = expected(c.opcode, op_mod);
            for s in Scope::ALL {
                let should = want.is_some_and(|min| min <= s);
                let got = check(&header(c.opcode, op_mod), 16, s);
                checked += 1;
                match got {
                    Ok(cmd) => {
                        assert!(should, "{} op_mod {op_mod:#x} allowed at {} (want {want:?})", c.name, s.name());
                        assert_eq!((cmd.opcode.0, cmd.op_mod), (c.opcode, op_mod));
                    }
                    Err(Error::NotAllowed { cmd }) => {
                        assert!(!should, "{} op_mod {op_mod:#x} refused at {} (want {want:?})", c.name, s.name());
                        assert_eq!(cmd.opcode.0, c.opcode);
                    }
                    Err(e) => panic!("{}: unexpected {e}", c.name),
                }
                assert_eq!(scope::allowed(c.opcode, op_mod, s), should);
            }
            allowed_somewhere += usize::from(want.is_some());
        }
    }
    assert!(checked > 1000 && allowed_somewhere > 0, "{checked} checks, {allowed_somewhere} allowed");
}

#[test]
fn every_allow_listed_opcode_is_in_the_specs() {
    for op in ANY.iter().chain(REGISTER_ACCESS).chain(DEBUG_WRITE).chain(DEBUG_READ_ONLY) {
        assert!(COMMANDS.iter().any(|c| c.opcode == *op), "opcode {op:#x} of the allow-list is missing from the specs");
    }
}

#[test]
fn register_access_reads_need_debug_read_only_and_writes_do_not() {
    for opcode in [0x805u16, 0xb0c] {
        let (write, read) = (header(opcode, 0), header(opcode, 1));
        for s in Scope::ALL {
            assert!(check(&write, 16, s).is_ok(), "{opcode:#x} write at {}", s.name());
        }
        assert!(matches!(check(&read, 16, Scope::Configuration), Err(Error::NotAllowed { .. })));
        assert!(check(&read, 16, Scope::DebugReadOnly).is_ok());
    }
}

#[test]
fn unknown_opcodes_and_life_cycle_commands_are_never_allowed() {
    // 0x0 and 0x7fff are no opcode; the others create, destroy or reset things.
    for opcode in [0x0u16, 0x7fff, 0x102, 0x103, 0x104, 0x105, 0x108, 0x10b, 0xa04, 0xa06, 0x400] {
        for s in Scope::ALL {
            let e = check(&header(opcode, 0), 16, s).unwrap_err();
            assert!(matches!(e, Error::NotAllowed { .. }), "{opcode:#x}: {e}");
            assert_eq!(e.errno(), 74, "EBADMSG");
        }
    }
}

#[test]
fn lengths_below_the_header_or_above_two_mib_are_emsgsize() {
    let nop = header(0x80d, 0);
    let s = Scope::DebugWriteFull;
    assert!(check(&nop, MIN_RPC_LEN, s).is_ok());
    for (input, out_len) in [(&nop[..15], 16), (&nop[..], 15), (&nop[..], 0), (&nop[..], MAX_RPC_LEN + 1)] {
        let e = check(input, out_len, s).unwrap_err();
        assert!(matches!(e, Error::BadLength { .. }), "{e}");
        assert_eq!(e.errno(), 90, "EMSGSIZE");
    }
    // The length is checked before the scope: a short NOT_ALLOWED command is still EMSGSIZE.
    assert!(matches!(check(&header(0x104, 0), 8, s), Err(Error::BadLength { .. })));
}

#[cfg(feature = "sim")]
mod on_the_device_model {
    use super::*;
    use mlx5_cmdif::engine::hca::{self, BringUp};
    use mlx5_cmdif::engine::{Cmdq, Config};
    use mlx5_cmdif::prm::{
        AccessRegisterIn, CmdStatus, MboxOutHdr, MtcapReg, Opcode, QueryAdapterIn, SetHcaCapIn, UctxCap,
    };
    use mlx5_cmdif::scope::{output_status, Session};
    use mlx5_cmdif::sim::{SimBus, SimClock, SimConfig, SimDevice, SimDma, SimMmio, SimPages};
    use std::sync::Arc;
    use zerocopy::IntoBytes;

    type Q = Cmdq<SimMmio, SimClock, SimDma, SimDma>;

    fn up() -> (Arc<SimBus>, SimDevice, Q) {
        let bus = SimBus::new();
        let dev = SimDevice::new(&bus, SimConfig::default());
        let mut q =
            Cmdq::new(dev.mmio(), SimClock::new(), bus.alloc(4096, 4096), bus.alloc(1 << 20, 1024), Config::default())
                .unwrap();
        let mut pages = SimPages::new(&bus);
        hca::bring_up(&mut q, &mut pages, &BringUp::default()).unwrap();
        (bus, dev, q)
    }

    fn read_mtcap() -> Vec<u8> {
        let mut v = AccessRegisterIn::new()
            .with_opcode(Opcode::ACCESS_REG.0)
            .with_op_mod(1)
            .with_register_id(0x9009)
            .as_bytes()
            .to_vec();
        v.extend_from_slice(MtcapReg::new().as_bytes());
        v
    }

    #[test]
    fn a_session_is_a_tools_user_context_and_closing_destroys_it() {
        let (_bus, dev, mut q) = up();
        let s = Session::open(&mut q).unwrap();
        assert_ne!(s.uid(), 0);
        assert_eq!(dev.live_uids(), vec![s.uid()]);
        assert!(s.device_caps().contains(UctxCap::TOOLS_RESOURCES));
        assert_eq!(s.uctx_caps(), UctxCap::TOOLS_RESOURCES, "only the tools capability is asked for");
        let other = Session::open(&mut q).unwrap();
        assert_ne!(other.uid(), s.uid());
        assert_eq!(q.uid(), 0, "opening leaves the queue's own uid alone");
        s.close(&mut q).unwrap();
        assert_eq!(dev.live_uids(), vec![other.uid()]);
        other.close(&mut q).unwrap();
        assert!(dev.live_uids().is_empty());
        assert_eq!(dev.stats().executed(Opcode::DESTROY_UCTX.0), 2);
    }

    #[test]
    fn an_allowed_command_reaches_the_device_with_the_session_uid() {
        let (_bus, dev, mut q) = up();
        let s = Session::open(&mut q).unwrap();
        let before = dev.stats().executed(Opcode::QUERY_ADAPTER.0);
        // The user writes uid 0x7777 into the header; the session replaces it.
        let mut input = QueryAdapterIn::new().with_opcode(Opcode::QUERY_ADAPTER.0);
        input.0[2..4].copy_from_slice(&0x7777u16.to_be_bytes()); // header uid: bits 0x10..0x20
        let mut out = [0u8; 272];
        let c = s.rpc(&mut q, Scope::Configuration, input.as_bytes(), &mut out).unwrap();
        assert_eq!(c.status, CmdStatus::OK);
        assert_eq!(c.len, 272);
        assert_eq!(dev.stats().executed(Opcode::QUERY_ADAPTER.0), before + 1);
        let last = dev.stats().last.unwrap();
        assert_eq!((last.opcode, last.uid), (Opcode::QUERY_ADAPTER.0, s.uid()));
        assert_eq!(q.uid(), 0, "the queue's uid is restored after the RPC");
        let mut reg = vec![0u8; 16 + MtcapReg::SIZE];
        let c = s.rpc(&mut q, Scope::DebugReadOnly, &read_mtcap(), &mut reg).unwrap();
        assert_eq!(c.status, CmdStatus::OK);
        assert_eq!(dev.stats().last.unwrap().uid, s.uid());
    }

    #[test]
    fn a_refused_command_never_reaches_the_device() {
        let (_bus, dev, mut q) = up();
        let s = Session::open(&mut q).unwrap();
        let before = dev.stats();
        let mut out = [0u8; 64];
        // A register read at CONFIGURATION, a NOP at CONFIGURATION, life-cycle commands at the top scope.
        let refused: [(Vec<u8>, Scope); 4] = [
            (read_mtcap(), Scope::Configuration),
            (header(Opcode::NOP.0, 0).to_vec(), Scope::Configuration),
            (header(Opcode::TEARDOWN_HCA.0, 0).to_vec(), Scope::DebugWriteFull),
            (header(Opcode::MANAGE_PAGES.0, 1).to_vec(), Scope::DebugWriteFull),
        ];
        for (input, scope) in &refused {
            let e = s.rpc(&mut q, *scope, input, &mut out).unwrap_err();
            assert!(matches!(e, Error::NotAllowed { .. }), "{e}");
            assert_eq!(e.errno(), 74);
        }
        let short = s.rpc(&mut q, Scope::DebugWriteFull, &header(Opcode::NOP.0, 0), &mut out[..8]).unwrap_err();
        assert!(matches!(short, Error::BadLength { .. }));
        let after = dev.stats();
        assert_eq!(after.doorbells, before.doorbells, "no doorbell for a refused command");
        assert_eq!(after.commands, before.commands);
        for op in [Opcode::ACCESS_REG, Opcode::NOP, Opcode::TEARDOWN_HCA, Opcode::MANAGE_PAGES] {
            assert_eq!(after.executed(op.0), before.executed(op.0), "{op:?}");
        }
        // The same NOP at DEBUG_READ_ONLY does reach it.
        s.rpc(&mut q, Scope::DebugReadOnly, &header(Opcode::NOP.0, 0), &mut out[..16]).unwrap();
        assert_eq!(dev.stats().executed(Opcode::NOP.0), before.executed(Opcode::NOP.0) + 1);
    }

    #[test]
    fn firmware_errors_come_back_as_output_not_as_errors() {
        let (_bus, dev, mut q) = up();
        let s = Session::open(&mut q).unwrap();
        // SET_HCA_CAP passes the scope check at CONFIGURATION, but firmware refuses it from a tools uid.
        let input = SetHcaCapIn::new().with_opcode(Opcode::SET_HCA_CAP.0);
        let mut out = [0xaau8; 16];
        let c = s.rpc(&mut q, Scope::Configuration, input.as_bytes(), &mut out).unwrap();
        assert_eq!(c.status, CmdStatus::BAD_PARAMETER);
        assert_eq!(output_status(&out), Some((CmdStatus::BAD_PARAMETER, c.syndrome)));
        assert_eq!(MboxOutHdr::SIZE, 16);
        assert_eq!(dev.stats().last.unwrap().uid, s.uid());
        // Without a session (uid 0, the driver itself) firmware takes the same command.
        assert_eq!(q.uid(), 0);
    }
}
