//! What the simulated device looks like at power-on.

/// Configuration of a [`SimDevice`](super::SimDevice). `SimConfig::default()` is a dual-port ConnectX-6
/// Dx-like adapter that boots after two reads of `initializing`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimConfig {
    /// Firmware version (major, minor, sub-minor), reported in `fw_rev`, `cmdif_rev_fw_sub` and the
    /// health buffer.
    pub fw_version: (u16, u16, u16),
    /// `log_cmdq_size` reported in BAR0 (5: 32 slots).
    pub log_cmdq_size: u8,
    /// `log_cmdq_stride` reported in BAR0 (6: 64-byte entries).
    pub log_cmdq_stride: u8,
    /// Reads of the `initializing` register after power-on before it clears (0: clear at once).
    pub boot_reads: u32,
    /// Reads of `initializing` after the host writes the queue address before it clears again (0: never
    /// set again).
    pub reinit_reads: u32,
    /// `cmd_exec_to`: bits 31:29 multiplier (0 ms, 1 s, 2 min, 3 h), bits 19:0 value.
    pub cmd_exec_to: u32,
    /// `cmd_q_init_to`, same encoding; 0 means "not supported".
    pub cmd_q_init_to: u32,
    /// Pages firmware asks for at QUERY_PAGES(boot).
    pub boot_pages: u32,
    /// Pages firmware asks for at QUERY_PAGES(init), after the boot pages.
    pub init_pages: u32,
    /// Number of ports (local ports 1..=ports, modules 0..ports).
    pub ports: u8,
    /// Permanent MAC address of the function's vport.
    pub mac: [u8; 6],
    /// Board id (PSID) reported by QUERY_ADAPTER, ASCII, NUL padded.
    pub psid: [u8; 16],
}

/// Encodes a timeout in milliseconds for `cmd_exec_to` / `cmd_q_init_to` (multiplier 0 = ms).
pub const fn timeout_ms(ms: u32) -> u32 {
    ms & 0xf_ffff
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            fw_version: (22, 41, 1000),
            log_cmdq_size: 5,
            log_cmdq_stride: 6,
            boot_reads: 2,
            reinit_reads: 2,
            cmd_exec_to: timeout_ms(60_000),
            cmd_q_init_to: timeout_ms(2_000),
            boot_pages: 16,
            init_pages: 48,
            ports: 2,
            mac: [0xb8, 0xce, 0xf6, 0x12, 0x34, 0x56],
            psid: *b"MT_0000000359\0\0\0",
        }
    }
}
