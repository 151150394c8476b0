//! HCA bring-up and teardown (being written).
