pub mod bench;
pub mod down;
pub mod status;
pub mod up;
