//! The FUSE side of the image server: a root directory holding one file, the
//! image. Requests run on several threads at once (fuser's worker threads,
//! each blocking in one librbd call), so a loop device's queue of direct I/O
//! reaches librbd in parallel.

use std::ffi::{OsStr, OsString};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, InitFlags,
    KernelConfig, LockOwner, OpenFlags, ReplyAttr, ReplyData, ReplyDirectory, ReplyEmpty,
    ReplyEntry, ReplyOpen, ReplyWrite, Request, WriteFlags,
};

use super::ops::{self, ImageIo};

const ROOT: INodeNo = INodeNo(1);
const FILE: INodeNo = INodeNo(2);
/// How long the kernel may cache attributes: the size follows a resize within
/// this (the node's expand step retries for a few seconds).
const TTL: Duration = Duration::from_secs(1);
/// Largest write the kernel sends in one request (it may cap it lower).
const MAX_WRITE: u32 = 4 << 20;
/// Requests the kernel keeps in flight in the background (async direct I/O
/// from the loop device): above the benchmark's queue depth of 16.
const MAX_BACKGROUND: u16 = 64;

/// One image as one file named `name`.
pub struct ImageFs<I> {
    image: I,
    name: OsString,
    started: SystemTime,
    /// Whether the last write failed with ENOSPC: logs the change, not every write.
    full: AtomicBool,
}

impl<I: ImageIo> ImageFs<I> {
    pub fn new(image: I, name: impl Into<OsString>) -> Self {
        Self {
            image,
            name: name.into(),
            started: SystemTime::now(),
            full: AtomicBool::new(false),
        }
    }

    fn attr(&self, ino: INodeNo) -> Result<FileAttr, i32> {
        let (kind, size, perm, nlink) = if ino == ROOT {
            (FileType::Directory, 0, 0o755, 2)
        } else if ino == FILE {
            (FileType::RegularFile, self.image.size()?, 0o600, 1)
        } else {
            return Err(libc::ENOENT);
        };
        Ok(FileAttr {
            ino,
            size,
            blocks: size.div_ceil(512),
            atime: self.started,
            mtime: self.started,
            ctime: self.started,
            crtime: self.started,
            kind,
            perm,
            nlink,
            uid: 0,
            gid: 0,
            rdev: 0,
            blksize: 4096,
            flags: 0,
        })
    }

    /// Logs when writes start or stop failing for lack of room.
    fn note_write(&self, result: &Result<u32, i32>) {
        let full = result == &Err(libc::ENOSPC);
        if self.full.swap(full, Ordering::Relaxed) != full {
            if full {
                tracing::warn!("writes fail with ENOSPC: the pool is full");
            } else {
                tracing::info!("writes succeed again");
            }
        }
        if let Err(e) = result {
            if *e != libc::ENOSPC {
                tracing::warn!(errno = e, "write failed");
            }
        }
    }
}

fn errno(e: i32) -> Errno {
    Errno::from_i32(e)
}

impl<I: ImageIo> Filesystem for ImageFs<I> {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> std::io::Result<()> {
        // Without async direct I/O the kernel sends one request of a loop
        // device's queue at a time.
        if config.add_capabilities(InitFlags::FUSE_ASYNC_DIO).is_err() {
            tracing::warn!("the kernel has no FUSE async direct I/O: requests go one at a time");
        }
        let _ = config.set_max_write(MAX_WRITE);
        let _ = config.set_max_background(MAX_BACKGROUND);
        Ok(())
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        if parent != ROOT || name != self.name {
            return reply.error(Errno::ENOENT);
        }
        match self.attr(FILE) {
            Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.attr(ino) {
            Ok(attr) => reply.attr(&TTL, &attr),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        _mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<fuser::TimeOrNow>,
        _mtime: Option<fuser::TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        // Modes and times are fixed; the size changes only through a resize
        // of the image (ControllerExpandVolume).
        match self.attr(ino) {
            Ok(attr) if size.is_some_and(|s| s != attr.size) => reply.error(Errno::EPERM),
            Ok(attr) => reply.attr(&TTL, &attr),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        if ino == FILE {
            // Direct I/O with parallel writes: the kernel takes the inode lock
            // shared, not exclusive, for each write, so a loop device's queue
            // reaches the server at its full depth; and no page cache here
            // (the loop device and its filesystem have their own).
            let flags = FopenFlags::FOPEN_DIRECT_IO | FopenFlags::FOPEN_PARALLEL_DIRECT_WRITES;
            reply.opened(FileHandle(0), flags);
        } else {
            reply.error(Errno::EISDIR);
        }
    }

    fn read(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        match ops::read(&self.image, offset, size) {
            Ok(data) => reply.data(&data),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn write(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let result = ops::write(&self.image, offset, data);
        self.note_write(&result);
        match result {
            Ok(n) => reply.written(n),
            Err(e) => reply.error(errno(e)),
        }
    }

    /// On close: report a failed flush to close(2), as a local file would.
    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        match self.image.flush() {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(errno(e)),
        }
    }

    /// fsync(2), and a loop device's flush: returns once librbd has every
    /// acknowledged write stable in the cluster.
    fn fsync(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        match self.image.flush() {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn fallocate(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        length: u64,
        mode: i32,
        reply: ReplyEmpty,
    ) {
        match ops::fallocate(&self.image, offset, length, mode) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        if ino != ROOT {
            return reply.error(Errno::ENOTDIR);
        }
        let entries = [
            (ROOT, FileType::Directory, OsStr::new(".")),
            (ROOT, FileType::Directory, OsStr::new("..")),
            (FILE, FileType::RegularFile, self.name.as_os_str()),
        ];
        for (i, (ino, kind, name)) in entries.iter().enumerate().skip(offset as usize) {
            if reply.add(*ino, (i + 1) as u64, *kind, name) {
                break;
            }
        }
        reply.ok();
    }
}
