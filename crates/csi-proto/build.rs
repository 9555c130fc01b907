//! Compiles the pinned `proto/csi.proto` with `protox` (pure Rust, so no `protoc`
//! on build machines) and hands the descriptors to tonic's code generator.

use std::error::Error;

const PROTO: &str = "proto/csi.proto";

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed={PROTO}");
    println!("cargo:rerun-if-changed=build.rs");

    // protox bundles google/protobuf/{descriptor,wrappers,timestamp}.proto, which
    // csi.proto imports; prost maps those types to `prost_types` (and the wrappers
    // to plain `Option`s), so only package `csi.v1` is generated here.
    let descriptors = protox::compile([PROTO], ["proto"])?;

    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        // Clients are connected by the caller (unix sockets need a custom
        // connector), so skip the `connect(uri)` helpers that assume TCP.
        .build_transport(false)
        .compile_fds(descriptors)?;
    Ok(())
}
