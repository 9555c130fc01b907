//! Checksummed writes into a mounted volume, and reading them back.
//!
//! A [`Writer`] thread writes blocks into one file: each block carries a
//! header (magic, sequence number, offset, a checksum of its payload) and a
//! payload derived from its sequence number, so a block can be checked
//! without remembering what was written. After each block it fsyncs; only
//! then is the block acknowledged. Blocks go round a ring of [`SLOTS`]
//! slots, so the file stays small and a later block replaces an earlier one
//! in its slot: the acknowledged content of a slot is the latest
//! acknowledged block that maps to it.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub const BLOCK: usize = 64 << 10;
pub const SLOTS: u64 = 256;
const HEADER: usize = 32;
const MAGIC: &[u8; 8] = b"rookfalt";

/// FNV-1a, 64 bits: enough to tell a torn or stale payload from the right one.
fn fnv64(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The block with sequence number `seq`, as written.
pub fn block(seq: u64) -> Vec<u8> {
    let mut b = vec![0u8; BLOCK];
    let mut x = seq.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    for chunk in b[HEADER..].chunks_mut(8) {
        // xorshift64: cheap, and different for every block.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    let sum = fnv64(&b[HEADER..]);
    b[..8].copy_from_slice(MAGIC);
    b[8..16].copy_from_slice(&seq.to_le_bytes());
    b[16..24].copy_from_slice(&offset(seq).to_le_bytes());
    b[24..32].copy_from_slice(&sum.to_le_bytes());
    b
}

fn offset(seq: u64) -> u64 {
    (seq % SLOTS) * BLOCK as u64
}

/// What a writer has done, shared with the test.
#[derive(Debug, Default)]
struct Progress {
    /// Blocks 0..acked are acknowledged (fsync returned).
    acked: AtomicU64,
    /// When the write of the last acknowledged block started (ms since `base`).
    last_acked_started_ms: AtomicU64,
    pause: AtomicBool,
    /// The writer is paused and between blocks.
    idle: AtomicBool,
    stop: AtomicBool,
    errors: Mutex<Vec<String>>,
}

/// A thread writing checksummed blocks to `<dir>/fault-data`.
pub struct Writer {
    pub label: String,
    pub path: PathBuf,
    base: Instant,
    p: Arc<Progress>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    pub fn start(label: &str, dir: &Path) -> Self {
        let path = dir.join("fault-data");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("{label}: open {}: {e}", path.display()));
        let p = Arc::new(Progress::default());
        let base = Instant::now();
        let thread = {
            let p = p.clone();
            std::thread::spawn(move || write_loop(&file, &p, base))
        };
        Self {
            label: label.to_owned(),
            path,
            base,
            p,
            thread: Some(thread),
        }
    }

    pub fn acked(&self) -> u64 {
        self.p.acked.load(Ordering::SeqCst)
    }

    /// True if a block whose write started at or after `t` is acknowledged.
    pub fn acked_a_write_started_after(&self, t: Instant) -> bool {
        let since = t.saturating_duration_since(self.base).as_millis() as u64;
        self.acked() > 0 && self.p.last_acked_started_ms.load(Ordering::SeqCst) >= since
    }

    /// Write errors seen so far (the block is written again after each).
    pub fn errors(&self) -> Vec<String> {
        self.p.errors.lock().unwrap().clone()
    }

    /// Stops the writer between blocks; waits up to `limit` for the block in
    /// flight to end.
    pub fn pause(&self, limit: Duration) {
        self.p.pause.store(true, Ordering::SeqCst);
        let start = Instant::now();
        while !self.p.idle.load(Ordering::SeqCst) {
            assert!(
                start.elapsed() < limit,
                "{}: a write is stuck for {limit:?} (acked {}, errors {:?})",
                self.label,
                self.acked(),
                self.errors()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn resume(&self) {
        self.p.pause.store(false, Ordering::SeqCst);
    }

    /// Stops the thread; waits for it up to `limit` (a thread stuck in I/O
    /// on a dead mount is left behind rather than hanging the test).
    pub fn stop(&mut self, limit: Duration) {
        self.p.stop.store(true, Ordering::SeqCst);
        let start = Instant::now();
        while self.thread.as_ref().is_some_and(|t| !t.is_finished()) {
            if start.elapsed() > limit {
                eprintln!("{}: writer still in I/O after {limit:?}", self.label);
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(10));
    }
}

fn write_loop(file: &File, p: &Progress, base: Instant) {
    let mut seq = 0u64;
    while !p.stop.load(Ordering::SeqCst) {
        if p.pause.load(Ordering::SeqCst) {
            p.idle.store(true, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(10));
            continue;
        }
        p.idle.store(false, Ordering::SeqCst);
        let started = base.elapsed().as_millis() as u64;
        let done = file
            .write_all_at(&block(seq), offset(seq))
            .and_then(|()| file.sync_all());
        match done {
            Ok(()) => {
                p.last_acked_started_ms.store(started, Ordering::SeqCst);
                seq += 1;
                p.acked.store(seq, Ordering::SeqCst);
            }
            Err(e) => {
                p.errors.lock().unwrap().push(format!("block {seq}: {e}"));
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }
    p.idle.store(true, Ordering::SeqCst);
}

/// What reading the acknowledged blocks back found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub bytes_verified: u64,
    pub bytes_lost: u64,
}

impl std::ops::AddAssign for Verified {
    fn add_assign(&mut self, o: Self) {
        self.bytes_verified += o.bytes_verified;
        self.bytes_lost += o.bytes_lost;
    }
}

/// Drops the page cache, so reads go to the mapper (and so to Ceph).
pub fn drop_caches() {
    std::fs::write("/proc/sys/vm/drop_caches", "3").expect("drop caches (needs root)");
}

/// Reads back the acknowledged content of every slot of the file at `path`
/// after `acked` blocks; prints what is wrong with a lost block.
pub fn verify(label: &str, path: &Path, acked: u64) -> Verified {
    let file = File::open(path).unwrap_or_else(|e| panic!("{label}: open {}: {e}", path.display()));
    let mut v = Verified::default();
    let mut buf = vec![0u8; BLOCK];
    for slot in 0..SLOTS.min(acked) {
        // The latest acknowledged block of this slot.
        let seq = slot + SLOTS * ((acked - 1 - slot) / SLOTS);
        let read = file.read_exact_at(&mut buf, offset(seq));
        match read {
            Ok(()) if buf == block(seq) => v.bytes_verified += BLOCK as u64,
            Ok(()) => {
                v.bytes_lost += BLOCK as u64;
                eprintln!("{label}: block {seq} lost: {}", describe(&buf, seq));
            }
            Err(e) => {
                v.bytes_lost += BLOCK as u64;
                eprintln!("{label}: block {seq} unreadable: {e}");
            }
        }
    }
    v
}

/// Why a block read back is not block `seq`.
fn describe(buf: &[u8], seq: u64) -> String {
    let word = |r: std::ops::Range<usize>| u64::from_le_bytes(buf[r].try_into().unwrap());
    if &buf[..8] != MAGIC {
        return "no header (never written, or zeroes)".into();
    }
    let (found, sum) = (word(8..16), word(24..32));
    if found != seq {
        return format!("holds block {found} instead");
    }
    if fnv64(&buf[HEADER..]) != sum {
        return "payload does not match its checksum (torn write)".into();
    }
    "header right, payload differs".into()
}
