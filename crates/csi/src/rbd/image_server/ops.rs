//! What the image server does for each request, apart from FUSE: one image
//! seen as one file of the image's size. Errors are errno values, passed to
//! the kernel as they are (ENOSPC from a full pool reaches the loop device
//! and whatever sits on it).

/// Block I/O on one image; [`rookery_ceph::BlockImage`] in the server, an
/// in-memory image in tests.
pub trait ImageIo: Send + Sync + 'static {
    fn size(&self) -> Result<u64, i32>;
    fn read_into(&self, offset: u64, buf: &mut [u8]) -> Result<usize, i32>;
    fn write(&self, offset: u64, data: &[u8]) -> Result<usize, i32>;
    fn write_zeroes(&self, offset: u64, len: usize) -> Result<(), i32>;
    fn flush(&self) -> Result<(), i32>;
}

impl ImageIo for rookery_ceph::BlockImage {
    fn size(&self) -> Result<u64, i32> {
        rookery_ceph::BlockImage::size(self)
    }
    fn read_into(&self, offset: u64, buf: &mut [u8]) -> Result<usize, i32> {
        rookery_ceph::BlockImage::read_into(self, offset, buf)
    }
    fn write(&self, offset: u64, data: &[u8]) -> Result<usize, i32> {
        rookery_ceph::BlockImage::write(self, offset, data)
    }
    fn write_zeroes(&self, offset: u64, len: usize) -> Result<(), i32> {
        rookery_ceph::BlockImage::write_zeroes(self, offset, len)
    }
    fn flush(&self) -> Result<(), i32> {
        rookery_ceph::BlockImage::flush(self)
    }
}

/// Reads up to `len` bytes at `offset`, fewer at the end of the image, none
/// past it (a file's EOF).
pub fn read(image: &impl ImageIo, offset: u64, len: u32) -> Result<Vec<u8>, i32> {
    let size = image.size()?;
    let len = u64::from(len).min(size.saturating_sub(offset));
    let mut buf = vec![0u8; usize::try_from(len).map_err(|_| libc::EINVAL)?];
    if buf.is_empty() {
        return Ok(buf);
    }
    let n = image.read_into(offset, &mut buf)?;
    buf.truncate(n);
    Ok(buf)
}

/// Writes `data` at `offset`. The file cannot grow (the image is resized
/// through the CSI controller): a write past its end fails with EFBIG. A
/// short write from librbd is an error, never a partial success.
pub fn write(image: &impl ImageIo, offset: u64, data: &[u8]) -> Result<u32, i32> {
    let end = offset.checked_add(data.len() as u64).ok_or(libc::EFBIG)?;
    if end > image.size()? {
        return Err(libc::EFBIG);
    }
    let n = image.write(offset, data)?;
    if n != data.len() {
        return Err(libc::EIO);
    }
    u32::try_from(n).map_err(|_| libc::EIO)
}

/// What an fallocate(2) mode asks of the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallocate {
    /// Mode 0 inside the file: the image is allocated on write, so nothing.
    Nothing,
    /// PUNCH_HOLE or ZERO_RANGE (with KEEP_SIZE): the loop device's discard
    /// and write-zeroes. Both must read back as zeroes afterwards.
    Zero,
}

/// Decodes an fallocate mode; modes that would grow the file or that an
/// image cannot do are EOPNOTSUPP.
pub fn fallocate_mode(mode: i32) -> Result<Fallocate, i32> {
    const KEEP: i32 = libc::FALLOC_FL_KEEP_SIZE;
    match mode {
        0 | KEEP => Ok(Fallocate::Nothing),
        m if m & !(KEEP | libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_ZERO_RANGE) != 0 => {
            Err(libc::EOPNOTSUPP)
        }
        m if m & (libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_ZERO_RANGE) != 0 => {
            Ok(Fallocate::Zero)
        }
        _ => Err(libc::EOPNOTSUPP),
    }
}

