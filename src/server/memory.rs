//! What a slow client may hold: response bodies wait in memory until their client reads
//! them, so all of them together get a budget (`--max-response-memory`), and a
//! connection whose client reads nothing for `--write-timeout` is closed, which frees its
//! body.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The budget's unit: permits count kibibytes (a semaphore holds at most `u32::MAX`).
const UNIT: usize = 1024;

/// Bytes of response bodies not yet written to their clients, bounded.
pub(super) struct ResponseMemory {
    permits: Arc<Semaphore>,
    /// The budget, in units.
    units: u32,
}

impl ResponseMemory {
    pub(super) fn new(bytes: usize) -> ResponseMemory {
        let units = u32::try_from((bytes / UNIT).max(1)).unwrap_or(u32::MAX);
        ResponseMemory {
            permits: Arc::new(Semaphore::new(units as usize)),
            units,
        }
    }

    /// `body` as a response body that holds its share of the budget until it has been
    /// written out or its connection is gone; waits while the budget is spent (a body
    /// larger than the whole budget waits for all of it).
    pub(super) async fn hold(&self, body: Vec<u8>) -> HeldBody {
        let units = u32::try_from(body.len().div_ceil(UNIT))
            .unwrap_or(u32::MAX)
            .clamp(1, self.units);
        let permit = Arc::clone(&self.permits)
            .acquire_many_owned(units)
            .await
            .ok();
        HeldBody {
            bytes: Some(Bytes::from(body)),
            _permit: permit,
        }
    }

    /// Units free now (for tests).
    #[cfg(test)]
    pub(super) fn available(&self) -> usize {
        self.permits.available_permits()
    }
}

/// A whole response body and its share of the response-memory budget, given back when
/// the body is dropped: once hyper has written it, or with its connection.
pub(super) struct HeldBody {
    bytes: Option<Bytes>,
    _permit: Option<OwnedSemaphorePermit>,
}

impl http_body::Body for HeldBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _context: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        Poll::Ready(
            self.bytes
                .take()
                .map(|bytes| Ok(http_body::Frame::data(bytes))),
        )
    }

    fn is_end_stream(&self) -> bool {
        self.bytes.is_none()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.bytes.as_ref().map_or(0, |bytes| bytes.len() as u64))
    }
}

/// A connection whose writes fail once the client has taken nothing for `timeout`, so a
/// client that never reads cannot keep a response (and its memory) forever.
pub(super) struct WriteTimeout<I> {
    io: I,
    timeout: Duration,
    /// When the write now waiting gives up; reset whenever a write makes progress.
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<I> WriteTimeout<I> {
    pub(super) fn new(io: I, timeout: Duration) -> WriteTimeout<I> {
        WriteTimeout {
            io,
            timeout,
            deadline: None,
        }
    }

    /// The write is waiting: `Ready(Err)` once it has waited `timeout`.
    fn waiting<T>(&mut self, context: &mut Context<'_>) -> Poll<io::Result<T>> {
        let timeout = self.timeout;
        let deadline = self
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match deadline.as_mut().poll(context) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client read nothing within the write timeout",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn progressed<T>(
        &mut self,
        result: Poll<io::Result<T>>,
        context: &mut Context<'_>,
    ) -> Poll<io::Result<T>> {
        match result {
            Poll::Ready(result) => {
                self.deadline = None;
                Poll::Ready(result)
            }
            Poll::Pending => self.waiting(context),
        }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for WriteTimeout<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(context, buffer)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for WriteTimeout<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let result = Pin::new(&mut this.io).poll_write(context, bytes);
        this.progressed(result, context)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffers: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let result = Pin::new(&mut this.io).poll_write_vectored(context, buffers);
        this.progressed(result, context)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let result = Pin::new(&mut this.io).poll_flush(context);
        this.progressed(result, context)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let result = Pin::new(&mut this.io).poll_shutdown(context);
        this.progressed(result, context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[test]
    fn bodies_hold_their_share_until_dropped() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let memory = ResponseMemory::new(10 * UNIT);
            let first = memory.hold(vec![0; 6 * UNIT]).await;
            assert_eq!(memory.available(), 4);
            // A second body that does not fit waits until the first is dropped.
            let waiting =
                tokio::time::timeout(Duration::from_millis(50), memory.hold(vec![0; 6 * UNIT]));
            assert!(waiting.await.is_err());
            drop(first);
            let second = memory.hold(vec![0; 6 * UNIT]).await;
            assert_eq!(memory.available(), 4);
            // Larger than the whole budget: it takes all of it.
            drop(second);
            let huge = memory.hold(vec![0; 40 * UNIT]).await;
            assert_eq!(memory.available(), 0);
            assert_eq!(
                http_body::Body::size_hint(&huge).exact(),
                Some(40 * UNIT as u64)
            );
        });
    }

    #[test]
    fn a_write_nobody_reads_fails_after_the_timeout() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let (client, server) = tokio::io::duplex(1024);
            let mut server = WriteTimeout::new(server, Duration::from_millis(100));
            let started = std::time::Instant::now();
            let error = server.write_all(&[0; 64 * 1024]).await.unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::TimedOut);
            assert!(started.elapsed() >= Duration::from_millis(100));
            drop(client);
        });
    }
}
