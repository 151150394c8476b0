/* SPDX-License-Identifier: test snippet written in the style of mlx5_ifc.h */
#ifndef TEST_IFC_H
#define TEST_IFC_H
#define MULTI_LINE(x) \
	do { } while (0)

enum {
	MLX5_CMD_OP_QUERY_THING = 0x100,
	MLX5_CMD_OP_2ERR_THING  = 0x101,
	MLX5_CMD_OP_MAX
};

enum mlx5_thing_state {
	MLX5_THING_STATE_DOWN = 0x0,
	MLX5_THING_STATE_UP,
	MLX5_THING_STATE_TEST = 5, // decimal
};

enum {
	MLX5_THING_CAP_A = (1ULL << 0),
	MLX5_THING_CAP_B = (1ULL << 3),
	MLX5_THING_CAP_AB = MLX5_THING_CAP_A | MLX5_THING_CAP_B,
};

struct mlx5_ifc_pair_bits {
	u8         lo[0x10];
	u8         hi[16];
};

union mlx5_ifc_pair_or_word_bits {
	struct mlx5_ifc_pair_bits pair;
	u8         word[0x20];
	u8         reserved_at_0[0x20];
};

struct mlx5_ifc_query_thing_in_bits {
	u8         opcode[0x10];
	u8         uid[0x10];

	u8         reserved_at_20[0x10];
	u8         op_mod[0x10];

	u8         bytes[4][0x8];
	u8         nibbles[8][0x4];
	struct mlx5_ifc_pair_bits pairs[2];
	union mlx5_ifc_pair_or_word_bits either;
	union {
		struct mlx5_ifc_pair_bits as_pair;
		struct {
			u8         a[0x18];
			u8         b[0x8];
		};
		u8         reserved_at_0[0x20];
	};
	u8         resereved_at_e0[0x20]; /* the kernel's typo: still reserved */
	u8         data[][0x20];
};

struct mlx5_ifc_query_thing_out_bits {
	u8         status[0x8];
	u8         reserved_at_8[0x18];

	u8         syndrome[0x20];

	u8         reserved_at_40[0x40];

	DECLARE_FLEX_ARRAY(struct mlx5_ifc_pair_bits, pairs);
};

struct mlx5_ifc_choice_bits {
	u8         n[0x20];
	union {
		DECLARE_FLEX_ARRAY(struct mlx5_ifc_pair_bits, pair_list);
		u8         word_list[0][0x20];
	};
};

struct mlx5_ifc_thing_reg_bits {
	u8         mixed_Case_8B[0x1];
	u8         type[0x1];
	u8         reserved_at_2[0x1e];
	u8         mask_127_to_20[0x6c];
	u8         reserved_at_8c[0x14];
};

static inline int not_a_layout(void)
{
	return sizeof(struct mlx5_ifc_pair_bits);
}

#endif /* TEST_IFC_H */
