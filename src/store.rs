//! The sample store: sample UUID -> VCF, kept in `DIR/samples.json` (human-readable),
//! rewritten atomically (temporary file + rename) under an exclusive lock, so that two
//! processes adding samples at once both land and a crash never leaves a half file.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::engine::{Sample, SampleOptions};
use crate::error::{Error, ErrorKind};
use crate::files::FileIdentity;

/// The store directory used when none is given (`--store`, `VCFQ_STORE`).
pub const DEFAULT_STORE_DIR: &str = "vcfq-store";
const STORE_FILE: &str = "samples.json";
const LOCK_FILE: &str = "store.lock";
const FORMAT: &str = "vcfq-sample-store";

/// A sample id: a UUID, kept in its canonical lowercase hyphenated form.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SampleId(String);

impl SampleId {
    /// Accepts `3fa85f64-5717-4562-b3fc-2c963f66afa6` in any case; anything else is a bad
    /// request, so that an id can never reach a file path unchecked.
    pub fn parse(text: &str) -> Result<SampleId, Error> {
        let bytes = text.as_bytes();
        let groups = [8, 4, 4, 4, 12];
        let mut at = 0;
        let mut valid = bytes.len() == 36;
        for (i, length) in groups.iter().enumerate() {
            if !valid {
                break;
            }
            valid = bytes[at..at + length].iter().all(u8::is_ascii_hexdigit);
            at += length;
            if i < 4 {
                valid = valid && bytes[at] == b'-';
                at += 1;
            }
        }
        if !valid {
            return Err(ErrorKind::InvalidSampleId {
                given: text.chars().take(100).collect(),
            }
            .into());
        }
        Ok(SampleId(text.to_ascii_lowercase()))
    }

    /// The canonical (lowercase, hyphenated) text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SampleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the store records about a sample's VCF when it is added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSample {
    /// The sample id.
    pub id: String,
    /// Absolute path of the VCF.
    pub vcf: PathBuf,
    /// Its index (`.tbi` or `.csi`).
    pub index: PathBuf,
    /// The VCF's size when added.
    pub size: u64,
    /// Its modification time when added.
    pub modified_unix_seconds: u64,
    /// Its index's modification time when added.
    pub index_modified_unix_seconds: u64,
    /// How the VCF names contigs: `chr`, `bare`, `refseq`, `mixed`, or `none`.
    pub contig_naming: String,
    /// The sample column that fills `genotype` (the first when `None`).
    pub vcf_sample: Option<String>,
    /// When it was added.
    pub added_unix_seconds: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoreFile {
    format: String,
    version: u32,
    samples: BTreeMap<String, StoredSample>,
}

/// One requirement that changed since a sample was added, as `vcfq sample check` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// The sample id.
    pub id: String,
    /// `None` when every requirement holds; else what fails.
    pub problem: Option<String>,
    /// What changed since the sample was added (size, time, index).
    pub changes: Vec<String>,
}

/// A store directory.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

fn unix_seconds(time: std::io::Result<SystemTime>) -> u64 {
    time.ok()
        .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |age| age.as_secs())
}

