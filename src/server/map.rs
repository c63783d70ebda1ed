//! The dbSNP map `vcfq serve` answers with, checked before each request: a map rebuilt
//! and renamed into place is opened at the next request; a map whose files changed in
//! place is reopened if it is whole again, and otherwise the request gets a 500 that
//! names the file and what to do, instead of a read of a lost page killing the server.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use crate::dbsnp::RsidMap;
use crate::error::Error;

pub(super) struct MapSlot {
    path: PathBuf,
    current: RwLock<Arc<RsidMap>>,
    access_log: super::AccessLog,
}

impl MapSlot {
    pub(super) fn open(path: PathBuf, access_log: super::AccessLog) -> Result<MapSlot, Error> {
        let map = RsidMap::open(&path)?;
        Ok(MapSlot {
            path,
            current: RwLock::new(Arc::new(map)),
            access_log,
        })
    }

    /// The map to answer with: the open one while it is unchanged on disk, else the map
    /// now at the path, opened again (once, for all requests).
    pub(super) fn current(&self) -> Result<Arc<RsidMap>, Error> {
        let map = Arc::clone(
            &self
                .current
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        let Err(change) = map.unchanged() else {
            return Ok(map);
        };
        let mut slot = self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Another request may have reopened it meanwhile.
        if !Arc::ptr_eq(&slot, &map) && slot.unchanged().is_ok() {
            return Ok(Arc::clone(&slot));
        }
        let reopened = Arc::new(RsidMap::open(&self.path)?);
        self.access_log.write(format!(
            "vcfq serve: {change}; reopened the map at {}\n",
            self.path.display()
        ));
        *slot = Arc::clone(&reopened);
        Ok(reopened)
    }
}
