pub mod bench;
pub mod bench_csi;
pub mod bench_node;
pub mod csi;
pub mod down;
pub mod status;
pub mod up;
pub mod volume;
