/*
 * The baseline of the layout benchmark: fields of cmd_hca_cap read and written with the technique of the
 * Linux kernel's MLX5_GET/MLX5_SET (a big-endian dword, then a shift and a mask per field), written from
 * scratch for this benchmark. Offsets are PRM bit offsets (bit 0 = MSB of byte 0), as in mlx5_ifc.h.
 */
#include <stdint.h>
#include <string.h>

static inline uint32_t load_be32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return __builtin_bswap32(v);
}

static inline void store_be32(uint8_t *p, uint32_t v)
{
    v = __builtin_bswap32(v);
    memcpy(p, &v, 4);
}

#define DW_BYTE(bit) (((bit) / 32) * 4)
#define DW_SHIFT(bit, w) (32 - ((bit) % 32) - (w))
#define FMASK(w) ((uint32_t)((1ull << (w)) - 1))

#define CAP_GET(p, f) ((load_be32((p) + DW_BYTE(f##_BIT)) >> DW_SHIFT(f##_BIT, f##_W)) & FMASK(f##_W))
#define CAP_SET(p, f, v)                                                                              \
    store_be32((p) + DW_BYTE(f##_BIT),                                                                \
               (load_be32((p) + DW_BYTE(f##_BIT)) & ~(FMASK(f##_W) << DW_SHIFT(f##_BIT, f##_W))) |   \
                   (((uint32_t)(v) & FMASK(f##_W)) << DW_SHIFT(f##_BIT, f##_W)))

#define F_LOG_MAX_SRQ_SZ_BIT 0x80
#define F_LOG_MAX_SRQ_SZ_W 8
#define F_LOG_MAX_QP_SZ_BIT 0x88
#define F_LOG_MAX_QP_SZ_W 8
#define F_LOG_MAX_QP_BIT 0x9b
#define F_LOG_MAX_QP_W 5
#define F_LOG_MAX_SRQ_BIT 0xab
#define F_LOG_MAX_SRQ_W 5
#define F_LOG_MAX_CQ_SZ_BIT 0xc8
#define F_LOG_MAX_CQ_SZ_W 8
#define F_LOG_MAX_CQ_BIT 0xdb
#define F_LOG_MAX_CQ_W 5
#define F_LOG_MAX_MKEY_BIT 0xea
#define F_LOG_MAX_MKEY_W 6
#define F_LOG_MAX_EQ_BIT 0xfc
#define F_LOG_MAX_EQ_W 4
#define F_LOG_MAX_MRW_SZ_BIT 0x109
#define F_LOG_MAX_MRW_SZ_W 7
#define F_LOG_MAX_RA_REQ_QP_BIT 0x14a
#define F_LOG_MAX_RA_REQ_QP_W 6
#define F_LOG_MAX_RA_RES_QP_BIT 0x15a
#define F_LOG_MAX_RA_RES_QP_W 6
#define F_NUM_PORTS_BIT 0x1b8
#define F_NUM_PORTS_W 8
#define F_LOG_MAX_MSG_BIT 0x1c3
#define F_LOG_MAX_MSG_W 5
#define F_MAX_TC_BIT 0x1cc
#define F_MAX_TC_W 4
#define F_LOG_PG_SZ_BIT 0x258
#define F_LOG_PG_SZ_W 8
#define F_LOG_MAX_PD_BIT 0x32b
#define F_LOG_MAX_PD_W 5

uint32_t c_get_set(uint8_t *cap, uint8_t seed)
{
    uint32_t sum = CAP_GET(cap, F_LOG_MAX_SRQ_SZ) +
           CAP_GET(cap, F_LOG_MAX_QP_SZ) +
           CAP_GET(cap, F_LOG_MAX_QP) +
           CAP_GET(cap, F_LOG_MAX_SRQ) +
           CAP_GET(cap, F_LOG_MAX_CQ_SZ) +
           CAP_GET(cap, F_LOG_MAX_CQ) +
           CAP_GET(cap, F_LOG_MAX_MKEY) +
           CAP_GET(cap, F_LOG_MAX_EQ) +
           CAP_GET(cap, F_LOG_MAX_MRW_SZ) +
           CAP_GET(cap, F_LOG_MAX_RA_REQ_QP) +
           CAP_GET(cap, F_LOG_MAX_RA_RES_QP) +
           CAP_GET(cap, F_NUM_PORTS) +
           CAP_GET(cap, F_LOG_MAX_MSG) +
           CAP_GET(cap, F_MAX_TC) +
           CAP_GET(cap, F_LOG_PG_SZ) +
           CAP_GET(cap, F_LOG_MAX_PD);
    CAP_SET(cap, F_LOG_MAX_SRQ_SZ, seed + 0);
    CAP_SET(cap, F_LOG_MAX_QP_SZ, seed + 1);
    CAP_SET(cap, F_LOG_MAX_QP, seed + 2);
    CAP_SET(cap, F_LOG_MAX_SRQ, seed + 3);
    CAP_SET(cap, F_LOG_MAX_CQ_SZ, seed + 4);
    CAP_SET(cap, F_LOG_MAX_CQ, seed + 5);
    CAP_SET(cap, F_LOG_MAX_MKEY, seed + 6);
    CAP_SET(cap, F_LOG_MAX_EQ, seed + 7);
    CAP_SET(cap, F_LOG_MAX_MRW_SZ, seed + 8);
    CAP_SET(cap, F_LOG_MAX_RA_REQ_QP, seed + 9);
    CAP_SET(cap, F_LOG_MAX_RA_RES_QP, seed + 10);
    CAP_SET(cap, F_NUM_PORTS, seed + 11);
    CAP_SET(cap, F_LOG_MAX_MSG, seed + 12);
    CAP_SET(cap, F_MAX_TC, seed + 13);
    CAP_SET(cap, F_LOG_PG_SZ, seed + 14);
    CAP_SET(cap, F_LOG_MAX_PD, seed + 15);
    return sum;
}
