//! Output that must wait for the end of the capture (the text calls come
//! after the summary; the HTML report's calls after its summary and
//! plots), kept in bounded memory: bytes stay in memory up to a threshold,
//! then go to an unnamed temporary file (`tempfile::tempfile_in`:
//! `O_TMPFILE` on Linux, so nothing is left behind even if the process is
//! killed) and are copied back once, at the end.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use anyhow::Context;

/// Bytes kept in memory before they go to a temporary file.
pub const IN_MEMORY: usize = 256 * 1024;

/// Bytes written once, in order, and read back once.
#[derive(Debug)]
pub struct Spill {
    /// What is kept, for error messages ("the calls of the HTML report").
    what: &'static str,
    dir: PathBuf,
    limit: usize,
    mem: Vec<u8>,
    file: Option<BufWriter<File>>,
}

impl Spill {
    /// A spill that goes to a file in the system's temporary directory
    /// (`TMPDIR`) past [`IN_MEMORY`] bytes.
    pub fn new(what: &'static str) -> Self {
        Spill::in_dir(what, std::env::temp_dir(), IN_MEMORY)
    }

    /// A spill that goes to a file in `dir` past `limit` bytes.
    pub fn in_dir(what: &'static str, dir: PathBuf, limit: usize) -> Self {
        Spill {
            what,
            dir,
            limit,
            mem: Vec::new(),
            file: None,
        }
    }

    /// Appends bytes.
    pub fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        if let Some(f) = &mut self.file {
            return f.write_all(bytes).with_context(|| self.writing());
        }
        self.mem.extend_from_slice(bytes);
        if self.mem.len() > self.limit {
            let f = tempfile::tempfile_in(&self.dir).with_context(|| {
                format!(
                    "creating a temporary file in {} for {} (set TMPDIR to another directory)",
                    self.dir.display(),
                    self.what
                )
            })?;
            let mut f = BufWriter::with_capacity(1 << 16, f);
            f.write_all(&self.mem).with_context(|| self.writing())?;
            self.mem = Vec::new();
            self.file = Some(f);
        }
        Ok(())
    }

    fn writing(&self) -> String {
        format!(
            "writing {} to a temporary file in {}",
            self.what,
            self.dir.display()
        )
    }

    /// Whether the bytes went to a file.
    #[cfg(test)]
    fn spilled(&self) -> bool {
        self.file.is_some()
    }

    /// Copies everything written, in order, to `out`. Errors of `out` are
    /// returned as they are (a closed pipe stays recognisable); errors of the
    /// temporary file say so.
    pub fn copy_to(mut self, out: &mut dyn Write) -> anyhow::Result<()> {
        let Some(f) = self.file.take() else {
            out.write_all(&self.mem)?;
            return Ok(());
        };
        let reading = || {
            format!(
                "reading back {} from a temporary file in {}",
                self.what,
                self.dir.display()
            )
        };
        let mut f = f
            .into_inner()
            .map_err(io::IntoInnerError::into_error)
            .with_context(|| self.writing())?;
        f.seek(SeekFrom::Start(0)).with_context(reading)?;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = match f.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e).with_context(reading),
            };
            out.write_all(&buf[..n])?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_output_stays_in_memory_and_large_goes_to_a_file_in_order() {
        let mut small = Spill::in_dir("test", std::env::temp_dir(), 1000);
        small.write(b"abc").unwrap();
        small.write(b"def").unwrap();
        assert!(!small.spilled());
        let mut out = Vec::new();
        small.copy_to(&mut out).unwrap();
        assert_eq!(out, b"abcdef");

        let mut big = Spill::in_dir("test", std::env::temp_dir(), 10);
        let mut want = Vec::new();
        for i in 0..100_000u32 {
            let line = format!("line {i}\n");
            big.write(line.as_bytes()).unwrap();
            want.extend_from_slice(line.as_bytes());
        }
        assert!(big.spilled());
        let mut out = Vec::new();
        big.copy_to(&mut out).unwrap();
        assert_eq!(out, want);
    }

    #[test]
    fn a_temporary_directory_that_cannot_be_used_is_a_clear_error() {
        let dir = std::env::temp_dir().join("sipkit-no-such-directory/inside");
        let mut s = Spill::in_dir("the calls", dir, 4);
        s.write(b"abc").unwrap();
        let e = s.write(b"defgh").unwrap_err();
        let msg = format!("{e:#}");
        assert!(msg.contains("creating a temporary file in"), "{msg}");
        assert!(msg.contains("sipkit-no-such-directory"), "{msg}");
        assert!(msg.contains("for the calls"), "{msg}");
    }
}
