//! The sample store: sample UUID -> VCF, in a SQLite database `DIR/samples.sqlite`
//! (readable with the `sqlite3` tool): adds are transactions, several processes may
//! add at once (WAL, a busy timeout), and a lookup is one indexed read. A store from
//! before (`DIR/samples.json`) is migrated once, on first use, without loss: the
//! database is built beside it and renamed into place, then the JSON file is renamed
//! `samples.json.migrated`.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rayon::prelude::*;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::engine::{Sample, SampleOptions};
use crate::error::{Error, ErrorKind};
use crate::files::FileIdentity;

/// The store directory used when none is given (`--store`, `VCFQ_STORE`).
pub const DEFAULT_STORE_DIR: &str = "vcfq-store";
/// The database.
pub const DATABASE_FILE: &str = "samples.sqlite";
/// The file of stores from before the database, migrated on first use.
const LEGACY_FILE: &str = "samples.json";
const LOCK_FILE: &str = "store.lock";
const FORMAT: &str = "vcfq-sample-store";
/// The database schema's version (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 1;
/// How long a writer waits for another to finish its transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS samples (
    id TEXT PRIMARY KEY NOT NULL,
    vcf BLOB NOT NULL,
    index_path BLOB NOT NULL,
    size INTEGER NOT NULL,
    modified_unix_seconds INTEGER NOT NULL,
    index_modified_unix_seconds INTEGER NOT NULL,
    contig_naming TEXT NOT NULL,
    vcf_sample TEXT,
    added_unix_seconds INTEGER NOT NULL,
    checked INTEGER NOT NULL DEFAULT 1
) WITHOUT ROWID;
";

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
    /// Whether its requirements were checked when it was added (`false`: added with
    /// `--defer-checks`; they are checked when it is first opened).
    #[serde(default = "checked_by_default")]
    pub checked: bool,
}

fn checked_by_default() -> bool {
    true
}

/// One sample to add: its id, its VCF, the sample column that fills `genotype`.
#[derive(Debug, Clone)]
pub struct NewSample {
    /// The sample id.
    pub id: SampleId,
    /// The VCF.
    pub vcf: PathBuf,
    /// The sample column (the first when `None`).
    pub vcf_sample: Option<String>,
}

/// A store file of before the database (`samples.json`).
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

/// The store's lock file, held while a legacy store is migrated (closing it unlocks).
struct Lock(#[allow(dead_code)] File);

fn path_bytes(path: &Path) -> &[u8] {
    path.as_os_str().as_encoded_bytes()
}

fn path_of(bytes: Vec<u8>) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    PathBuf::from(std::ffi::OsString::from_vec(bytes))
}

fn stored_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredSample> {
    let number = |index: usize| -> rusqlite::Result<u64> {
        row.get::<_, i64>(index).map(|value| value.max(0) as u64)
    };
    Ok(StoredSample {
        id: row.get(0)?,
        vcf: path_of(row.get(1)?),
        index: path_of(row.get(2)?),
        size: number(3)?,
        modified_unix_seconds: number(4)?,
        index_modified_unix_seconds: number(5)?,
        contig_naming: row.get(6)?,
        vcf_sample: row.get(7)?,
        added_unix_seconds: number(8)?,
        checked: row.get::<_, i64>(9)? != 0,
    })
}

const COLUMNS: &str = "id, vcf, index_path, size, modified_unix_seconds, \
    index_modified_unix_seconds, contig_naming, vcf_sample, added_unix_seconds, checked";

