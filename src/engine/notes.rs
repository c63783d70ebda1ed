//! Notes for people about an answer: what the hosted API's bytes cannot say (rsIDs the
//! dbSNP map does not know, a contig the VCF has no records on). The CLI prints them on
//! stderr; they never go into a response.

use super::Sample;
use crate::error::Error;
use crate::request::{Query, Request};
use crate::response::ResponseOptions;
use crate::types::Contig;

impl Sample {
    /// What a person should know about `request`'s answer that the hosted API's bytes
    /// cannot say (the CLI prints these on stderr as `vcfq: note: …`; they never go into
    /// a response): rsIDs the dbSNP map does not resolve (a user with the wrong map would
    /// otherwise see the same empty answer as for rsIDs the sample lacks), and a point or
    /// range on a contig the VCF has no records on.
    pub fn notes(
        &self,
        request: &Request,
        options: &ResponseOptions,
    ) -> Result<Vec<String>, Error> {
        let mut notes = Vec::new();
        match &request.query {
            Query::Rsid { rsids } => {
                let Some(map) = options.dbsnp.as_deref() else {
                    return Ok(notes);
                };
                let mut unresolved = Vec::new();
                for &rsid in rsids {
                    if map.resolve(rsid)?.is_none() {
                        unresolved.push(rsid.to_string());
                    }
                }
                if !unresolved.is_empty() {
                    let metadata = map.metadata();
                    notes.push(format!(
                        "{} of {} rsIDs are not in the dbSNP map (dbSNP build {}, {} rsIDs): {}",
                        unresolved.len(),
                        rsids.len(),
                        metadata.dbsnp_build.as_deref().unwrap_or("unknown"),
                        short_count(metadata.counts.rsids),
                        unresolved.join(", ")
                    ));
                }
            }
            Query::Point { chromosome, .. } | Query::Range { chromosome, .. } => {
                if self.sequence_ids[chromosome.ordinal()].is_empty() {
                    let present: Vec<&str> = Contig::all()
                        .iter()
                        .filter(|contig| !self.sequence_ids[contig.ordinal()].is_empty())
                        .map(|contig| contig.name)
                        .collect();
                    notes.push(format!(
                        "the VCF has no records on {} (it has records on {})",
                        chromosome.name,
                        if present.is_empty() {
                            "no GRCh38 primary contig".to_string()
                        } else {
                            present.join(", ")
                        }
                    ));
                }
            }
        }
        Ok(notes)
    }
}

/// A count as people read it: `995`, `9.1 M`, `1.1 B`.
fn short_count(count: u64) -> String {
    match count {
        0..1_000_000 => count.to_string(),
        1_000_000..1_000_000_000 => format!("{:.1} M", count as f64 / 1e6),
        _ => format!("{:.1} B", count as f64 / 1e9),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_for_people() {
        assert_eq!(short_count(995), "995");
        assert_eq!(short_count(9_100_000), "9.1 M");
        assert_eq!(short_count(1_130_000_000), "1.1 B");
    }
}
