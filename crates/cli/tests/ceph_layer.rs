//! The librados/librbd layer against the shared real cluster.

#[path = "bodies/ceph_layer.rs"]
mod bodies;
mod common;

#[tokio::test]
async fn mon_command_round_trip() {
    let c = common::shared();
    bodies::status_round_trip(&c.conf(), &c.keyring()).await;
}

#[tokio::test]
async fn omap_write_read_list_remove() {
    let c = common::shared();
    bodies::omap_round_trip(&c.conf(), &c.keyring()).await;
}

#[tokio::test]
async fn image_create_resize_list_remove() {
    let c = common::shared();
    bodies::image_lifecycle(&c.conf(), &c.keyring()).await;
}

#[tokio::test]
async fn missing_pool_and_image_carry_enoent() {
    let c = common::shared();
    bodies::missing_pool_and_image_errors(&c.conf(), &c.keyring()).await;
}

#[tokio::test]
async fn connect_to_a_closed_port_times_out() {
    let c = common::shared();
    bodies::connect_timeout_on_closed_port(&c.keyring()).await;
}
