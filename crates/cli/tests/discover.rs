//! `rookery discover` against real loop devices (root only): each kind of
//! content gives its exact reason, and `--watch` sees a device come and go.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_rookery");
const GIB: u64 = 1 << 30;

/// One test at a time: a loop device freed by one could be taken by the other
/// and turn the watcher's "removed" into "changed".
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn is_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}

fn sh(cmd: &str, args: &[&str]) -> String {
    let o = Command::new(cmd).args(args).output().unwrap();
    assert!(
        o.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

/// Loop devices, mounts and dm targets made by a test; all undone on drop, even
/// when the test fails.
struct Lab {
    tmp: tempfile::TempDir,
    loops: Vec<String>,
    mounts: Vec<PathBuf>,
    dms: Vec<String>,
}

impl Lab {
    fn new() -> Self {
        Lab {
            tmp: tempfile::tempdir().unwrap(),
            loops: vec![],
            mounts: vec![],
            dms: vec![],
        }
    }

    /// A sparse file of `size` attached to a free loop device; returns /dev/loopN.
    fn attach(&mut self, file: &str, size: u64) -> String {
        let path = self.tmp.path().join(file);
        std::fs::File::create(&path).unwrap().set_len(size).unwrap();
        let dev = sh("losetup", &["-f", "--show", path.to_str().unwrap()]);
        self.loops.push(dev.clone());
        dev
    }

    fn detach(&mut self, dev: &str) {
        sh("losetup", &["-d", dev]);
        self.loops.retain(|l| l != dev);
    }

    fn mount(&mut self, dev: &str) -> PathBuf {
        let dir = self.tmp.path().join("mnt");
        std::fs::create_dir_all(&dir).unwrap();
        sh("mount", &[dev, dir.to_str().unwrap()]);
        self.mounts.push(dir.clone());
        dir
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for m in &self.mounts {
            let _ = Command::new("umount").arg("-l").arg(m).status();
        }
        for d in &self.dms {
            let _ = Command::new("dmsetup").args(["remove", d]).status();
        }
        for l in &self.loops {
            let _ = Command::new("losetup").args(["-d", l]).status();
        }
    }
}

fn mkfs_ext4(dev: &str) {
    sh("mkfs.ext4", &["-q", "-F", "-E", "nodiscard", dev]);
}

/// The bytes `pvcreate` writes that matter for detection: label in sector 1.
fn write_lvm_label(dev: &str) {
    let f = std::fs::OpenOptions::new().write(true).open(dev).unwrap();
    f.write_all_at(b"LABELONE", 512).unwrap();
    f.write_all_at(b"LVM2 001", 512 + 24).unwrap();
    f.sync_all().unwrap();
}

/// A dm target over `dev`, so `dev` has a holder; None where device-mapper is missing.
fn hold(lab: &mut Lab, dev: &str) -> Option<String> {
    let name = format!("rookery-discover-{}", std::process::id());
    let table = format!("0 2048 linear {dev} 0");
    let ok = Command::new("dmsetup")
        .args(["create", &name, "--table", &table])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then(|| {
        lab.dms.push(name);
        let base = Path::new(dev).file_name().unwrap().to_str().unwrap();
        sh("ls", &[&format!("/sys/block/{base}/holders")])
    })
}

fn discover(args: &[&str]) -> Vec<Value> {
    let o = Command::new(BIN)
        .arg("discover")
        .args(args)
        .args(["--output", "json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn entry<'a>(all: &'a [Value], dev: &str) -> &'a Value {
    all.iter()
        .find(|d| d["path"] == dev)
        .unwrap_or_else(|| panic!("{dev} not reported"))
}

fn reasons(all: &[Value], dev: &str) -> Vec<String> {
    let e = entry(all, dev);
    serde_json::from_value(e["reasons"].clone()).unwrap()
}

#[test]
fn each_kind_of_device_gets_its_verdict_and_reason() {
    if !is_root() {
        eprintln!("skipped: needs root for loop devices");
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut lab = Lab::new();
    let blank = lab.attach("blank.img", 6 * GIB);
    let gpt = lab.attach("gpt.img", 6 * GIB);
    let ext4 = lab.attach("ext4.img", 6 * GIB);
    let lvm = lab.attach("lvm.img", 6 * GIB);
    let mounted = lab.attach("mounted.img", 6 * GIB);
    let small = lab.attach("small.img", GIB);
    let held = lab.attach("held.img", 6 * GIB);

    let sfdisk = Command::new("sfdisk")
        .args(["-q", "--no-reread"])
        .arg(&gpt)
        .stdin(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write as _;
            c.stdin.take().unwrap().write_all(b"label: gpt\n")?;
            c.wait()
        })
        .unwrap();
    assert!(sfdisk.success(), "sfdisk {gpt}");
    mkfs_ext4(&ext4);
    write_lvm_label(&lvm);
    mkfs_ext4(&mounted);
    let mnt = lab.mount(&mounted);
    let holder = hold(&mut lab, &held);

    // Every loop device: --all (useAllDevices) takes real disks only.
    let all = discover(&["--filter", "^loop[0-9]+$"]);
    assert_eq!(entry(&all, &blank)["verdict"], "use", "{all:#?}");
    assert_eq!(reasons(&all, &blank), Vec::<String>::new());
    assert_eq!(reasons(&all, &gpt), vec!["has a partition table (gpt)"]);
    assert_eq!(reasons(&all, &ext4), vec!["has an ext4 filesystem"]);
    assert_eq!(
        reasons(&all, &lvm),
        vec!["has an LVM physical volume signature"]
    );
    assert_eq!(
        reasons(&all, &mounted),
        vec![
            "has an ext4 filesystem".to_owned(),
            format!("is mounted at {}", mnt.display())
        ]
    );
    assert_eq!(reasons(&all, &small), vec!["smaller than 5 GiB (1 GiB)"]);
    match holder {
        Some(h) => assert_eq!(reasons(&all, &held), vec![format!("is held by {h}")]),
        None => eprintln!("holder case skipped: device-mapper is not available here"),
    }
    for d in [&gpt, &ext4, &lvm, &mounted, &small] {
        assert_eq!(entry(&all, d)["verdict"], "skip", "{d}");
    }

    // useAllDevices takes real disks only, as Rook.
    let every_disk = discover(&["--all"]);
    assert_eq!(
        reasons(&every_disk, &blank),
        vec![
            "is a loop device: useAllDevices takes real disks only; name it in devices or \
match it with deviceFilter"
        ]
    );

    // A filter that names nothing: the blank device is skipped for that alone.
    let none = discover(&["--filter", "^nomatch$"]);
    assert_eq!(
        reasons(&none, &blank),
        vec!["does not match deviceFilter ^nomatch$"]
    );
    // Listed explicitly, a device in use is still not used.
    let listed = discover(&["--device", &ext4, "--device", &blank]);
    assert_eq!(entry(&listed, &blank)["verdict"], "use");
    assert_eq!(reasons(&listed, &ext4), vec!["has an ext4 filesystem"]);
}

/// The watcher, killed on drop.
struct Watcher(Child);

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn next_event(rx: &mpsc::Receiver<Value>, deadline: Instant, want: &str, dev: &str) -> Value {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(v) if v["event"] == want && v["device"]["path"] == dev => return v,
            Ok(_) => continue,
            Err(e) => panic!("no {want} event for {dev} in time: {e}"),
        }
    }
}

#[test]
fn watch_sees_a_loop_device_come_and_go() {
    if !is_root() {
        eprintln!("skipped: needs root for loop devices");
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut child = Command::new(BIN)
        .args([
            "discover",
            "--watch",
            "--filter",
            "^loop[0-9]+$",
            "--output",
            "json",
        ])
        .args(["--interval-ms", "200", "--settle-ms", "400"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _watcher = Watcher(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let v: Value = serde_json::from_str(&line).expect("a JSON line");
            if tx.send(v).is_err() {
                break;
            }
        }
    });
    // The first lines are what is there already; attach after the watcher runs.
    let first = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("initial inventory");
    assert_eq!(first["event"], "added");

    let mut lab = Lab::new();
    let dev = lab.attach("hotplug.img", 6 * GIB);
    let added = next_event(&rx, Instant::now() + Duration::from_secs(5), "added", &dev);
    assert_eq!(added["device"]["verdict"], "use", "{added}");

    lab.detach(&dev);
    next_event(
        &rx,
        Instant::now() + Duration::from_secs(5),
        "removed",
        &dev,
    );
}
