//! The device model: a ConnectX firmware simulator behind the host traits (being written).
