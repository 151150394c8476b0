struct mlx5_ifc_thing_reg_bits {
	u8         state[0x4];
	u8         reserved_at_4[0x4];
	u8         count[0x8];
	u8         reserved_at_10[0x10];

	u8         new_field[0x20];

	u8         reserved_at_40[0x40];
};
