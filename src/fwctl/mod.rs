//! The Linux fwctl backend (being written).
