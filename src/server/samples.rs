//! The samples `vcfq serve` answers for: the store's records, read again when the store
//! changes, and the opened samples, reopened when their VCF or position index changes.

use std::sync::{Arc, Mutex};

use crate::engine::Sample;
use crate::error::Error;
use crate::files::FileIdentity;
use crate::store::{open_stored, SampleId, Store, StoreReader, StoredSample};

/// A sample opened for serving.
pub(super) struct OpenSample {
    pub(super) sample: Arc<Sample>,
    stored: StoredSample,
    /// The VCF's and its position index's identities when it was opened.
    identity: SampleIdentity,
}

/// A sample's VCF and its position index (if any): a change to either reopens it, so a
/// position index written or rebuilt while serving is used from the next request.
type SampleIdentity = (FileIdentity, Option<FileIdentity>);

fn sample_identity(vcf: &std::path::Path) -> Option<SampleIdentity> {
    Some((
        FileIdentity::of_path(vcf)?,
        FileIdentity::of_path(&crate::position_index::index_path(vcf)),
    ))
}

/// The store and the samples opened from it: the most recently used ones stay open, at
/// most `capacity` (each holds file descriptors and buffers), so any number of samples can
/// be served within the process's descriptor limit.
pub(super) struct Samples {
    store: Store,
    opened: Mutex<lru::LruCache<SampleId, Arc<OpenSample>>>,
    /// The store's database connection, kept for the lookups.
    pub(super) reader: Mutex<StoreReader>,
    access_log: super::AccessLog,
}

impl Samples {
    pub(super) fn new(store: Store, capacity: usize, access_log: super::AccessLog) -> Samples {
        let capacity = std::num::NonZeroUsize::new(capacity).unwrap_or(std::num::NonZeroUsize::MIN);
        Samples {
            store: store.clone(),
            opened: Mutex::new(lru::LruCache::new(capacity)),
            reader: Mutex::new(store.reader()),
            access_log,
        }
    }

    pub(super) fn store(&self) -> &Store {
        &self.store
    }

    /// How many samples stay open at most.
    pub(super) fn capacity(&self) -> usize {
        self.opened
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .cap()
            .get()
    }

    /// The store's record of `id`: one indexed read of the database per request, so
    /// `vcfq sample add` and `remove` take effect without a restart.
    pub(super) fn stored(&self, id: &SampleId) -> Result<StoredSample, Error> {
        self.reader
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(id)
    }

    /// The opened sample for `id`, reopened (and re-checked) when its VCF changed.
    pub(super) fn sample(&self, id: &SampleId) -> Result<Arc<OpenSample>, Error> {
        let stored = self.stored(id)?;
        let current = sample_identity(&stored.vcf);
        {
            let mut samples = self
                .opened
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some(open) = samples.get(id) {
                if current.is_some()
                    && current == Some(open.identity)
                    && open.stored.vcf == stored.vcf
                {
                    return Ok(Arc::clone(open));
                }
            }
        }
        // One reader to start with (opening checked it); rsID queries open more as they
        // need them, so an idle open sample holds one reader's descriptors and buffers.
        let sample = open_stored(&stored).map_err(out_of_descriptors)?;
        if let Some(note) = sample.position_index_note() {
            self.access_log
                .write(format!("vcfq serve: note: sample {id}: {note}\n"));
        }
        let Some(identity) = current else {
            // The VCF went away while it was being opened: answer, but do not keep it.
            return Ok(Arc::new(OpenSample {
                sample: Arc::new(sample),
                identity: (FileIdentity::default(), None),
                stored,
            }));
        };
        let open = Arc::new(OpenSample {
            sample: Arc::new(sample),
            identity,
            stored,
        });
        // The least recently used sample leaves when the cache is full; requests still
        // using it keep it open until they finish.
        self.opened
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .put(id.clone(), Arc::clone(&open));
        Ok(open)
    }
}

/// `error`, or, when the process has run out of file descriptors (which is why opening
/// failed), an error that says so and what to do.
fn out_of_descriptors(error: Error) -> Error {
    let open = std::fs::read_dir("/proc/self/fd").map_or(0, |entries| entries.count() as u64);
    let limit = super::descriptor_limit();
    if limit == 0 || open + 16 < limit {
        return error;
    }
    Error::io(
        "opening the sample",
        std::io::Error::other(format!(
            "vcfq serve has run out of file descriptors ({open} of {limit} open); raise the limit (`ulimit -n`) or lower --max-open-samples ({error})"
        )),
    )
}
