//! `mlx5cmd`: diagnostics for ConnectX devices (being written).
fn main() {}