/// The store's lock, held while the file is open (closing it unlocks).
struct Lock(#[allow(dead_code)] File);

impl Store {
    /// The store in `dir` (created by the first `add`).
    pub fn new(dir: impl Into<PathBuf>) -> Store {
        Store { dir: dir.into() }
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn store_error(&self, message: impl Into<String>) -> Error {
        ErrorKind::Store {
            path: self.dir.join(STORE_FILE),
            message: message.into(),
        }
        .into()
    }

    fn lock(&self, exclusive: bool) -> Result<Lock, Error> {
        if exclusive {
            fs::create_dir_all(&self.dir).map_err(|error| {
                self.store_error(format!("cannot create the store directory: {error}"))
            })?;
        }
        let path = self.dir.join(LOCK_FILE);
        let file = File::options()
            .create(exclusive)
            .read(true)
            .write(true)
            .truncate(false)
            .open(&path)
            .map_err(|error| {
                self.store_error(format!("cannot open {}: {error}", path.display()))
            })?;
        let locked = if exclusive {
            file.lock()
        } else {
            file.lock_shared()
        };
        locked.map_err(|error| {
            self.store_error(format!("cannot lock {}: {error}", path.display()))
        })?;
        Ok(Lock(file))
    }

    fn read(&self) -> Result<StoreFile, Error> {
        let path = self.dir.join(STORE_FILE);
        let text = match crate::files::read_regular(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(StoreFile {
                    format: FORMAT.to_string(),
                    version: 1,
                    samples: BTreeMap::new(),
                });
            }
            Err(error) => return Err(self.store_error(format!("cannot read it: {error}"))),
        };
        let store: StoreFile = serde_json::from_slice(&text).map_err(|error| {
            self.store_error(format!(
                "it is not a valid sample store ({error}); fix or remove the file"
            ))
        })?;
        if store.format != FORMAT || store.version != 1 {
            return Err(self.store_error(format!(
                "it is a {:?} version {} file, not a vcfq sample store version 1",
                store.format, store.version
            )));
        }
        Ok(store)
    }

    fn write(&self, store: &StoreFile) -> Result<(), Error> {
        let path = self.dir.join(STORE_FILE);
        self.sweep_stale_temporaries();
        let temporary = self
            .dir
            .join(format!(".{STORE_FILE}.{}", std::process::id()));
        let mut text = serde_json::to_vec_pretty(store)
            .map_err(|error| self.store_error(error.to_string()))?;
        text.push(b'\n');
        let result = (|| -> std::io::Result<()> {
            let mut file = File::create(&temporary)?;
            file.write_all(&text)?;
            file.sync_all()?;
            fs::rename(&temporary, &path)
        })();
        if let Err(error) = result {
            let _ = fs::remove_file(&temporary);
            return Err(self.store_error(format!("cannot write it: {error}")));
        }
        Ok(())
    }

    /// Removes the temporary files (`.samples.json.PID`) of writers that were killed
    /// before they could rename or remove them. Called under the store's lock.
    fn sweep_stale_temporaries(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        let prefix = format!(".{STORE_FILE}.");
        for entry in entries.flatten() {
            let name = entry.file_name();
            let pid = name
                .to_str()
                .and_then(|name| name.strip_prefix(&prefix))
                .and_then(|pid| pid.parse::<libc::pid_t>().ok());
            if pid.is_some_and(|pid| !crate::files::process_alive(pid)) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    /// Checks the VCF (`docs/parity.md`, "What a sample's VCF must be") and records it
    /// under `id`.
    pub fn add(
        &self,
        id: &SampleId,
        vcf: &Path,
        vcf_sample: Option<String>,
    ) -> Result<StoredSample, Error> {
        let sample = Sample::open(
            vcf,
            &SampleOptions {
                vcf_sample: vcf_sample.clone(),
            },
        )?;
        sample.check_tabix_index()?;
        let vcf = fs::canonicalize(vcf)
            .map_err(|error| Error::io(format!("resolving {}", vcf.display()), error))?;
        let stored = describe(id.as_str(), &vcf, &sample, vcf_sample)?;
        let _lock = self.lock(true)?;
        let mut store = self.read()?;
        if let Some(existing) = store.samples.get(id.as_str()) {
            return Err(ErrorKind::SampleExists {
                id: id.to_string(),
                vcf: existing.vcf.clone(),
            }
            .into());
        }
        store.samples.insert(id.to_string(), stored.clone());
        self.write(&store)?;
        Ok(stored)
    }

    /// Removes `id`; its files are not touched.
    pub fn remove(&self, id: &SampleId) -> Result<StoredSample, Error> {
        let _lock = self.lock(true)?;
        let mut store = self.read()?;
        let removed = store
            .samples
            .remove(id.as_str())
            .ok_or_else(|| Error::from(ErrorKind::SampleNotFound { id: id.to_string() }))?;
        self.write(&store)?;
        Ok(removed)
    }

    /// Every stored sample, by id.
    pub fn list(&self) -> Result<Vec<StoredSample>, Error> {
        if !self.dir.join(STORE_FILE).exists() {
            return Ok(Vec::new());
        }
        let _lock = self.lock(false)?;
        Ok(self.read()?.samples.into_values().collect())
    }

    /// The stored sample `id`; not found when the store has none.
    pub fn get(&self, id: &SampleId) -> Result<StoredSample, Error> {
        if !self.dir.join(STORE_FILE).exists() {
            return Err(ErrorKind::SampleNotFound { id: id.to_string() }.into());
        }
        let _lock = self.lock(false)?;
        self.read()?
            .samples
            .remove(id.as_str())
            .ok_or_else(|| ErrorKind::SampleNotFound { id: id.to_string() }.into())
    }

    /// Opens a stored sample for querying, checking its requirements again.
    pub fn open_sample(&self, id: &SampleId) -> Result<(StoredSample, Sample), Error> {
        let stored = self.get(id)?;
        let sample = open_stored(&stored)?;
        Ok((stored, sample))
    }

    /// Re-runs the requirements for `id` (or every sample) and says what changed.
    pub fn check(&self, id: Option<&SampleId>) -> Result<Vec<CheckResult>, Error> {
        let samples = match id {
            Some(id) => vec![self.get(id)?],
            None => self.list()?,
        };
        Ok(samples
            .into_iter()
            .map(|stored| {
                let mut changes = Vec::new();
                let problem = match open_stored(&stored) {
                    Ok(sample) => {
                        match describe(&stored.id, &stored.vcf, &sample, stored.vcf_sample.clone())
                        {
                            Ok(now) => {
                                if now.size != stored.size {
                                    changes.push(format!(
                                        "the VCF's size changed from {} to {} bytes",
                                        stored.size, now.size
                                    ));
                                }
                                if now.modified_unix_seconds != stored.modified_unix_seconds {
                                    changes.push("the VCF was modified".to_string());
                                }
                                if now.index != stored.index {
                                    changes
                                        .push(format!("the index is now {}", now.index.display()));
                                } else if now.index_modified_unix_seconds
                                    != stored.index_modified_unix_seconds
                                {
                                    changes.push("the index was rebuilt".to_string());
                                }
                                changes.extend(sample.position_index_note().map(String::from));
                                sample
                                    .check_position_index()
                                    .and_then(|()| sample.check_tabix_index())
                                    .err()
                                    .map(|e| e.to_string())
                            }
                            Err(error) => Some(error.to_string()),
                        }
                    }
                    Err(error) => Some(error.to_string()),
                };
                CheckResult {
                    id: stored.id,
                    problem,
                    changes,
                }
            })
            .collect())
    }
}

/// Opens a stored sample's VCF; a file that has gone away is "not available" (the hosted
/// API's answer for an archived sample), a 400.
pub fn open_stored(stored: &StoredSample) -> Result<Sample, Error> {
    if !stored.vcf.exists() {
        return Err(ErrorKind::SampleUnavailable {
            id: stored.id.clone(),
            vcf: stored.vcf.clone(),
        }
        .into());
    }
    Sample::open(
        &stored.vcf,
        &SampleOptions {
            vcf_sample: stored.vcf_sample.clone(),
        },
    )
}

fn describe(
    id: &str,
    vcf: &Path,
    sample: &Sample,
    vcf_sample: Option<String>,
) -> Result<StoredSample, Error> {
    let identity = |path: &Path| {
        fs::metadata(path)
            .map(|metadata| FileIdentity::of(&metadata))
            .map_err(|error| Error::io(format!("reading {}", path.display()), error))
    };
    let vcf_identity = identity(vcf)?;
    let index_identity = identity(sample.index_path())?;
    Ok(StoredSample {
        id: id.to_string(),
        vcf: vcf.to_path_buf(),
        index: fs::canonicalize(sample.index_path())
            .unwrap_or_else(|_| sample.index_path().to_path_buf()),
        size: vcf_identity.size,
        modified_unix_seconds: vcf_identity.modified_unix_seconds(),
        index_modified_unix_seconds: index_identity.modified_unix_seconds(),
        contig_naming: sample.contig_naming().to_string(),
        vcf_sample,
        added_unix_seconds: unix_seconds(Ok(SystemTime::now())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_ids() {
        let id = SampleId::parse("3FA85F64-5717-4562-B3FC-2C963F66AFA6").unwrap();
        assert_eq!(id.as_str(), "3fa85f64-5717-4562-b3fc-2c963f66afa6");
        for bad in [
            "",
            "3fa85f64",
            "../../etc/passwd",
            "3fa85f64-5717-4562-b3fc-2c963f66afa",
            "3fa85f64-5717-4562-b3fc_2c963f66afa6",
            "3fa85f64-5717-4562-b3fc-2c963f66afg6",
            "3fa85f645717-4562-b3fc-2c963f66afa6-",
        ] {
            let error = SampleId::parse(bad).unwrap_err();
            assert_eq!(error.class(), crate::ErrorClass::BadRequest, "{bad:?}");
        }
    }
}
