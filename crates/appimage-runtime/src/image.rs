//! Reading an AppImage type 2 file: the ELF header of the runtime at its start (which says where
//! the runtime ends and so where the squashfs image begins), the `AI\x02` magic, and the squashfs
//! superblock behind it.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use backhand::FilesystemReader;

use crate::error::Error;

/// The AppImage magic: `A`, `I`, then the type (2), at file offset 8 (in the ELF header's padding).
pub const MAGIC: [u8; 3] = *b"AI\x02";
const MAGIC_OFFSET: usize = 8;
/// Size of a 64-bit ELF header.
const ELF64_HEADER: usize = 64;
/// Size of a squashfs 4.0 superblock.
const SUPERBLOCK: usize = 96;

/// Where the runtime ends: the end of its section header table, which the linker (and `strip`)
/// put last in the file. Reads a 64-bit little-endian ELF header; anything else is refused.
pub fn elf_end(header: &[u8]) -> Result<u64, &'static str> {
    if header.len() < ELF64_HEADER {
        return Err("shorter than an ELF header");
    }
    if header[..4] != *b"\x7fELF" {
        return Err("not an ELF file");
    }
    if header[4] != 2 {
        return Err("not a 64-bit ELF file");
    }
    if header[5] != 1 {
        return Err("not a little-endian ELF file");
    }
    let u64_at = |at: usize| u64::from_le_bytes(header[at..at + 8].try_into().expect("8 bytes"));
    let u16_at = |at: usize| u64::from(u16::from_le_bytes([header[at], header[at + 1]]));
    // e_shoff at 0x28, e_shentsize at 0x3a, e_shnum at 0x3c.
    let (shoff, shentsize, shnum) = (u64_at(0x28), u16_at(0x3a), u16_at(0x3c));
    shoff
        .checked_add(shentsize * shnum)
        .ok_or("section header table offset overflows")
}

/// An opened AppImage: its path, the squashfs offset and the squashfs superblock's `bytes_used`.
pub struct AppImage {
    pub path: PathBuf,
    pub offset: u64,
    pub squashfs_len: u64,
    file: File,
}

fn read_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Read {
        path: path.to_owned(),
        source,
    }
}

/// The squashfs offset of any file starting with a 64-bit ELF header (the runtime alone, too).
pub fn offset_of(path: &Path) -> Result<u64, Error> {
    let mut header = Vec::with_capacity(ELF64_HEADER);
    File::open(path)
        .map_err(read_err(path))?
        .take(ELF64_HEADER as u64)
        .read_to_end(&mut header)
        .map_err(read_err(path))?;
    elf_end(&header).map_err(|why| Error::NotAnAppImage {
        path: path.to_owned(),
        why: why.to_string(),
    })
}

impl AppImage {
    /// Opens `path` and checks that it is an AppImage of type 2 with a whole squashfs image after
    /// the runtime. Does not read the file system yet (see [`AppImage::filesystem`]).
    pub fn open(path: &Path) -> Result<AppImage, Error> {
        let mut file = File::open(path).map_err(read_err(path))?;
        let len = file.metadata().map_err(read_err(path))?.len();
        let mut header = Vec::with_capacity(ELF64_HEADER);
        (&mut file)
            .take(ELF64_HEADER as u64)
            .read_to_end(&mut header)
            .map_err(read_err(path))?;
        let not_appimage = |why: String| Error::NotAnAppImage {
            path: path.to_owned(),
            why,
        };
        let offset = elf_end(&header).map_err(|why| not_appimage(why.to_string()))?;
        if header[MAGIC_OFFSET..MAGIC_OFFSET + 3] != MAGIC {
            return Err(not_appimage(format!(
                "no AppImage type 2 magic (\"AI\\x02\") at byte {MAGIC_OFFSET}"
            )));
        }
        let no_squashfs = |why: String| Error::NoSquashfs {
            path: path.to_owned(),
            offset,
            why,
        };
        if offset.saturating_add(SUPERBLOCK as u64) > len {
            return Err(no_squashfs(format!(
                "the file ends at byte {len}, before a squashfs superblock could"
            )));
        }
        let mut superblock = [0u8; SUPERBLOCK];
        file.seek(SeekFrom::Start(offset))
            .and_then(|_| file.read_exact(&mut superblock))
            .map_err(read_err(path))?;
        if superblock[..4] != *b"hsqs" {
            return Err(no_squashfs(
                "no squashfs magic (\"hsqs\") there; the file is damaged or not an AppImage"
                    .to_string(),
            ));
        }
        let squashfs_len = u64::from_le_bytes(superblock[40..48].try_into().expect("8 bytes"));
        if offset.saturating_add(squashfs_len) > len {
            return Err(no_squashfs(format!(
                "the image is truncated: its squashfs says {squashfs_len} bytes, the file has {} after the offset",
                len - offset
            )));
        }
        Ok(AppImage {
            path: path.to_owned(),
            offset,
            squashfs_len,
            file,
        })
    }

