//! The layout benchmark's two sides: the generated accessors of `cmd_hca_cap`, and C code written with the
//! kernel's technique (`MLX5_GET`/`MLX5_SET`: load the big-endian dword, shift and mask), compiled at -O2
//! by `build.rs` and called through FFI. Both read and write the same 16 fields of the same buffer.

use mlx5_cmdif::prm::CmdHcaCap;

/// Number of fields each side reads and then writes.
pub const FIELDS: usize = 16;

/// Reads 16 fields of `cap` through the generated getters (returning their sum), then writes
/// `seed + i` into field `i` through the generated setters. Not inlined, like the C side behind FFI.
#[inline(never)]
pub fn rust_get_set(cap: &mut CmdHcaCap, seed: u8) -> u32 {
    let sum = u32::from(cap.log_max_srq_sz())
        + u32::from(cap.log_max_qp_sz())
        + u32::from(cap.log_max_qp())
        + u32::from(cap.log_max_srq())
        + u32::from(cap.log_max_cq_sz())
        + u32::from(cap.log_max_cq())
        + u32::from(cap.log_max_mkey())
        + u32::from(cap.log_max_eq())
        + u32::from(cap.log_max_mrw_sz())
        + u32::from(cap.log_max_ra_req_qp())
        + u32::from(cap.log_max_ra_res_qp())
        + u32::from(cap.num_ports())
        + u32::from(cap.log_max_msg())
        + u32::from(cap.max_tc())
        + u32::from(cap.log_pg_sz())
        + u32::from(cap.log_max_pd());
    cap.set_log_max_srq_sz(seed.wrapping_add(0));
    cap.set_log_max_qp_sz(seed.wrapping_add(1));
    cap.set_log_max_qp(seed.wrapping_add(2));
    cap.set_log_max_srq(seed.wrapping_add(3));
    cap.set_log_max_cq_sz(seed.wrapping_add(4));
    cap.set_log_max_cq(seed.wrapping_add(5));
    cap.set_log_max_mkey(seed.wrapping_add(6));
    cap.set_log_max_eq(seed.wrapping_add(7));
    cap.set_log_max_mrw_sz(seed.wrapping_add(8));
    cap.set_log_max_ra_req_qp(seed.wrapping_add(9));
    cap.set_log_max_ra_res_qp(seed.wrapping_add(10));
    cap.set_num_ports(seed.wrapping_add(11));
    cap.set_log_max_msg(seed.wrapping_add(12));
    cap.set_max_tc(seed.wrapping_add(13));
    cap.set_log_pg_sz(seed.wrapping_add(14));
    cap.set_log_max_pd(seed.wrapping_add(15));
    sum
}

mod ffi {
    unsafe extern "C" {
        pub fn c_get_set(cap: *mut u8, seed: u8) -> u32;
    }
}

/// The same work as [`rust_get_set`] in C, shift and mask per field over big-endian dwords.
#[inline]
pub fn c_get_set(cap: &mut CmdHcaCap, seed: u8) -> u32 {
    // SAFETY: `c_get_set` reads and writes only bytes 0..256 of the buffer, which `CmdHcaCap` holds.
    unsafe { ffi::c_get_set(cap.0.as_mut_ptr(), seed) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_read_and_write_the_same_bits() {
        let mut a = CmdHcaCap::new();
        for (i, b) in a.0.iter_mut().enumerate() {
            *b = (i * 151 + 7) as u8;
        }
        let mut b = a;
        for seed in [0u8, 1, 0x5a, 0xff] {
            assert_eq!(rust_get_set(&mut a, seed), c_get_set(&mut b, seed));
            assert_eq!(a.0, b.0);
        }
        assert_eq!(a.log_max_qp(), 0xff_u8.wrapping_add(2) & 0x1f);
    }
}
