struct mlx5_ifc_x_bits {
	u8 a[0x20];
