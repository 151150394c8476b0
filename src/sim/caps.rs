//! The capability pages the device reports: a ConnectX-6 Dx-like profile, maximum and current values.
//!
//! QUERY_HCA_CAP reads them (`op_mod = cap_type << 1 | current`); SET_HCA_CAP replaces the current page of
//! a type when every field is within the maximum ([`within_max`]).

use alloc::collections::BTreeMap;

use crate::layout::{Count, LayoutDesc, Value};
use crate::prm::{
    CapType, CmdHcaCap, CmdHcaCap2, CmdifChecksum, HcaCapUnion, PerProtocolNetworkingOffloadCaps, PortType, QosCap,
    UctxCap,
};

/// Maximum and current page of every capability type the device reports.
pub(crate) struct Caps {
    pages: BTreeMap<u16, (HcaCapUnion, HcaCapUnion)>,
}

/// The user-context capabilities the device offers (`cmd_hca_cap.uctx_cap`).
pub(crate) const UCTX_CAPS: UctxCap = UctxCap::RAW_TX.union(UctxCap::INTERNAL_DEV_RES).union(UctxCap::TOOLS_RESOURCES);

/// log2 of the number of user contexts.
pub(crate) const LOG_MAX_UCTX: u8 = 7;

fn page_of(bytes: &[u8]) -> HcaCapUnion {
    let mut u = HcaCapUnion::new();
    if let Some(dst) = u.0.get_mut(..bytes.len()) {
        dst.copy_from_slice(bytes);
    }
    u
}

fn general(ports: u8) -> CmdHcaCap {
    let mut c = CmdHcaCap::new();
    c.set_hca_cap_2(true);
    c.set_log_max_srq_sz(15);
    c.set_log_max_qp_sz(15);
    c.set_event_cap(true);
    c.set_log_max_qp(18);
    c.set_log_max_srq(23);
    c.set_max_sgl_for_optimized_performance(8);
    c.set_log_max_cq_sz(22);
    c.set_log_max_cq(24);
    c.set_log_max_eq_sz(22);
    c.set_relaxed_ordering_write(true);
    c.set_log_max_mkey(24);
    c.set_fast_teardown(true);
    c.set_log_max_eq(8);
    c.set_max_indirection(4);
    c.set_log_max_mrw_sz(64);
    c.set_force_teardown(true);
    c.set_log_max_klm_list_size(16);
    c.set_log_max_ra_req_dc(4);
    c.set_log_max_ra_res_dc(4);
    c.set_release_all_pages(true);
    c.set_log_max_ra_req_qp(4);
    c.set_log_max_ra_res_qp(4);
    c.set_cache_line_128byte(true);
    c.set_qcam_reg(true);
    c.set_gid_table_size(255);
    c.set_vport_counters(true);
    c.set_pkey_table_size(0);
    c.set_vport_group_manager(true);
    c.set_eth_virt(true);
    c.set_ets(true);
    c.set_nic_flow_table(true);
    c.set_eswitch_manager(true);
    c.set_mcam_reg(true);
    c.set_pcam_reg(true);
    c.set_local_ca_ack_delay(16);
    c.set_port_module_event(true);
    c.set_port_type(PortType::ETHERNET);
    c.set_num_ports(ports);
    c.set_pps(true);
    c.set_pps_modify(true);
    c.set_log_max_msg(30);
    c.set_max_tc(8);
    c.set_temp_warn_event(true);
    c.set_dcbx(true);
    c.set_general_notification_event(true);
    c.set_cqe_version(1);
    c.set_cmdif_checksum(CmdifChecksum::ENABLED);
    c.set_qos(true);
    c.set_eth_net_offloads(true);
    c.set_roce(true);
    c.set_atomic(true);
    c.set_cq_resize(true);
    c.set_cq_moderation(true);
    c.set_uar_4k(true);
    c.set_uar_sz(6);
    c.set_log_pg_sz(12);
    c.set_bf(true);
    c.set_driver_version(true);
    c.set_log_bf_reg_size(9);
    c.set_max_wqe_sz_sq(1024);
    c.set_max_wqe_sz_rq(1024);
    c.set_log_max_pd(23);
    c.set_log_max_transport_domain(20);
    c.set_log_max_rq(23);
    c.set_log_max_sq(23);
    c.set_log_max_tir(23);
    c.set_log_max_tis(23);
    c.set_log_max_rmp(23);
    c.set_log_max_rqt(20);
    c.set_log_max_rqt_size(20);
    c.set_log_max_current_mc_list(15);
    c.set_log_max_current_uc_list(15);
    c.set_log_max_vlan_list(12);
    c.set_log_max_uctx(LOG_MAX_UCTX);
    c.set_log_max_umem(7);
    c.set_max_num_eqs(1024);
    c.set_log_max_l2_table(15);
    c.set_device_frequency_khz(1_000_000);
    c.set_num_of_uars_per_page(1);
    c.set_num_vhca_ports(ports);
    c.set_sw_owner_id(true);
    c.set_uctx_cap(UCTX_CAPS);
    c
}

fn general_2() -> CmdHcaCap2 {
    let mut c = CmdHcaCap2::new();
    c.set_max_reformat_insert_size(128);
    c.set_max_reformat_insert_offset(254);
    c.set_max_reformat_remove_size(128);
    c.set_max_reformat_remove_offset(254);
    c.set_log_min_mkey_entity_size(12);
    c.set_max_num_eqs_24b(1024);
    c
}

