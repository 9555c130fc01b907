//! Raw FFI (being written)
