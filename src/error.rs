//! Errors, and the one place that maps each to its class (bad request, not found,
//! internal), its CLI exit code and its HTTP status.

use std::fmt;
use std::path::PathBuf;

use crate::request::RequestError;

/// What kind of failure an [`Error`] is, as the hosted API classifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The request or the sample's file does not meet a requirement (HTTP 400, exit 2).
    BadRequest,
    /// The sample or its VCF does not exist (HTTP 404, exit 3).
    NotFound,
    /// A file could not be read or is corrupt (HTTP 500, exit 1).
    Internal,
}

impl ErrorClass {
    /// The `vcfq` command's exit code for this class.
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorClass::BadRequest => 2,
            ErrorClass::NotFound => 3,
            ErrorClass::Internal => 1,
        }
    }

    /// The HTTP status `vcfq serve` answers with.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorClass::BadRequest => 400,
            ErrorClass::NotFound => 404,
            ErrorClass::Internal => 500,
        }
    }
}

/// A vcfq error. Boxed so that `Result<T, Error>` stays one pointer wide on hot paths.
#[derive(Debug)]
pub struct Error(Box<ErrorKind>);

/// The failures vcfq reports. Each message says what was wrong and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    /// The request is invalid (`docs/parity.md`, "Requests").
    #[error("{0}")]
    Request(#[from] RequestError),
    /// An rsID request reached a sample with no dbSNP map to resolve it.
    #[error(
        "rsid queries need a dbSNP map: build one with `vcfq dbsnp build DBSNP_VCF --out DIR`, \
         then give it with --dbsnp DIR or the VCFQ_DBSNP environment variable"
    )]
    NoDbsnpMap,
    /// The VCF path does not exist.
    #[error("VCF not found: {}", path.display())]
    VcfNotFound {
        /// The path given.
        path: PathBuf,
    },
    /// The VCF does not meet a sample requirement (`docs/parity.md`, "What a sample's VCF
    /// must be").
    #[error("{}: {requirement}", path.display())]
    SampleRequirement {
        /// The VCF.
        path: PathBuf,
        /// Which requirement failed, and how to meet it.
        requirement: String,
    },
    /// `--vcf-sample` names a column the VCF does not have.
    #[error("{}: {message}", path.display())]
    UnknownVcfSample {
        /// The VCF.
        path: PathBuf,
        /// The name asked for, and the VCF's sample names.
        message: String,
    },
    /// The file is unreadable, truncated or malformed.
    #[error("{}: {message}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where.
        message: String,
    },
    /// The dbSNP map cannot be opened or read: missing, foreign, truncated or corrupt.
    #[error("dbSNP map {}: {message}", path.display())]
    DbsnpMap {
        /// The map directory.
        path: PathBuf,
        /// What is wrong, and what to do.
        message: String,
    },
    /// The dbSNP source (or merge history) given to `vcfq dbsnp build` is unusable.
    #[error("{}: {message}", path.display())]
    DbsnpInput {
        /// The source or merge-history file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The work was interrupted (Ctrl-C); temporary files were removed.
    #[error("interrupted; no map was written and temporary files were removed")]
    Interrupted,
    /// A sample id that is not a UUID.
    #[error("invalid sample id {given:?}: sample ids are UUIDs such as 3fa85f64-5717-4562-b3fc-2c963f66afa6")]
    InvalidSampleId {
        /// The id given (its first 100 characters).
        given: String,
    },
    /// No sample with this id in the store.
    #[error("sample {id} not found: add it with `vcfq sample add {id} VCF`")]
    SampleNotFound {
        /// The sample id.
        id: String,
    },
    /// The stored sample's VCF has gone away (moved, archived).
    #[error("the sample's VCF is not available: sample {id} was added from {}, which no longer exists; restore the file or add the sample again", vcf.display())]
    SampleUnavailable {
        /// The sample id.
        id: String,
        /// The VCF the sample was added from.
        vcf: PathBuf,
    },
    /// `vcfq sample add` for an id the store already has.
    #[error("sample {id} is already in the store (from {}); remove it first with `vcfq sample remove {id}`", vcf.display())]
    SampleExists {
        /// The sample id.
        id: String,
        /// The VCF the stored sample was added from.
        vcf: PathBuf,
    },
    /// The store file cannot be read or written.
    #[error("sample store {}: {message}", path.display())]
    Store {
        /// The store directory.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A cohort's input (its manifest or sample list) is wrong, or a cohort run stopped
    /// (`--fail-fast`, an interrupt); `class` is what the cause was.
    #[error("{message}")]
    Cohort {
        /// What went wrong.
        message: String,
        /// The class of the cause.
        class: ErrorClass,
    },
    /// An I/O error outside any one file's content.
    #[error("{context}: {source}")]
    Io {
        /// What vcfq was doing.
        context: String,
        /// The operating system's error.
        source: std::io::Error,
    },
}

impl Error {
    /// The class that decides the exit code and HTTP status.
    pub fn class(&self) -> ErrorClass {
        match &*self.0 {
            ErrorKind::Request(_)
            | ErrorKind::NoDbsnpMap
            | ErrorKind::SampleRequirement { .. }
            | ErrorKind::UnknownVcfSample { .. }
            | ErrorKind::DbsnpInput { .. }
            | ErrorKind::InvalidSampleId { .. }
            | ErrorKind::SampleUnavailable { .. }
            | ErrorKind::SampleExists { .. } => ErrorClass::BadRequest,
            ErrorKind::VcfNotFound { .. } | ErrorKind::SampleNotFound { .. } => {
                ErrorClass::NotFound
            }
            ErrorKind::Cohort { class, .. } => *class,
            ErrorKind::Corrupt { .. }
            | ErrorKind::Io { .. }
            | ErrorKind::DbsnpMap { .. }
            | ErrorKind::Interrupted
            | ErrorKind::Store { .. } => ErrorClass::Internal,
        }
    }

    /// The `vcfq` command's exit code: its class's, except 130 (128 + SIGINT, as shells
    /// report a Ctrl-C) when the work was interrupted.
    pub fn exit_code(&self) -> i32 {
        match &*self.0 {
            ErrorKind::Interrupted => 130,
            _ => self.class().exit_code(),
        }
    }

    /// The specific failure.
    pub fn kind(&self) -> &ErrorKind {
        &self.0
    }

    pub(crate) fn requirement(path: impl Into<PathBuf>, requirement: impl Into<String>) -> Error {
        ErrorKind::SampleRequirement {
            path: path.into(),
            requirement: requirement.into(),
        }
        .into()
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, message: impl Into<String>) -> Error {
        ErrorKind::Corrupt {
            path: path.into(),
            message: message.into(),
        }
        .into()
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        ErrorKind::Io {
            context: context.into(),
            source,
        }
        .into()
    }
}

impl<E: Into<ErrorKind>> From<E> for Error {
    fn from(kind: E) -> Error {
        Error(Box::new(kind.into()))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &*self.0 {
            ErrorKind::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_map_to_contract_codes() {
        let not_found: Error = ErrorKind::VcfNotFound {
            path: "x.vcf.gz".into(),
        }
        .into();
        assert_eq!(not_found.class().exit_code(), 3);
        assert_eq!(not_found.class().http_status(), 404);
        assert_eq!(Error::requirement("x", "y").class(), ErrorClass::BadRequest);
        assert_eq!(Error::corrupt("x", "y").class().exit_code(), 1);
        let no_map: Error = ErrorKind::NoDbsnpMap.into();
        assert_eq!(no_map.class().http_status(), 400);
        assert!(no_map.to_string().contains("--dbsnp DIR"));
        assert!(no_map.to_string().contains("VCFQ_DBSNP"));
        let interrupted: Error = ErrorKind::Interrupted.into();
        assert_eq!(interrupted.exit_code(), 130);
        assert_eq!(no_map.exit_code(), 2);
    }

    #[test]
    fn error_is_one_pointer() {
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }
}
