//! Files as vcfq opens them: only regular files (a FIFO or device planted under an
//! index's or a map's name would otherwise make `open` or `read` wait forever), and one
//! notion of a file's identity, to notice that a file changed or was replaced.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

/// Opens `path` for reading if it is a regular file; never waits for a writer.
pub(crate) fn open_regular(path: &Path) -> io::Result<File> {
    // O_NONBLOCK: opening a FIFO returns at once (reads of a regular file ignore it).
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "it is not a regular file",
        ));
    }
    Ok(file)
}

/// Opens the directory `path`, to open files relative to it ([`open_regular_at`]): files
/// read through one handle all come from the same directory, even if another is renamed
/// into its place meanwhile.
pub(crate) fn open_dir(path: &Path) -> io::Result<File> {
    let dir = File::options()
        .read(true)
        .custom_flags(libc::O_DIRECTORY)
        .open(path)?;
    Ok(dir)
}

/// Opens `name` in the directory `dir` for reading if it is a regular file; never waits
/// for a writer.
pub(crate) fn open_regular_at(dir: &File, name: &str) -> io::Result<File> {
    use std::os::fd::{AsRawFd, FromRawFd};
    let name = std::ffi::CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte in a file name"))?;
    // SAFETY: `dir` is an open directory descriptor for the call's duration and `name` a
    // NUL-terminated string; openat returns a new descriptor or -1.
    let fd = unsafe {
        libc::openat(
            dir.as_raw_fd(),
            name.as_ptr(),
            libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a descriptor openat just returned, owned by nothing else.
    let file = unsafe { File::from_raw_fd(fd) };
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "it is not a regular file",
        ));
    }
    Ok(file)
}

/// Whether the directory at `path` is still the one `dir` has open (same device and
/// inode): `false` once another has been renamed into its place.
pub(crate) fn same_dir(path: &Path, dir: &File) -> bool {
    match (std::fs::metadata(path), dir.metadata()) {
        (Ok(now), Ok(opened)) => now.dev() == opened.dev() && now.ino() == opened.ino(),
        _ => false,
    }
}

/// Whether a process with this id exists (`kill(pid, 0)`: EPERM means it does). Files
/// and directories named after a process that is gone were left by a killed vcfq.
pub(crate) fn process_alive(pid: libc::pid_t) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 sends nothing; kill only checks that the process exists.
    let status = unsafe { libc::kill(pid, 0) };
    status == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Reads the regular file `path` whole.
pub(crate) fn read_regular(path: &Path) -> io::Result<Vec<u8>> {
    let mut file = open_regular(path)?;
    let mut bytes = Vec::with_capacity(file.metadata().map_or(0, |m| m.len() as usize));
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// What says that a file is still the one seen before: its size, modification and
/// change times (to the nanosecond) and inode. Any write to the file, or its
/// replacement by another (a rename into place, a copy over it), changes one of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub(crate) struct FileIdentity {
    pub size: u64,
    pub modified: (i64, u32),
    pub changed: (i64, u32),
    pub inode: u64,
}

impl FileIdentity {
    /// The identity of the file `metadata` describes.
    pub fn of(metadata: &std::fs::Metadata) -> FileIdentity {
        FileIdentity {
            size: metadata.len(),
            modified: (metadata.mtime(), metadata.mtime_nsec() as u32),
            changed: (metadata.ctime(), metadata.ctime_nsec() as u32),
            inode: metadata.ino(),
        }
    }

    /// The identity of the file at `path` (links followed); `None` when there is none.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub fn of_path(path: &Path) -> Option<FileIdentity> {
        std::fs::metadata(path)
            .ok()
            .map(|metadata| FileIdentity::of(&metadata))
    }

    /// Whole seconds of the modification time since the epoch (0 before it), as the
    /// store records them.
    pub fn modified_unix_seconds(&self) -> u64 {
        u64::try_from(self.modified.0).unwrap_or(0)
    }

    /// The 40-byte form the position index records: size, modification time (seconds,
    /// nanoseconds), change time (nanoseconds, seconds) and inode, little-endian.
    pub fn to_bytes(self) -> [u8; 40] {
        let mut bytes = [0u8; 40];
        bytes[0..8].copy_from_slice(&self.size.to_le_bytes());
        bytes[8..16].copy_from_slice(&self.modified.0.to_le_bytes());
        bytes[16..20].copy_from_slice(&self.modified.1.to_le_bytes());
        bytes[20..24].copy_from_slice(&self.changed.1.to_le_bytes());
        bytes[24..32].copy_from_slice(&self.changed.0.to_le_bytes());
        bytes[32..40].copy_from_slice(&self.inode.to_le_bytes());
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let name = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        let error = read_regular(&fifo).unwrap_err();
        assert!(error.to_string().contains("not a regular file"), "{error}");
        assert!(open_regular(dir.path()).is_err());
        std::fs::write(dir.path().join("file"), b"text").unwrap();
        assert_eq!(read_regular(&dir.path().join("file")).unwrap(), b"text");
    }

    #[test]
    fn identity_changes_with_a_write_or_a_replacement() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file");
        std::fs::write(&path, b"one").unwrap();
        let first = FileIdentity::of_path(&path).unwrap();
        assert_eq!(first, FileIdentity::of_path(&path).unwrap());
        assert_eq!(first.size, 3);
        let other = dir.path().join("other");
        std::fs::write(&other, b"one").unwrap();
        std::fs::rename(&other, &path).unwrap();
        assert_ne!(first, FileIdentity::of_path(&path).unwrap());
        assert!(FileIdentity::of_path(&dir.path().join("missing")).is_none());
    }
}