/// fallocate(2) on the image file: zeroes the range (clipped to the image)
/// for a hole punch or zero range.
pub fn fallocate(image: &impl ImageIo, offset: u64, len: u64, mode: i32) -> Result<(), i32> {
    let size = image.size()?;
    let end = offset.checked_add(len).ok_or(libc::EFBIG)?;
    match fallocate_mode(mode)? {
        Fallocate::Nothing if end > size => Err(libc::EFBIG),
        Fallocate::Nothing => Ok(()),
        Fallocate::Zero => {
            let len = end.min(size).saturating_sub(offset);
            if len == 0 {
                return Ok(());
            }
            image.write_zeroes(offset, usize::try_from(len).map_err(|_| libc::EINVAL)?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// An in-memory image that can be made full.
    struct Fake {
        data: Mutex<Vec<u8>>,
        full: bool,
    }

    impl Fake {
        fn new(size: usize) -> Self {
            Self {
                data: Mutex::new(vec![1u8; size]),
                full: false,
            }
        }
    }

    impl ImageIo for Fake {
        fn size(&self) -> Result<u64, i32> {
            Ok(self.data.lock().unwrap().len() as u64)
        }
        fn read_into(&self, offset: u64, buf: &mut [u8]) -> Result<usize, i32> {
            let d = self.data.lock().unwrap();
            let o = offset as usize;
            buf.copy_from_slice(&d[o..o + buf.len()]);
            Ok(buf.len())
        }
        fn write(&self, offset: u64, data: &[u8]) -> Result<usize, i32> {
            if self.full {
                return Err(libc::ENOSPC);
            }
            let o = offset as usize;
            self.data.lock().unwrap()[o..o + data.len()].copy_from_slice(data);
            Ok(data.len())
        }
        fn write_zeroes(&self, offset: u64, len: usize) -> Result<(), i32> {
            let o = offset as usize;
            self.data.lock().unwrap()[o..o + len].fill(0);
            Ok(())
        }
        fn flush(&self) -> Result<(), i32> {
            Ok(())
        }
    }

    #[test]
    fn reads_stop_at_the_end_of_the_image() {
        let img = Fake::new(100);
        assert_eq!(read(&img, 0, 10).unwrap().len(), 10);
        assert_eq!(read(&img, 95, 10).unwrap().len(), 5);
        assert!(read(&img, 100, 10).unwrap().is_empty());
        assert!(read(&img, 500, 10).unwrap().is_empty());
    }

    #[test]
    fn writes_cannot_grow_the_file_and_pass_enospc_on() {
        let mut img = Fake::new(100);
        assert_eq!(write(&img, 90, &[2; 10]), Ok(10));
        assert_eq!(read(&img, 90, 10).unwrap(), vec![2; 10]);
        assert_eq!(write(&img, 95, &[2; 10]), Err(libc::EFBIG));
        assert_eq!(write(&img, u64::MAX, &[2; 10]), Err(libc::EFBIG));
        img.full = true;
        assert_eq!(write(&img, 0, &[2; 10]), Err(libc::ENOSPC));
        // Reads and zeroing still work on a full image.
        assert_eq!(read(&img, 0, 1).unwrap(), vec![1]);
        fallocate(
            &img,
            0,
            4,
            libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
        )
        .unwrap();
        assert_eq!(read(&img, 0, 5).unwrap(), vec![0, 0, 0, 0, 1]);
    }

    #[test]
    fn fallocate_modes() {
        let punch = libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE;
        let zero = libc::FALLOC_FL_ZERO_RANGE | libc::FALLOC_FL_KEEP_SIZE;
        assert_eq!(fallocate_mode(0), Ok(Fallocate::Nothing));
        assert_eq!(fallocate_mode(punch), Ok(Fallocate::Zero));
        assert_eq!(fallocate_mode(zero), Ok(Fallocate::Zero));
        assert_eq!(
            fallocate_mode(libc::FALLOC_FL_COLLAPSE_RANGE),
            Err(libc::EOPNOTSUPP)
        );
        let img = Fake::new(100);
        assert_eq!(fallocate(&img, 0, 200, 0), Err(libc::EFBIG));
        fallocate(&img, 90, 50, zero).unwrap();
        assert_eq!(read(&img, 85, 15).unwrap()[4..6], [1, 0]);
    }
}
