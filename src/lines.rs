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
    let taken = take_line(input, limit, |bytes| line.extend_from_slice(bytes))?;
    Ok(match taken {
        Taken::Whole if line.is_empty() => LineRead::End,
        Taken::Whole => LineRead::Line,
        Taken::Limit => LineRead::TooLong,
    })
}

/// Skips the rest of a line that [`read_line_limited`] found too long, up to and with its
/// `\n`; returns the bytes skipped.
pub fn skip_line(input: &mut impl io::BufRead) -> io::Result<u64> {
    let mut skipped = 0u64;
    take_line(input, usize::MAX, |bytes| skipped += bytes.len() as u64)?;
    Ok(skipped)
}

/// How [`take_line`] stopped.
enum Taken {
    /// At the line's `\n` (taken with it), or at the end of the input.
    Whole,
    /// After `limit` bytes, before the line's end.
    Limit,
}

/// Takes bytes of one line from `input`, up to and with its `\n` but never more than
/// `limit`, handing each piece to `keep`.
fn take_line(
    input: &mut impl io::BufRead,
    limit: usize,
    mut keep: impl FnMut(&[u8]),
) -> io::Result<Taken> {
    let mut taken = 0;
    loop {
        let buffer = match input.fill_buf() {
            Ok(buffer) => buffer,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if buffer.is_empty() {
            return Ok(Taken::Whole);
        }
        let room = limit - taken;
        let (take, done) = match memchr::memchr(b'\n', buffer) {
            Some(at) if at < room => (at + 1, true),
            _ => (buffer.len().min(room), false),
        };
        keep(&buffer[..take]);
        input.consume(take);
        taken += take;
        if done {
            return Ok(Taken::Whole);
        }
        if taken >= limit {
            return Ok(Taken::Limit);
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
