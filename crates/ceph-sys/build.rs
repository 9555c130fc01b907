//! Links the distribution's librados and librbd (Debian/Ubuntu: librados-dev, librbd-dev).
fn main() {
    println!("cargo:rustc-link-lib=dylib=rados");
    println!("cargo:rustc-link-lib=dylib=rbd");
    println!("cargo:rerun-if-changed=build.rs");
}