fn ethernet() -> PerProtocolNetworkingOffloadCaps {
    let mut c = PerProtocolNetworkingOffloadCaps::new();
    c.set_csum_cap(true);
    c.set_vlan_cap(true);
    c.set_lro_cap(true);
    c.set_lro_psh_flag(true);
    c.set_lro_time_stamp(true);
    c.set_wqe_vlan_insert(true);
    c.set_self_lb_en_modifiable(true);
    c.set_max_lso_cap(18);
    c.set_multi_pkt_send_wqe(2);
    c.set_wqe_inline_mode(2);
    c.set_rss_ind_tbl_cap(11);
    c.set_scatter_fcs(true);
    c.set_enhanced_multi_pkt_send_wqe(true);
    c.set_tunnel_lso_const_out_ip_id(true);
    c.set_tunnel_stateless_gre(true);
    c.set_tunnel_stateless_vxlan(true);
    c.set_swp(true);
    c.set_swp_csum(true);
    c.set_swp_lso(true);
    c.set_tunnel_stateless_geneve_tx(true);
    c.set_tunnel_stateless_geneve_rx(true);
    c.set_max_vxlan_udp_ports(4);
    c.set_max_geneve_opt_len(true);
    c.set_lro_min_mss_size(536);
    for (i, p) in [8u32, 16, 32, 1024].into_iter().enumerate() {
        let _ = c.set_lro_timer_supported_periods(i, p);
    }
    c
}

fn qos() -> QosCap {
    let mut c = QosCap::new();
    c.set_packet_pacing(true);
    c.set_esw_scheduling(true);
    c.set_esw_bw_share(true);
    c.set_esw_rate_limit(true);
    c.set_packet_pacing_burst_bound(true);
    c.set_packet_pacing_typical_size(true);
    c.set_log_esw_max_sched_depth(2);
    c.set_packet_pacing_max_rate(100_000_000);
    c.set_packet_pacing_min_rate(1_000);
    c.set_packet_pacing_rate_table_size(128);
    c.set_esw_element_type(0x9);
    c.set_esw_tsar_type(0x1);
    c.set_max_tsar_bw_share(100);
    c
}

impl Caps {
    pub(crate) fn new(ports: u8) -> Self {
        let mut pages = BTreeMap::new();
        let g = general(ports);
        let mut g_cur = g;
        g_cur.set_cmdif_checksum(CmdifChecksum::INITIAL_STATE);
        pages.insert(CapType::GENERAL.0, (page_of(&g.0), page_of(&g_cur.0)));
        let g2 = general_2();
        pages.insert(CapType::GENERAL_2.0, (page_of(&g2.0), page_of(&g2.0)));
        let e = ethernet();
        pages.insert(CapType::ETHERNET_OFFLOADS.0, (page_of(&e.0), page_of(&e.0)));
        let q = qos();
        pages.insert(CapType::QOS.0, (page_of(&q.0), page_of(&q.0)));
        Caps { pages }
    }

    /// The maximum (`current == false`) or current page of a type, if the device has it.
    pub(crate) fn get(&self, cap_type: u16, current: bool) -> Option<&HcaCapUnion> {
        self.pages.get(&cap_type).map(|(m, c)| if current { c } else { m })
    }

    /// The current general capabilities.
    pub(crate) fn general(&self) -> CmdHcaCap {
        let mut c = CmdHcaCap::new();
        if let Some(p) = self.get(CapType::GENERAL.0, true) {
            c.0.copy_from_slice(p.cmd_hca_cap().as_array());
        }
        c
    }

    /// Replaces the current page of a type. Returns false when the type is unknown or a field exceeds
    /// its maximum.
    pub(crate) fn set(&mut self, cap_type: u16, page: &HcaCapUnion) -> bool {
        let Some(desc) = layout_of(cap_type) else {
            return false;
        };
        let Some((max, cur)) = self.pages.get_mut(&cap_type) else {
            return false;
        };
        if !within_max(desc, &page.0, &max.0) {
            return false;
        }
        let n = desc.size_bits / 8;
        if let (Some(dst), Some(src)) = (cur.0.get_mut(..n), page.0.get(..n)) {
            dst.copy_from_slice(src);
        }
        true
    }
}

/// The layout of a capability type's page.
fn layout_of(cap_type: u16) -> Option<&'static LayoutDesc> {
    match CapType(cap_type) {
        CapType::GENERAL => Some(CmdHcaCap::DESC),
        CapType::GENERAL_2 => Some(CmdHcaCap2::DESC),
        CapType::ETHERNET_OFFLOADS => Some(PerProtocolNetworkingOffloadCaps::DESC),
        CapType::QOS => Some(QosCap::DESC),
        _ => None,
    }
}

/// Whether every field of `new` is within `max`: a flag only where the maximum has it, a number no larger,
/// a flag set a subset. Byte strings and nested layouts are not compared.
pub(crate) fn within_max(desc: &LayoutDesc, new: &[u8], max: &[u8]) -> bool {
    desc.fields.iter().filter(|f| !f.is_reserved()).all(|f| {
        let n = match f.count {
            Count::One => 1,
            Count::Fixed(n) => n,
            Count::Tail => 0,
        };
        (0..n).all(|i| match (f.read(new, i), f.read(max, i)) {
            (Some(Value::Bool(a)), Some(Value::Bool(b))) => !a || b,
            (Some(Value::Uint(a)), Some(Value::Uint(b))) => a <= b,
            (Some(Value::Sint(a)), Some(Value::Sint(b))) => a <= b,
            (Some(Value::Enum(_, a)), Some(Value::Enum(_, b))) => a <= b,
            (Some(Value::Flags(_, a)), Some(Value::Flags(_, b))) => a & !b == 0,
            _ => true,
        })
    })
}
