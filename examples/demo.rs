//! The main job: bring the built-in device model up through the command queue, print adapter and
//! firmware information, a few capabilities, port state and temperatures, then tear it down cleanly.
//!
//! Run with `cargo run --example demo --features sim`. Everything goes through the same engine a kernel
//! or UEFI driver would use; only the host (BAR0, DMA memory, clock, pages) is the device model's.

use std::process::ExitCode;

use mlx5_cmdif::command::CapabilityPage;
use mlx5_cmdif::engine::hca::{self, BringUp};
use mlx5_cmdif::engine::{Cmdq, Config, Error};
use mlx5_cmdif::host::PageProvider;
use mlx5_cmdif::prm::{
    CmdHcaCap, CmdHcaCap2, MciaReg, MtcapReg, MtmpReg, PaosReg, PerProtocolNetworkingOffloadCaps, PmtuReg, QosCap,
    QueryAdapter, QueryAdapterIn, QueryNicVportContext, QueryNicVportContextIn,
};
use mlx5_cmdif::sim::{SimBus, SimClock, SimConfig, SimDevice, SimPages};

fn text(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).trim().to_string()
}

/// Temperatures are in units of 0.125 °C.
fn celsius(t: i16) -> f32 {
    f32::from(t) / 8.0
}

fn run() -> Result<(), Error> {
    // The host: the device model's BAR0 and DMA memory, a clock, and pages to give firmware.
    let bus = SimBus::new();
    let device = SimDevice::new(&bus, SimConfig::default());
    let mut pages = SimPages::new(&bus);
    let queue_page = bus.alloc(4096, 4096);
    let mailboxes = bus.alloc(256 * 1024, 1024);

    let mut q = Cmdq::new(device.mmio(), SimClock::new(), queue_page, mailboxes, Config::default())?;
    let g = q.geometry();
    println!("command queue: {} slots of {} bytes, timeout {} ms", g.slots, g.stride, q.cmd_timeout_us() / 1000);

    let info = hca::bring_up(&mut q, &mut pages, &BringUp::default())?;
    println!("HCA up: ISSI {}, {} boot + {} init pages given to firmware", info.issi, info.boot_pages, info.init_pages);

    println!("\n== adapter");
    let adapter = q.execute::<QueryAdapter>(&QueryAdapterIn::new())?;
    let a = adapter.query_adapter_struct();
    println!("firmware version:  {}", q.fw_version());
    println!("vendor id:         {:#06x}", a.ieee_vendor_id());
    println!("board id (PSID):   {}", text(a.vsd_contd_psid_bytes()));
    println!("vendor data:       {}", text(a.vsd_bytes()));
    let vport = q.execute::<QueryNicVportContext>(&QueryNicVportContextIn::new())?;
    let v = vport.nic_vport_context();
    let mac = v.permanent_address();
    let m = (u64::from(mac.mac_addr_47_32()) << 32) | u64::from(mac.mac_addr_31_0());
    let mac: Vec<String> = m.to_be_bytes()[2..].iter().map(|b| format!("{b:02x}")).collect();
    println!("MAC address:       {}", mac.join(":"));

    println!("\n== capabilities (current / max)");
    let cur: CmdHcaCap = q.query_cap(true)?;
    let max: CmdHcaCap = q.query_cap(false)?;
    println!("ports:             {} ({:?})", cur.num_ports(), cur.port_type());
    println!("log_max_qp:        {} / {}", cur.log_max_qp(), max.log_max_qp());
    println!("log_max_cq:        {} / {}", cur.log_max_cq(), max.log_max_cq());
    println!("log_max_msg:       {}", cur.log_max_msg());
    println!("max_tc:            {}", cur.max_tc());
    println!("cmdif_checksum:    {:?}", cur.cmdif_checksum());
    println!("uctx_cap:          {:?}", cur.uctx_cap());
    let eth: PerProtocolNetworkingOffloadCaps = q.query_cap(true)?;
    println!("eth csum_cap:      {}   lro_cap: {}", eth.csum_cap(), eth.lro_cap());
    let qos: QosCap = q.query_cap(true)?;
    println!("qos packet_pacing: {}", qos.packet_pacing());
    let gen2: CmdHcaCap2 = q.query_cap(true)?;
    println!("general 2 (type {:#x}) read, {} bytes", CmdHcaCap2::CAP_TYPE, core::mem::size_of_val(&gen2));

    println!("\n== ports");
    for port in 1..=cur.num_ports() {
        let paos = q.read_register(&PaosReg::new().with_local_port(port), 0)?;
        let pmtu = q.read_register(&PmtuReg::new().with_local_port(port), 0)?;
        println!(
            "port {port}: admin {:?}, oper {:?}, MTU {} (max {})",
            paos.admin_status(),
            paos.oper_status(),
            pmtu.oper_mtu(),
            pmtu.max_mtu()
        );
        let module = q.read_register(
            &MciaReg::new().with_module(port - 1).with_i2c_device_address(0x50).with_device_address(148).with_size(16),
            0,
        )?;
        let mut vendor = Vec::new();
        for i in 0..4 {
            let dw = match i {
                0 => module.dword_0(),
                1 => module.dword_1(),
                2 => module.dword_2(),
                _ => module.dword_3(),
            };
            vendor.extend_from_slice(&dw.to_be_bytes());
        }
        println!("        module vendor: {}", text(&vendor));
    }

    println!("\n== temperatures");
    let mtcap = q.read_register(&MtcapReg::new(), 0)?;
    for sensor in 0..u16::from(mtcap.sensor_count()) {
        let t = q.read_register(&MtmpReg::new().with_sensor_index(sensor), 0)?;
        let name = [t.sensor_name_hi().to_be_bytes(), t.sensor_name_lo().to_be_bytes()].concat();
        println!(
            "sensor {sensor} ({}): {:.1} °C (max {:.1} °C)",
            text(&name),
            celsius(t.temperature()),
            celsius(t.max_temperature())
        );
    }

    let reclaimed = hca::teardown(&mut q, &mut pages)?;
    println!("\nHCA torn down: {reclaimed} pages returned, {} still held by firmware", device.pages_held());
    println!("\n== command statistics");
    for (cmd, s) in q.stats().iter() {
        println!("{:<28} {:>4} runs, {} errors, avg {} µs", cmd.name, s.count, s.errors, s.average_us());
    }
    assert_eq!(pages.pages_out(), 0);
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo: {e}");
            ExitCode::FAILURE
        }
    }
}