    /// A key for this image's content: xxh64 over the runtime's version and every byte of the
    /// squashfs image. Reading it all costs a few milliseconds for a ~10 MiB image and never
    /// mistakes two builds for one (a superblock alone can be equal for reproducible builds that
    /// differ in a byte).
    pub fn content_key(&self) -> Result<String, Error> {
        let mut hasher = xxhash_rust::xxh64::Xxh64::new(0);
        hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
        hasher.update(&[0]);
        let mut file = &self.file;
        file.seek(SeekFrom::Start(self.offset))
            .map_err(read_err(&self.path))?;
        let mut reader = file.take(self.squashfs_len);
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = reader.read(&mut buf).map_err(read_err(&self.path))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok(format!("{:016x}", hasher.digest()))
    }

    /// Reads the squashfs directory tree (file data is read later, on demand).
    pub fn filesystem(&self) -> Result<FilesystemReader<'static>, Error> {
        let file = self.file.try_clone().map_err(read_err(&self.path))?;
        FilesystemReader::from_reader_with_offset(BufReader::new(file), self.offset).map_err(
            |source| Error::NoSquashfs {
                path: self.path.clone(),
                offset: self.offset,
                why: format!("the squashfs image does not read: {source}"),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(shoff: u64, shentsize: u16, shnum: u16) -> Vec<u8> {
        let mut h = vec![0u8; 64];
        h[..4].copy_from_slice(b"\x7fELF");
        h[4] = 2;
        h[5] = 1;
        h[0x28..0x30].copy_from_slice(&shoff.to_le_bytes());
        h[0x3a..0x3c].copy_from_slice(&shentsize.to_le_bytes());
        h[0x3c..0x3e].copy_from_slice(&shnum.to_le_bytes());
        h
    }

    #[test]
    fn the_runtime_ends_after_its_section_headers() {
        assert_eq!(elf_end(&header(1000, 64, 30)), Ok(1000 + 64 * 30));
    }

    #[test]
    fn other_files_are_refused() {
        assert_eq!(elf_end(b"#!/bin/sh\n"), Err("shorter than an ELF header"));
        let mut h = header(1, 1, 1);
        h[0] = b'M';
        assert_eq!(elf_end(&h), Err("not an ELF file"));
        let mut h = header(1, 1, 1);
        h[4] = 1;
        assert_eq!(elf_end(&h), Err("not a 64-bit ELF file"));
        let mut h = header(1, 1, 1);
        h[5] = 2;
        assert_eq!(elf_end(&h), Err("not a little-endian ELF file"));
        assert!(elf_end(&header(u64::MAX, 64, 2)).is_err());
    }

    #[test]
    fn this_binary_is_measured_to_its_last_byte() {
        let exe = std::env::current_exe().unwrap();
        let len = std::fs::metadata(&exe).unwrap().len();
        assert_eq!(offset_of(&exe).unwrap(), len);
    }
}
