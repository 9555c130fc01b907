pub mod bench;
pub mod csi;
pub mod down;
pub mod status;
pub mod up;
pub mod volume;
