//! The RBD node plugin's FUSE image server on its own (the node tests use it
//! through the plugin): it serves the image as a file, and when its cluster's
//! conf vanishes (the cluster was purged) it detaches its mount and exits, so
//! no loop device or `losetup -a` waits on a cluster that is gone.

mod common;

#[allow(dead_code)]
#[path = "bodies/ceph_layer.rs"]
mod bodies;

use std::io::{BufRead as _, BufReader};
use std::os::unix::fs::FileExt as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rookery_csi::node::mountinfo;

const MIB: u64 = 1 << 20;

/// Kills the server on drop (a failed test) and lazily unmounts its mount.
struct Server {
    child: std::process::Child,
    mountpoint: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = nix::mount::umount2(&self.mountpoint, nix::mount::MntFlags::MNT_DETACH);
    }
}

#[tokio::test]
async fn serves_the_image_and_exits_when_its_cluster_is_gone() {
    let cluster = common::shared();
    let rados = cluster.rados().await;
    let keyring = cluster.keyring();
    let cluster_conf = cluster.conf();
    bodies::in_temp_pool(&rados, "rbd", move |rados, pool| async move {
        let io = rados.ioctx(&pool, None).await.expect("ioctx");
        rookery_ceph::rbd::create(&io, "img", 64 * MIB, &Default::default())
            .await
            .expect("create the image");
        let dir = tempfile::tempdir_in(common::tmp_root()).expect("temp dir");
        // A copy of the conf stands for the cluster directory: removing it
        // is what a purge does, as far as the server can tell.
        let conf = dir.path().join("ceph.conf");
        std::fs::copy(&cluster_conf, &conf).expect("copy the conf");
        let mountpoint = dir.path().join("mnt");
        std::fs::create_dir(&mountpoint).unwrap();
        let child = Command::new(common::BIN)
            .args(["rbd-fuse-serve", "--conf"])
            .arg(&conf)
            .arg("--keyring")
            .arg(&keyring)
            .args(["--pool", &pool, "--image", "img"])
            .arg(&mountpoint)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the server");
        let mut server = Server { child, mountpoint };
        let mut line = String::new();
        BufReader::new(server.child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready");
        let m = mountinfo::at(&server.mountpoint).unwrap().expect("mounted");
        assert_eq!(m.fs_type, "fuse.rookery-rbd");

        // One file, the image's size, read and written at any offset.
        let file = server.mountpoint.join("img");
        assert_eq!(std::fs::metadata(&file).unwrap().len(), 64 * MIB);
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&file)
            .unwrap();
        f.write_all_at(b"rookery", 10 * MIB + 3).unwrap();
        f.sync_all().unwrap();
        let mut back = [0u8; 7];
        f.read_exact_at(&mut back, 10 * MIB + 3).unwrap();
        assert_eq!(&back, b"rookery");
        // It cannot grow: the image is resized through the controller.
        let err = f.write_all_at(b"x", 64 * MIB).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(nix::errno::Errno::EFBIG as i32));
        drop(f);
        let data = rookery_ceph::rbd::read(&io, "img", 10 * MIB + 3, 7)
            .await
            .unwrap();
        assert_eq!(data, b"rookery", "the write reached the image");

        std::fs::remove_file(&conf).unwrap();
        let start = Instant::now();
        let status = loop {
            if let Some(status) = server.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the server still runs 30 s after its cluster's conf went"
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        assert!(!status.success(), "{status:?}");
        eprintln!(
            "server exited {:.1} s after its conf went",
            start.elapsed().as_secs_f64()
        );
        assert!(
            mountinfo::at(&server.mountpoint).unwrap().is_none(),
            "its mount is gone"
        );
    })
    .await;
}
