//! Where commands go: the built-in device model, or a Linux fwctl device. Both take raw command bytes at
//! a scope and give raw output bytes back, with the same scope rules.

use std::path::Path;
use std::sync::Arc;

use mlx5_cmdif::command::Scope;
use mlx5_cmdif::engine::hca::{self, BringUp};
use mlx5_cmdif::engine::{Cmdq, Config};
use mlx5_cmdif::fwctl::FwctlDevice;
use mlx5_cmdif::prm::{CmdStatus, UctxCap};
use mlx5_cmdif::scope::{output_status, Session};
use mlx5_cmdif::sim::{SimBus, SimClock, SimConfig, SimDevice, SimDma, SimMmio, SimPages};

use crate::error::{CliError, Kind};

/// What a backend knows about its device without sending commands.
pub struct DeviceInfo {
    /// `sim` or the device node.
    pub device: String,
    /// How the device is reached.
    pub backend: &'static str,
    /// Firmware version, when known.
    pub fw_version: Option<String>,
    /// The PCI address, when known.
    pub pci: Option<String>,
    /// The session's uid.
    pub uid: u32,
    /// The session's user-context capabilities.
    pub uctx_caps: UctxCap,
}

/// One RPC's output.
pub struct Reply {
    /// The output bytes (as many as the device produced).
    pub bytes: Vec<u8>,
    /// Firmware status.
    pub status: CmdStatus,
    /// Firmware syndrome.
    pub syndrome: u32,
}

/// A device that runs raw commands at a scope.
pub trait Backend {
    /// What is known about the device.
    fn info(&self) -> DeviceInfo;
    /// Runs `input` at `scope` with an output buffer of `out_len` bytes. Firmware errors are in the reply.
    fn rpc(&mut self, scope: Scope, input: &[u8], out_len: usize) -> Result<Reply, CliError>;
}

type SimQueue = Cmdq<SimMmio, SimClock, SimDma, SimDma>;

/// The device model, brought up through the engine, with one session open on it.
pub struct Sim {
    _bus: Arc<SimBus>,
    _device: SimDevice,
    _pages: SimPages,
    q: SimQueue,
    session: Session,
}

/// Mailbox pool of the model: room for a 2 MiB input and a 2 MiB output (fwctl's largest RPC).
const SIM_POOL: usize = 10 << 20;

impl Sim {
    /// Powers the model on, brings the HCA up and opens a session.
    pub fn start() -> Result<Self, CliError> {
        let bus = SimBus::new();
        let device = SimDevice::new(&bus, SimConfig::default());
        let mut pages = SimPages::new(&bus);
        let mut q = Cmdq::new(
            device.mmio(),
            SimClock::new(),
            bus.alloc(4096, 4096),
            bus.alloc(SIM_POOL, 1024),
            Config::default(),
        )
        .map_err(|e| CliError::other(format!("device model: {e}")))?;
        hca::bring_up(&mut q, &mut pages, &BringUp { driver_version: "mlx5cmd,0.1.0" })
            .map_err(|e| CliError::other(format!("device model bring-up: {e}")))?;
        let session = Session::open(&mut q).map_err(|e| CliError::other(format!("device model session: {e}")))?;
        Ok(Sim { _bus: bus, _device: device, _pages: pages, q, session })
    }
}

impl Backend for Sim {
    fn info(&self) -> DeviceInfo {
        DeviceInfo {
            device: "sim".into(),
            backend: "device model",
            fw_version: Some(self.q.fw_version().to_string()),
            pci: None,
            uid: u32::from(self.session.uid()),
            uctx_caps: self.session.uctx_caps(),
        }
    }

    fn rpc(&mut self, scope: Scope, input: &[u8], out_len: usize) -> Result<Reply, CliError> {
        let mut out = vec![0u8; out_len];
        let c = self.session.rpc(&mut self.q, scope, input, &mut out)?;
        out.truncate(c.len);
        Ok(Reply { bytes: out, status: c.status, syndrome: c.syndrome })
    }
}

/// A Linux fwctl device.
pub struct Fwctl {
    dev: FwctlDevice,
}

impl Fwctl {
    /// Opens `/dev/fwctl/fwctlN`.
    pub fn open(path: &Path) -> Result<Self, CliError> {
        Ok(Fwctl { dev: FwctlDevice::open(path)? })
    }
}

/// Reads a sysfs attribute as trimmed text.
fn sysfs(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok().map(|s| s.trim().to_string())
}

impl Backend for Fwctl {
    fn info(&self) -> DeviceInfo {
        let info = self.dev.info();
        // /sys/class/fwctl/fwctlN/device is the mlx5 auxiliary device; its parent is the PCI function.
        let name = self.dev.path().file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let pci_dir = std::fs::canonicalize(Path::new("/sys/class/fwctl").join(&name).join("device"))
            .ok()
            .and_then(|aux| aux.parent().map(Path::to_path_buf));
        let pci = pci_dir.as_ref().and_then(|d| d.file_name()).map(|n| n.to_string_lossy().into_owned());
        let fw_version = pci_dir.as_ref().and_then(|d| {
            let ib = std::fs::read_dir(d.join("infiniband")).ok()?.filter_map(Result::ok).next()?;
            sysfs(&ib.path().join("fw_ver"))
        });
        DeviceInfo {
            device: self.dev.path().display().to_string(),
            backend: "fwctl",
            fw_version,
            pci,
            uid: info.uid,
            uctx_caps: info.uctx_caps,
        }
    }

    fn rpc(&mut self, scope: Scope, input: &[u8], out_len: usize) -> Result<Reply, CliError> {
        let mut out = vec![0u8; out_len];
        let r = self.dev.rpc(scope, input, &mut out)?;
        out.truncate(r.len);
        Ok(Reply { bytes: out, status: r.status, syndrome: r.syndrome })
    }
}

/// Opens the backend `device` names: `sim`, a path, or (`None`) the first fwctl device, else the model.
pub fn open(device: Option<&str>) -> Result<Box<dyn Backend>, CliError> {
    match device {
        Some("sim") => Ok(Box::new(Sim::start()?)),
        Some(path) => Ok(Box::new(Fwctl::open(Path::new(path))?)),
        None => match mlx5_cmdif::fwctl::devices().first() {
            Some(p) => Ok(Box::new(Fwctl::open(p)?)),
            None => Ok(Box::new(Sim::start()?)),
        },
    }
}

/// Runs a command and requires firmware's OK.
pub fn run(be: &mut dyn Backend, scope: Scope, input: &[u8], out_len: usize) -> Result<Vec<u8>, CliError> {
    let r = be.rpc(scope, input, out_len)?;
    check_status(input, &r)?;
    Ok(r.bytes)
}

/// An error for a reply whose firmware status is not OK.
pub fn check_status(input: &[u8], r: &Reply) -> Result<(), CliError> {
    let (status, syndrome) = output_status(&r.bytes).unwrap_or((r.status, r.syndrome));
    if status == CmdStatus::OK {
        return Ok(());
    }
    let cmd = mlx5_cmdif::scope::command_of(input);
    Err(CliError { kind: Kind::Firmware, msg: format!("{cmd}: firmware status {status:?}, syndrome {syndrome:#010x}") })
}
