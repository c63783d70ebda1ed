//! Reading lines with a length limit: a source without line ends (a binary file,
//! `/dev/zero`) must not fill the memory of whatever reads it line by line.

use std::io;

/// What [`read_line_limited`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineRead {
    /// A line (with its `\n`, unless the input ended without one).
    Line,
    /// The end of the input: nothing was read.
    End,
    /// A line longer than the limit: its first `limit` bytes were read, the rest not.
    TooLong,
}

/// Reads one line into `line` (cleared first), as `BufRead::read_until` does, but never
/// more than `limit` bytes: a source without line ends cannot fill the memory.
pub fn read_line_limited(
    input: &mut impl io::BufRead,
    line: &mut Vec<u8>,
    limit: usize,
) -> io::Result<LineRead> {
    line.clear();
    loop {
        let buffer = match input.fill_buf() {
            Ok(buffer) => buffer,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if buffer.is_empty() {
            return Ok(if line.is_empty() {
                LineRead::End
            } else {
                LineRead::Line
            });
        }
        let room = limit - line.len();
        let (take, done) = match memchr::memchr(b'\n', buffer) {
            Some(at) if at < room => (at + 1, true),
            _ => (buffer.len().min(room), false),
        };
        line.extend_from_slice(&buffer[..take]);
        input.consume(take);
        if done {
            return Ok(LineRead::Line);
        }
        if line.len() >= limit {
            return Ok(LineRead::TooLong);
        }
    }
}

/// Skips the rest of a line that [`read_line_limited`] found too long, up to and with its
/// `\n`; returns the bytes skipped.
pub fn skip_line(input: &mut impl io::BufRead) -> io::Result<u64> {
    let mut skipped = 0u64;
    loop {
        let buffer = match input.fill_buf() {
            Ok(buffer) => buffer,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if buffer.is_empty() {
            return Ok(skipped);
        }
        let (take, done) = match memchr::memchr(b'\n', buffer) {
            Some(at) => (at + 1, true),
            None => (buffer.len(), false),
        };
        input.consume(take);
        skipped += take as u64;
        if done {
            return Ok(skipped);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_read_within_the_limit() {
        let mut input = io::BufReader::with_capacity(4, &b"ab\nabcdefghij\nxyz"[..]);
        let mut line = Vec::new();
        assert_eq!(
            read_line_limited(&mut input, &mut line, 5).unwrap(),
            LineRead::Line
        );
        assert_eq!(line, b"ab\n");
        assert_eq!(
            read_line_limited(&mut input, &mut line, 5).unwrap(),
            LineRead::TooLong
        );
        assert_eq!(line, b"abcde");
        assert_eq!(skip_line(&mut input).unwrap(), 6);
        assert_eq!(
            read_line_limited(&mut input, &mut line, 5).unwrap(),
            LineRead::Line
        );
        assert_eq!(line, b"xyz");
        assert_eq!(
            read_line_limited(&mut input, &mut line, 5).unwrap(),
            LineRead::End
        );
        // A line of exactly the limit, with its newline past it.
        let mut input = &b"abcde\n"[..];
        assert_eq!(
            read_line_limited(&mut input, &mut line, 5).unwrap(),
            LineRead::TooLong
        );
        assert_eq!(skip_line(&mut input).unwrap(), 1);
        let mut zeros = io::Read::take(io::repeat(0), 1 << 30);
        let mut zeros = io::BufReader::new(&mut zeros);
        assert_eq!(
            read_line_limited(&mut zeros, &mut line, 1 << 20).unwrap(),
            LineRead::TooLong
        );
        assert_eq!(line.len(), 1 << 20);
    }
}