fn insert(
    transaction: &rusqlite::Transaction<'_>,
    stored: &StoredSample,
) -> rusqlite::Result<usize> {
    let as_i64 = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
    transaction
        .prepare_cached(&format!(
            "INSERT INTO samples ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        ))?
        .execute(params![
            stored.id,
            path_bytes(&stored.vcf),
            path_bytes(&stored.index),
            as_i64(stored.size),
            as_i64(stored.modified_unix_seconds),
            as_i64(stored.index_modified_unix_seconds),
            stored.contig_naming,
            stored.vcf_sample,
            as_i64(stored.added_unix_seconds),
            i64::from(stored.checked),
        ])
}

/// An open store for repeated lookups (`vcfq serve`): one connection, reused.
pub struct StoreReader {
    connection: Option<Connection>,
    store: Store,
}

impl StoreReader {
    /// The stored sample `id`; not found when the store has none.
    pub fn get(&mut self, id: &SampleId) -> Result<StoredSample, Error> {
        if self.connection.is_none() {
            self.connection = self.store.connect(false)?;
        }
        let Some(connection) = &self.connection else {
            return Err(ErrorKind::SampleNotFound { id: id.to_string() }.into());
        };
        self.store.lookup(connection, id)
    }
}

impl Store {
    /// The store in `dir` (created by the first `add`).
    pub fn new(dir: impl Into<PathBuf>) -> Store {
        Store { dir: dir.into() }
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A reader that keeps its connection for many lookups.
    pub fn reader(&self) -> StoreReader {
        StoreReader {
            connection: None,
            store: self.clone(),
        }
    }

    fn store_error(&self, message: impl Into<String>) -> Error {
        ErrorKind::Store {
            path: self.dir.join(DATABASE_FILE),
            message: message.into(),
        }
        .into()
    }

    fn database_error(&self, error: rusqlite::Error) -> Error {
        match &error {
            rusqlite::Error::SqliteFailure(failure, _)
                if matches!(
                    failure.code,
                    rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt
                ) =>
            {
                self.store_error(format!(
                    "it is not a valid sample store ({error}); restore it from a backup, or remove it and add the samples again"
                ))
            }
            _ => self.store_error(error.to_string()),
        }
    }

    fn lock(&self) -> Result<Lock, Error> {
        let path = self.dir.join(LOCK_FILE);
        let file = File::options()
            .create(true)
            .read(true)
            .write(true)
            .truncate(false)
            .open(&path)
            .map_err(|error| {
                self.store_error(format!("cannot open {}: {error}", path.display()))
            })?;
        file.lock().map_err(|error| {
            self.store_error(format!("cannot lock {}: {error}", path.display()))
        })?;
        Ok(Lock(file))
    }

    /// Opens the database: `None` when there is no store yet and `create` is not set.
    /// A `samples.json` store is migrated first.
    fn connect(&self, create: bool) -> Result<Option<Connection>, Error> {
        let database = self.dir.join(DATABASE_FILE);
        if self.dir.join(LEGACY_FILE).exists() {
            if create {
                fs::create_dir_all(&self.dir).map_err(|error| {
                    self.store_error(format!("cannot create the store directory: {error}"))
                })?;
            }
            self.migrate()?;
        }
        match fs::metadata(&database) {
            Ok(metadata) if !metadata.is_file() => {
                return Err(self.store_error("it is not a regular file"));
            }
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound && !create => {
                return Ok(None);
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                fs::create_dir_all(&self.dir).map_err(|error| {
                    self.store_error(format!("cannot create the store directory: {error}"))
                })?;
            }
            Err(error) => return Err(self.store_error(format!("cannot read it: {error}"))),
        }
        let connection = Connection::open_with_flags(
            &database,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|error| self.database_error(error))?;
        connection
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(|error| self.database_error(error))?;
        self.prepare(&connection)?;
        Ok(Some(connection))
    }

    /// Creates the schema (once) and checks the database is a store of this version.
    fn prepare(&self, connection: &Connection) -> Result<(), Error> {
        let version: i64 = connection
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(|error| self.database_error(error))?;
        match version {
            SCHEMA_VERSION => Ok(()),
            0 => {
                // WAL lets readers go on while a writer adds; it persists in the file.
                connection
                    .pragma_update(None, "journal_mode", "WAL")
                    .map_err(|error| self.database_error(error))?;
                connection
                    .execute_batch(&format!(
                        "BEGIN IMMEDIATE; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
                    ))
                    .map_err(|error| self.database_error(error))
            }
            other => Err(self.store_error(format!(
                "it is a sample store of schema version {other}, newer than this vcfq's ({SCHEMA_VERSION}); use a newer vcfq"
            ))),
        }
    }

    /// Moves a `samples.json` store into the database, once: built beside it and renamed
    /// into place under the store's lock, then the JSON file is renamed
    /// `samples.json.migrated` (kept, never read again).
    fn migrate(&self) -> Result<(), Error> {
        let _lock = self.lock()?;
        let legacy = self.dir.join(LEGACY_FILE);
        let database = self.dir.join(DATABASE_FILE);
        if !legacy.exists() {
            return Ok(()); // another process migrated it meanwhile
        }
        let samples = self.read_legacy()?.samples;
        self.sweep_killed_migrations();
        if !database.exists() {
            let building = self
                .dir
                .join(format!(".{DATABASE_FILE}.migrating.{}", std::process::id()));
            let _ = fs::remove_file(&building);
            let result = (|| -> Result<(), Error> {
                let mut connection =
                    Connection::open(&building).map_err(|error| self.database_error(error))?;
                self.prepare(&connection)?;
                let transaction = connection
                    .transaction()
                    .map_err(|error| self.database_error(error))?;
                for stored in samples.values() {
                    insert(&transaction, stored).map_err(|error| self.database_error(error))?;
                }
                transaction
                    .commit()
                    .map_err(|error| self.database_error(error))?;
                connection
                    .pragma_update(None, "wal_checkpoint", "TRUNCATE")
                    .map_err(|error| self.database_error(error))?;
                drop(connection);
                for suffix in ["-wal", "-shm"] {
                    let _ = fs::remove_file(format!("{}{suffix}", building.display()));
                }
                fs::rename(&building, &database).map_err(|error| {
                    self.store_error(format!("cannot migrate samples.json: {error}"))
                })
            })();
            if let Err(error) = result {
                let _ = fs::remove_file(&building);
                return Err(error);
            }
        }
        fs::rename(&legacy, self.dir.join(format!("{LEGACY_FILE}.migrated"))).map_err(|error| {
            self.store_error(format!(
                "cannot rename samples.json after migrating it: {error}"
            ))
        })
    }

    /// Removes the temporary databases of migrations whose process was killed.
    fn sweep_killed_migrations(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        let prefix = format!(".{DATABASE_FILE}.migrating.");
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

    fn read_legacy(&self) -> Result<StoreFile, Error> {
        let path = self.dir.join(LEGACY_FILE);
        let legacy_error = |message: String| -> Error {
            ErrorKind::Store {
                path: path.clone(),
                message,
            }
            .into()
        };
        let text = crate::files::read_regular(&path)
            .map_err(|error| legacy_error(format!("cannot read it: {error}")))?;
        let store: StoreFile = serde_json::from_slice(&text).map_err(|error| {
            legacy_error(format!(
                "it is not a valid sample store ({error}); fix or remove the file"
            ))
        })?;
        if store.format != FORMAT || store.version != 1 {
            return Err(legacy_error(format!(
                "it is a {:?} version {} file, not a vcfq sample store version 1",
                store.format, store.version
            )));
        }
        Ok(store)
    }

    fn lookup(&self, connection: &Connection, id: &SampleId) -> Result<StoredSample, Error> {
        connection
            .prepare_cached(&format!("SELECT {COLUMNS} FROM samples WHERE id = ?1"))
            .and_then(|mut statement| {
                statement
                    .query_row([id.as_str()], stored_from_row)
                    .optional()
            })
            .map_err(|error| self.database_error(error))?
            .ok_or_else(|| ErrorKind::SampleNotFound { id: id.to_string() }.into())
    }

    /// Checks the VCF (`docs/parity.md`, "What a sample's VCF must be") and records it
    /// under `id`.
    pub fn add(
        &self,
        id: &SampleId,
        vcf: &Path,
        vcf_sample: Option<String>,
    ) -> Result<StoredSample, Error> {
        let stored = checked_sample(id, vcf, vcf_sample)?;
        let mut added = self.add_all(vec![stored])?;
        Ok(added.remove(0))
    }

    /// Records many samples in one transaction: all or none. Each is checked first, in
    /// parallel (the current rayon pool), unless `defer_checks`: then only the files'
    /// sizes and times are read, and the requirements are checked when the sample is
    /// first opened. Fails on the first sample that does not meet them, or whose id the
    /// store (or the list) already has, naming it.
    pub fn add_many(
        &self,
        samples: Vec<NewSample>,
        defer_checks: bool,
    ) -> Result<Vec<StoredSample>, Error> {
        let mut seen = std::collections::HashSet::new();
        for sample in &samples {
            if !seen.insert(sample.id.clone()) {
                return Err(ErrorKind::SampleExists {
                    id: sample.id.to_string(),
                    vcf: sample.vcf.clone(),
                }
                .into());
            }
        }
        let stored: Vec<StoredSample> = samples
            .into_par_iter()
            .map(|sample| {
                if defer_checks {
                    unchecked_sample(&sample.id, &sample.vcf, sample.vcf_sample)
                } else {
                    checked_sample(&sample.id, &sample.vcf, sample.vcf_sample)
                }
            })
            .collect::<Result<_, Error>>()?;
        self.add_all(stored)
    }

    fn add_all(&self, stored: Vec<StoredSample>) -> Result<Vec<StoredSample>, Error> {
        let Some(mut connection) = self.connect(true)? else {
            return Err(self.store_error("cannot create it"));
        };
        let transaction = connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|error| self.database_error(error))?;
        for sample in &stored {
            if let Err(error) = insert(&transaction, sample) {
                if let rusqlite::Error::SqliteFailure(failure, _) = &error {
                    if failure.code == rusqlite::ErrorCode::ConstraintViolation {
                        let existing = self.lookup(&transaction, &SampleId(sample.id.clone()))?;
                        return Err(ErrorKind::SampleExists {
                            id: sample.id.clone(),
                            vcf: existing.vcf,
                        }
                        .into());
                    }
                }
                return Err(self.database_error(error));
            }
        }
        transaction
            .commit()
            .map_err(|error| self.database_error(error))?;
        Ok(stored)
    }

    /// Removes `id`; its files are not touched.
    pub fn remove(&self, id: &SampleId) -> Result<StoredSample, Error> {
        let Some(mut connection) = self.connect(false)? else {
            return Err(ErrorKind::SampleNotFound { id: id.to_string() }.into());
        };
        let transaction = connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|error| self.database_error(error))?;
        let removed = self.lookup(&transaction, id)?;
        transaction
            .execute("DELETE FROM samples WHERE id = ?1", [id.as_str()])
            .map_err(|error| self.database_error(error))?;
        transaction
            .commit()
            .map_err(|error| self.database_error(error))?;
        Ok(removed)
    }

    /// Every stored sample, by id.
    pub fn list(&self) -> Result<Vec<StoredSample>, Error> {
        let Some(connection) = self.connect(false)? else {
            return Ok(Vec::new());
        };
        let mut statement = connection
            .prepare(&format!("SELECT {COLUMNS} FROM samples ORDER BY id"))
            .map_err(|error| self.database_error(error))?;
        let rows = statement
            .query_map([], stored_from_row)
            .map_err(|error| self.database_error(error))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|error| self.database_error(error))
    }

    /// The stored sample `id`; not found when the store has none.
    pub fn get(&self, id: &SampleId) -> Result<StoredSample, Error> {
        self.reader().get(id)
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

/// Checks `vcf` against the sample requirements and describes it for the store.
fn checked_sample(
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
    describe(id.as_str(), &vcf, &sample, vcf_sample)
}

/// Describes `vcf` for the store without opening it (`--defer-checks`): its size and
/// time, and the index it would use.
fn unchecked_sample(
    id: &SampleId,
    vcf: &Path,
    vcf_sample: Option<String>,
) -> Result<StoredSample, Error> {
    let vcf = fs::canonicalize(vcf).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => Error::from(ErrorKind::VcfNotFound {
            path: vcf.to_path_buf(),
        }),
        _ => Error::io(format!("resolving {}", vcf.display()), error),
    })?;
    let metadata = fs::metadata(&vcf)
        .map_err(|error| Error::io(format!("reading {}", vcf.display()), error))?;
    let identity = FileIdentity::of(&metadata);
    let index = ["tbi", "csi"]
        .iter()
        .map(|suffix| PathBuf::from(format!("{}.{suffix}", vcf.display())))
        .find(|path| path.exists())
        .unwrap_or_else(|| PathBuf::from(format!("{}.tbi", vcf.display())));
    let index_identity = fs::metadata(&index)
        .ok()
        .map(|metadata| FileIdentity::of(&metadata));
    Ok(StoredSample {
        id: id.to_string(),
        vcf,
        index,
        size: identity.size,
        modified_unix_seconds: identity.modified_unix_seconds(),
        index_modified_unix_seconds: index_identity
            .map_or(0, |identity| identity.modified_unix_seconds()),
        contig_naming: "unchecked".to_string(),
        vcf_sample,
        added_unix_seconds: unix_seconds(Ok(SystemTime::now())),
        checked: false,
    })
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
        checked: true,
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
