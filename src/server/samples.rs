//! The samples `vcfq serve` answers for: the store's records, read again when the store
//! changes, and the opened samples, reopened when their VCF or position index changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::engine::Sample;
use crate::error::{Error, ErrorKind};
use crate::files::FileIdentity;
use crate::store::{open_stored, SampleId, Store, StoredSample};

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

/// The store file's identity when read (`None`: there was none), and its samples by id.
type StoreSnapshot = (Option<FileIdentity>, HashMap<String, StoredSample>);

/// The store and the samples opened from it.
pub(super) struct Samples {
    store: Store,
    opened: Mutex<HashMap<SampleId, Arc<OpenSample>>>,
    /// The store file's identity when read, and its samples.
    pub(super) store_cache: Mutex<Option<StoreSnapshot>>,
    access_log: std::sync::mpsc::Sender<String>,
}

impl Samples {
    pub(super) fn new(store: Store, access_log: std::sync::mpsc::Sender<String>) -> Samples {
        Samples {
            store,
            opened: Mutex::new(HashMap::new()),
            store_cache: Mutex::new(None),
            access_log,
        }
    }

    pub(super) fn store(&self) -> &Store {
        &self.store
    }

    /// The store's record of `id`. The store file is read again only when it changed
    /// (one `stat` per request), so `vcfq sample add` takes effect without a restart.
    pub(super) fn stored(&self, id: &SampleId) -> Result<StoredSample, Error> {
        let current = FileIdentity::of_path(&self.store.dir().join("samples.json"));
        let mut cache = self
            .store_cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if cache.as_ref().map(|(seen, _)| *seen) != Some(current) {
            let samples = self
                .store
                .list()?
                .into_iter()
                .map(|stored| (stored.id.clone(), stored))
                .collect();
            *cache = Some((current, samples));
        }
        let samples = cache.as_ref().map(|(_, samples)| samples);
        samples
            .and_then(|samples| samples.get(id.as_str()).cloned())
            .ok_or_else(|| ErrorKind::SampleNotFound { id: id.to_string() }.into())
    }

    /// The opened sample for `id`, reopened (and re-checked) when its VCF changed.
    pub(super) fn sample(&self, id: &SampleId) -> Result<Arc<OpenSample>, Error> {
        let stored = self.stored(id)?;
        let current = sample_identity(&stored.vcf);
        {
            let samples = self
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
        let sample = open_stored(&stored)?;
        if let Some(note) = sample.position_index_note() {
            let _ = self
                .access_log
                .send(format!("vcfq serve: note: sample {id}: {note}\n"));
        }
        // Readers for parallel rsID loci when the server is not busy.
        sample.open_readers(2)?;
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
        self.opened
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(id.clone(), Arc::clone(&open));
        Ok(open)
    }
}
