//! The query engine: a [`Sample`] is one VCF opened and checked once, answering any
//! number of requests, from any number of threads, with the response bytes.

mod notes;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rayon::prelude::*;

use crate::dbsnp::RsidMap;
use crate::error::{Error, ErrorKind};
use crate::json::write_record;
use crate::position_index::PositionIndex;
use crate::record::{chromosome_and_position, split_record, Record};
use crate::request::{Paging, Query, Request};
use crate::response::{write_head, write_tail, ResponseOptions};
use crate::types::Contig;
use crate::types::{rsids_in_id_column, Position, Rsid};
use crate::vcf::{open_vcf, Reader};
use std::sync::Arc;

/// How to open a sample's VCF.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SampleOptions {
    /// The sample column whose FORMAT values fill `genotype`; the first one when `None`.
    pub vcf_sample: Option<String>,
}

/// One sample's bgzipped, indexed GRCh38 VCF, checked against the sample requirements
/// when opened. Cheap to query repeatedly; `Sync`, so threads can share it: each query
/// borrows an htslib reader of its own from a small pool (opening more as needed), so
/// no reader is ever used by two threads at once.
pub struct Sample {
    path: PathBuf,
    index_path: PathBuf,
    sequence_ids: Vec<Vec<(i32, Vec<u8>)>>,
    sample_column: Option<usize>,
    sample_name: Option<String>,
    readers: Mutex<Vec<Reader>>,
    positions: Option<Arc<PositionIndex>>,
    position_index_note: Option<String>,
}

/// Where a record may be in the file: (index sequence id, POS, contig). Sorting by the
/// first two gives file order.
type Place = (i32, u64, &'static Contig);
/// A place (sequence id, POS) and the range of its records among those read.
type PlaceRange = ((i32, u64), std::ops::Range<usize>);

/// Record lines kept for the page being answered, in one buffer, each with its contig.
#[derive(Default)]
struct PageLines {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    contigs: Vec<&'static Contig>,
    /// The `rsid` field where it is already known (rsID mode), by line.
    resolved: Vec<Option<Option<Rsid>>>,
    /// rsID mode: see `Records::rsid_matches`.
    rsid_matches: Vec<(Rsid, Option<usize>)>,
}

impl PageLines {
    fn push(&mut self, contig: &'static Contig, line: &[u8]) {
        self.bytes.extend_from_slice(line);
        self.ends.push(self.bytes.len());
        self.contigs.push(contig);
        self.resolved.push(None);
    }

    fn push_resolved(&mut self, contig: &'static Contig, line: &[u8], rsid: Option<Rsid>) {
        self.push(contig, line);
        if let Some(last) = self.resolved.last_mut() {
            *last = Some(rsid);
        }
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn get(&self, index: usize) -> (&'static Contig, &[u8]) {
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        (self.contigs[index], &self.bytes[start..self.ends[index]])
    }

    fn iter(&self) -> impl Iterator<Item = (&'static Contig, &[u8])> {
        (0..self.len()).map(|index| self.get(index))
    }
}

/// The answer to one request as typed records: one page, and the count of every
/// matching record before paging (JSON's `meta.count`). Made by [`Sample::records`];
/// the records borrow its lines.
pub struct Records<'s> {
    sample: &'s Sample,
    dbsnp: Option<&'s RsidMap>,
    page: PageLines,
    count: u64,
}

impl<'s> Records<'s> {
    /// Every matching record, before paging (`meta.count`).
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The records on this page.
    pub fn len(&self) -> usize {
        self.page.len()
    }

    /// Whether this page holds no record.
    pub fn is_empty(&self) -> bool {
        self.page.len() == 0
    }

    /// rsID mode: each requested rsID the dbSNP map resolves, with the record of this
    /// page it matches (its index in [`Records::iter`] order), once per (rsID, record)
    /// pair, in request order. A record that two requested rsIDs match appears in the
    /// answer once, at the first one's place, but here under both. A resolved rsID that
    /// matches no record of this sample appears once with `None` (on the first page
    /// only: paging is over records). Empty for position and range requests.
    pub fn rsid_matches(&self) -> &[(Rsid, Option<usize>)] {
        &self.page.rsid_matches
    }

    /// The contig and line of the `index`th record of the page.
    pub(crate) fn line(&self, index: usize) -> (&'static Contig, &[u8]) {
        self.page.get(index)
    }

    /// The `index`th record of the page (`index < len()`).
    #[inline(always)]
    pub(crate) fn get(&self, index: usize) -> Result<Record<'_>, Error> {
        let (contig, line) = self.page.get(index);
        self.sample
            .record(self.dbsnp, contig, line, self.page.resolved[index])
    }

    /// The page's records in answer order. A record the VCF writes malformed is an
    /// error (the JSON response fails the same way); records after it still come.
    pub fn iter(&self) -> RecordIter<'_, 's> {
        RecordIter {
            records: self,
            next: 0,
        }
    }
}

impl<'r, 's> IntoIterator for &'r Records<'s> {
    type Item = Result<Record<'r>, Error>;
    type IntoIter = RecordIter<'r, 's>;

    fn into_iter(self) -> RecordIter<'r, 's> {
        self.iter()
    }
}

/// The iterator of [`Records::iter`].
pub struct RecordIter<'r, 's> {
    records: &'r Records<'s>,
    next: usize,
}

impl<'r> Iterator for RecordIter<'r, '_> {
    type Item = Result<Record<'r>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let records = self.records;
        if self.next >= records.page.len() {
            return None;
        }
        let index = self.next;
        self.next += 1;
        Some(records.get(index))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.records.page.len() - self.next;
        (left, Some(left))
    }
}

impl ExactSizeIterator for RecordIter<'_, '_> {}

impl Sample {
    /// Opens and checks `path` against the sample requirements (`docs/parity.md`, "What a
    /// sample's VCF must be"). Fails with a not-found error when
    /// the file does not exist and a bad-request error naming the unmet requirement.
    pub fn open(path: impl AsRef<Path>, options: &SampleOptions) -> Result<Sample, Error> {
        let path = path.as_ref();
        let opened = open_vcf(path, options.vcf_sample.as_deref())?;
        Ok(Sample {
            path: path.to_path_buf(),
            index_path: opened.index_path,
            sequence_ids: opened.sequence_ids,
            sample_column: opened.sample_column,
            sample_name: opened.sample_name,
            readers: Mutex::new(vec![opened.reader]),
            positions: opened.positions,
            position_index_note: opened.position_index_note,
        })
    }

    /// The VCF's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether queries read through the position index (`VCF.vcfqidx`) rather than
    /// the tabix index.
    pub fn uses_position_index(&self) -> bool {
        self.positions.is_some()
    }

    /// Why a position index next to the VCF is not used (stale, another copy's, damaged,
    /// from an earlier vcfq), with what to run; `None` when it is used or there is none.
    pub fn position_index_note(&self) -> Option<&str> {
        self.position_index_note.as_deref()
    }

    /// Checks the position index in use throughout (every contig's entries against their
    /// CRC-32); queries check a contig's when they first read it.
    pub fn check_position_index(&self) -> Result<(), Error> {
        match &self.positions {
            Some(index) => index
                .check_entries()
                .map_err(|message| Error::corrupt(&self.path, message)),
            None => Ok(()),
        }
    }

    /// Checks that the tabix/CSI index belongs to the VCF, as opening does when queries
    /// go through it; a sample read through its position index skips that at opening,
    /// and `vcfq sample add` and `sample check` call this for it.
    pub fn check_tabix_index(&self) -> Result<(), Error> {
        if self.positions.is_some() {
            crate::vcf::open_checked_tabix(&self.path, &self.index_path)?;
        }
        Ok(())
    }

    /// The index in use (`.tbi` or `.csi`).
    pub fn index_path(&self) -> &Path {
        &self.index_path
    }

    /// How the VCF names its primary contigs: `chr` (`chr19`), `bare` (`19`), `refseq`
    /// (`NC_000019.10`), `mixed`, or `none` (no records on primary contigs).
    pub fn contig_naming(&self) -> &'static str {
        let mut kinds = self.sequence_ids.iter().flatten().map(|(_, name)| {
            if name.starts_with(b"chr") {
                "chr"
            } else if name.starts_with(b"NC_") {
                "refseq"
            } else {
                "bare"
            }
        });
        match kinds.next() {
            None => "none",
            Some(first) if kinds.all(|kind| kind == first) => first,
            Some(_) => "mixed",
        }
    }

    /// The 0-based column of the sample that fills `genotype`.
    pub(crate) fn sample_column(&self) -> Option<usize> {
        self.sample_column
    }

    /// The sample column that fills `genotype`, if the VCF has samples.
    pub fn sample_name(&self) -> Option<&str> {
        self.sample_name.as_deref()
    }

    /// Answers `request` with the complete response body (no trailing newline).
    /// On error nothing is produced: there is never a partial body.
    pub fn respond(&self, request: &Request, options: &ResponseOptions) -> Result<Vec<u8>, Error> {
        let mut body = Vec::with_capacity(1024);
        self.respond_into(request, options, &mut body)?;
        Ok(body)
    }

    /// Answers `request` and writes the complete body to `writer` only once it is whole.
    pub fn write_response<W: Write>(
        &self,
        request: &Request,
        options: &ResponseOptions,
        writer: &mut W,
    ) -> Result<(), Error> {
        let body = self.respond(request, options)?;
        writer
            .write_all(&body)
            .map_err(|error| Error::io("writing the response", error))
    }

    /// Appends the response body to `out`. On error `out` is left as it was.
    pub fn respond_into(
        &self,
        request: &Request,
        options: &ResponseOptions,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        // Finding the records writes nothing; writing them leaves `out` as it was on error.
        let records = self.records(request, options.dbsnp.as_deref())?;
        self.write_records(&records, request, options, out)
    }

    /// Appends the response body for `records`, this sample's answer to `request`. On
    /// error `out` is left as it was.
    pub(crate) fn write_records(
        &self,
        records: &Records<'_>,
        request: &Request,
        options: &ResponseOptions,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let start = out.len();
        let result = Self::write_body(records, request, options, out);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn write_body(
        records: &Records<'_>,
        request: &Request,
        options: &ResponseOptions,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        write_head(
            out,
            records.count(),
            options,
            request.parameters(),
            request.paging,
        );
        for i in 0..records.len() {
            if i > 0 {
                out.push(b',');
            }
            // The record is made in place and borrowed (the iterator would move it).
            write_record(out, &records.get(i)?, options.schema);
        }
        write_tail(out);
        Ok(())
    }

    /// Answers `request` with typed records: the page the JSON response would hold, in
    /// the same order, with the same `rsid` fields, and the total count before paging.
    /// `dbsnp` resolves rsID requests (required for them) and fills `rsid` for records
    /// whose ID column has none, as [`ResponseOptions::dbsnp`] does.
    ///
    /// ```
    /// # fn main() -> Result<(), vcfq::Error> {
    /// use vcfq::{Request, Sample, SampleOptions};
    /// let sample = Sample::open("testdata/apoe.vcf.gz", &SampleOptions::default())?;
    /// let records = sample.records(&Request::range("chr19", 44_905_000, 44_910_000)?, None)?;
    /// assert_eq!(records.count(), 5);
    /// for record in &records {
    ///     let record = record?;
    ///     assert!(record.genotype_field("GT").is_some());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn records<'s>(
        &'s self,
        request: &Request,
        dbsnp: Option<&'s RsidMap>,
    ) -> Result<Records<'s>, Error> {
        let mut page = PageLines::default();
        let count = match &request.query {
            Query::Point {
                chromosome,
                position,
            } => {
                self.collect_window(chromosome, *position, *position, request.paging, &mut page)?
            }
            Query::Range {
                chromosome,
                start_position,
                end_position,
            } => self.collect_window(
                chromosome,
                *start_position,
                *end_position,
                request.paging,
                &mut page,
            )?,
            Query::Rsid { rsids } => {
                let map = dbsnp.ok_or(ErrorKind::NoDbsnpMap)?;
                self.collect_rsids(map, rsids, request.paging, &mut page)?
            }
        };
        Ok(Records {
            sample: self,
            dbsnp,
            page,
            count,
        })
    }

    /// One page line as a typed record, its `rsid` resolved.
    #[inline(always)]
    fn record<'l>(
        &self,
        dbsnp: Option<&RsidMap>,
        chromosome: &'static Contig,
        line: &'l [u8],
        resolved: Option<Option<Rsid>>,
    ) -> Result<Record<'l>, Error> {
        let columns = split_record(line, self.sample_column)
            .map_err(|message| self.corrupt_at(chromosome, line, &message))?;
        let rsid = match (resolved, rsids_in_id_column(columns.id).next(), dbsnp) {
            (Some(resolved), _, _) => resolved,
            (None, Some(rsid), _) => Some(rsid),
            (None, None, Some(map)) => map.rsid_for_record(
                chromosome,
                columns.position,
                columns.reference_bases,
                columns.alternate_bases.split(|&b| b == b','),
            )?,
            (None, None, None) => None,
        };
        Record::new(chromosome, &columns, rsid)
            .map_err(|message| self.corrupt_at(chromosome, line, &message))
    }

    /// rsID mode (`docs/parity.md`, "Requests"): each rsID resolves through the map to
    /// its loci; a
    /// record there matches when it has the same REF and an ALT dbSNP gives that rsID, or
    /// when its ID column names the rsID. Results follow the request's order, each rsID's
    /// records in file order, a record once. Each locus is read once, in file order.
    fn collect_rsids(
        &self,
        map: &RsidMap,
        rsids: &[Rsid],
        paging: Paging,
        page: &mut PageLines,
    ) -> Result<u64, Error> {
        // (requested, current, the file's (sequence id, POS) for each of its loci)
        let mut targets: Vec<(Rsid, Rsid, Vec<Place>)> = Vec::new();
        for &requested in rsids {
            let Some((current, loci)) = map.resolve(requested)? else {
                continue;
            };
            let mut places: Vec<Place> = loci
                .iter()
                .flat_map(|locus| {
                    self.sequence_ids[locus.chromosome.ordinal()]
                        .iter()
                        .map(move |(id, _)| (*id, locus.position.get(), locus.chromosome))
                })
                .collect();
            places.sort_by_key(|&(id, position, _)| (id, position));
            places.dedup_by_key(|&mut (id, position, _)| (id, position));
            targets.push((requested, current, places));
        }
        let mut wanted: Vec<Place> = targets
            .iter()
            .flat_map(|(_, _, places)| places.iter().copied())
            .collect();
        wanted.sort_by_key(|&(id, position, _)| (id, position));
        wanted.dedup_by_key(|&mut (id, position, _)| (id, position));

        // Read every wanted locus once: its records, in file order, into `found`.
        let (found, ranges) = self.read_loci(&wanted)?;

        let mut taken = vec![false; found.len()];
        // For each record read, the rsIDs dbSNP gives each of its ALTs, looked up once and
        // shared by every rsID that considers the record and by its `rsid` field.
        let mut allele_rsids: Vec<Option<Vec<Vec<Rsid>>>> = vec![None; found.len()];
        let mut order: Vec<(usize, Option<Rsid>)> = Vec::new();
        // Each record's rank in `order`, and every (requested rsID, record it matches)
        // pair, records already taken by an earlier rsID included (`Records::rsid_matches`).
        let mut rank_of: Vec<Option<usize>> = vec![None; found.len()];
        let mut matched: Vec<(Rsid, Option<usize>)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (requested, current, places) in &targets {
            if !seen.insert(*requested) {
                continue;
            }
            let matched_before = matched.len();
            for (sequence_id, position, contig) in places {
                let Ok(slot) =
                    ranges.binary_search_by_key(&(*sequence_id, *position), |(key, _)| *key)
                else {
                    continue;
                };
                for index in ranges[slot].1.clone() {
                    if taken[index] {
                        let (_, line) = found.get(index);
                        let record = split_record(line, None)
                            .map_err(|message| self.corrupt_at(contig, line, &message))?;
                        let per_alt = allele_rsids[index].as_deref().unwrap_or_default();
                        if rsids_in_id_column(record.id)
                            .any(|rsid| rsid == *requested || rsid == *current)
                            || per_alt.iter().any(|rsids| rsids.contains(current))
                        {
                            matched.push((*requested, Some(index)));
                        }
                        continue;
                    }
                    let (_, line) = found.get(index);
                    let record = split_record(line, None)
                        .map_err(|message| self.corrupt_at(contig, line, &message))?;
                    let id_rsids = || rsids_in_id_column(record.id);
                    let per_alt = match &mut allele_rsids[index] {
                        Some(per_alt) => per_alt,
                        slot @ None => slot.insert(
                            record
                                .alternate_bases
                                .split(|&b| b == b',')
                                .map(|alternate| {
                                    map.rsids_for_allele(
                                        contig,
                                        record.position,
                                        record.reference_bases,
                                        alternate,
                                    )
                                })
                                .collect::<Result<_, _>>()?,
                        ),
                    };
                    let matches = id_rsids().any(|rsid| rsid == *requested || rsid == *current)
                        || per_alt.iter().any(|rsids| rsids.contains(current));
                    if matches {
                        taken[index] = true;
                        // The `rsid` field (`docs/parity.md`, "Requests"): the ID
                        // column's, else the
                        // first ALT's smallest.
                        let field = id_rsids()
                            .next()
                            .or_else(|| per_alt.iter().find_map(|rsids| rsids.first().copied()));
                        order.push((index, field));
                        rank_of[index] = Some(order.len() - 1);
                        matched.push((*requested, Some(index)));
                    }
                }
            }
            if matched.len() == matched_before {
                matched.push((*requested, None));
            }
        }
        let page_end = paging
            .limit
            .map_or(u64::MAX, |limit| paging.offset.saturating_add(limit));
        let on_page = |rank: usize| (rank as u64) >= paging.offset && (rank as u64) < page_end;
        for (rank, &(index, rsid)) in order.iter().enumerate() {
            if on_page(rank) {
                let (contig, line) = found.get(index);
                page.push_resolved(contig, line, rsid);
            }
        }
        page.rsid_matches = matched
            .into_iter()
            .filter_map(|(requested, index)| match index {
                Some(index) => {
                    let rank = rank_of[index]?;
                    on_page(rank).then(|| (requested, Some(rank - paging.offset as usize)))
                }
                None => (paging.offset == 0).then_some((requested, None)),
            })
            .collect();
        Ok(order.len() as u64)
    }

    /// The records at each place (POS-exact), and for each place the range of them in
    /// the result. Places are read in file order; many places are split among the
    /// rayon threads, each with a reader of its own (every place costs about one block to
    /// inflate, so two cores halve the time of a 50-rsID query).
    fn read_loci(&self, wanted: &[Place]) -> Result<(PageLines, Vec<PlaceRange>), Error> {
        const MIN_PLACES_PER_THREAD: usize = 8;
        let threads = rayon::current_num_threads().max(1);
        // Twice as many pieces as threads, so that a slow piece does not hold up the rest.
        let chunk = wanted
            .len()
            .div_ceil(threads * 2)
            .max(MIN_PLACES_PER_THREAD);
        // Reading in parallel needs a reader per piece. Through the position index a
        // reader opens in microseconds; through tabix, opening one loads the index again
        // (~25 ms for a genome-wide file, the cost of ~350 loci), so then split only when
        // idle readers wait in the pool (see `Sample::open_readers`) or the query is big.
        let idle_readers = self.pool().len();
        let parallel = self.positions.is_some() || idle_readers >= 2 || wanted.len() >= 350;
        let read_chunk = |places: &[Place]| -> Result<(PageLines, Vec<PlaceRange>), Error> {
            let mut found = PageLines::default();
            let mut ranges = Vec::with_capacity(places.len());
            self.with_reader(|reader| {
                for &(sequence_id, position, contig) in places {
                    let start = found.len();
                    let position = Position::new(position)
                        .ok_or_else(|| Error::corrupt(&self.path, "a dbSNP locus at position 0"))?;
                    let name = self.sequence_name(contig, sequence_id);
                    self.read_window(
                        reader,
                        contig,
                        sequence_id,
                        name,
                        position,
                        position,
                        |line| {
                            found.push(contig, line);
                            true
                        },
                    )?;
                    ranges.push(((sequence_id, position.get()), start..found.len()));
                }
                Ok(())
            })?;
            Ok((found, ranges))
        };
        if !parallel || wanted.len() <= chunk {
            return read_chunk(wanted);
        }
        let parts: Vec<Result<(PageLines, Vec<PlaceRange>), Error>> =
            wanted.par_chunks(chunk).map(read_chunk).collect();
        let mut found = PageLines::default();
        let mut ranges = Vec::with_capacity(wanted.len());
        for part in parts {
            let (lines, part_ranges) = part?;
            let base = found.len();
            for (contig, line) in lines.iter() {
                found.push(contig, line);
            }
            ranges.extend(
                part_ranges
                    .into_iter()
                    .map(|(place, range)| (place, range.start + base..range.end + base)),
            );
        }
        Ok((found, ranges))
    }

    fn sequence_name(&self, contig: &Contig, sequence_id: i32) -> &[u8] {
        self.sequence_ids[contig.ordinal()]
            .iter()
            .find(|(id, _)| *id == sequence_id)
            .map_or(&[][..], |(_, name)| name.as_slice())
    }

    /// Counts the records with `start_position <= POS <= end_position` on `chromosome`
    /// (file order) and keeps the lines of the requested page.
    fn collect_window(
        &self,
        chromosome: &'static Contig,
        start_position: Position,
        end_position: Position,
        paging: Paging,
        page: &mut PageLines,
    ) -> Result<u64, Error> {
        let sequences = &self.sequence_ids[chromosome.ordinal()];
        if sequences.is_empty() {
            return Ok(0);
        }
        let page_end = paging
            .limit
            .map_or(u64::MAX, |limit| paging.offset.saturating_add(limit));
        self.with_reader(|reader| {
            let mut count = 0u64;
            for (sequence_id, sequence_name) in sequences {
                self.read_window(
                    reader,
                    chromosome,
                    *sequence_id,
                    sequence_name,
                    start_position,
                    end_position,
                    |line| {
                        if count >= paging.offset && count < page_end {
                            page.push(chromosome, line);
                        }
                        count += 1;
                        true
                    },
                )?;
            }
            Ok(count)
        })
    }

    /// Feeds `keep` every record line of one index sequence whose POS is within
    /// `start_position..=end_position`, in file order. tabix also returns records that start
    /// earlier and overlap the window (deletions); they are skipped here.
    #[allow(clippy::too_many_arguments)]
    fn read_window(
        &self,
        reader: &mut Reader,
        chromosome: &Contig,
        sequence_id: i32,
        sequence_name: &[u8],
        start_position: Position,
        end_position: Position,
        mut keep: impl FnMut(&[u8]) -> bool,
    ) -> Result<(), Error> {
        reader.fetch(
            &self.path,
            &self.index_path,
            sequence_id,
            start_position,
            end_position,
        )?;
        while let Some(line) = reader
            .next_line()
            .map_err(|message| self.read_error(chromosome, start_position, &message))?
        {
            let (line_chromosome, position) = chromosome_and_position(line)
                .map_err(|message| self.corrupt_at(chromosome, line, &message))?;
            if line_chromosome != sequence_name {
                return Err(Error::corrupt(
                    &self.path,
                    format!(
                        "the index {} returned a {} record for {}: it does not match the file; re-index it with `tabix -f -p vcf FILE`",
                        self.index_path.display(),
                        String::from_utf8_lossy(line_chromosome),
                        String::from_utf8_lossy(sequence_name)
                    ),
                ));
            }
            if position < start_position.get() || position > end_position.get() {
                continue;
            }
            if !keep(line) {
                break;
            }
        }
        Ok(())
    }

    /// Opens readers until `count` wait in the pool, so that later queries can read
    /// their loci in parallel (`batch` and `serve` do this once; a one-query process
    /// does not, as each reader loads the index again).
    pub fn open_readers(&self, count: usize) -> Result<(), Error> {
        while self.pool().len() < count {
            let reader = Reader::open(&self.path, &self.index_path, self.positions.as_ref())?;
            self.pool().push(reader);
        }
        Ok(())
    }

    /// Runs `work` with a reader from the pool (or a new one). A reader that saw an error
    /// is dropped rather than reused.
    fn with_reader<T>(
        &self,
        work: impl FnOnce(&mut Reader) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let pooled = self.pool().pop();
        let mut reader = match pooled {
            Some(reader) => reader,
            None => Reader::open(&self.path, &self.index_path, self.positions.as_ref())?,
        };
        let result = work(&mut reader);
        if result.is_ok() {
            self.pool().push(reader);
        }
        result
    }

    fn pool(&self) -> MutexGuard<'_, Vec<Reader>> {
        // A panic elsewhere cannot leave a reader half-used in the pool: readers are
        // only pushed back after a successful query.
        self.readers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn corrupt_at(&self, chromosome: &Contig, line: &[u8], message: &str) -> Error {
        let position = chromosome_and_position(line)
            .map(|(_, position)| position.to_string())
            .unwrap_or_else(|_| "?".to_string());
        Error::corrupt(
            &self.path,
            format!(
                "malformed record at {}:{position}: {message}",
                chromosome.name
            ),
        )
    }

    fn read_error(&self, chromosome: &Contig, position: Position, message: &str) -> Error {
        Error::corrupt(
            &self.path,
            format!("while reading {}:{position}: {message}", chromosome.name),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_lines_keep_order() {
        let chr1 = Contig::from_canonical_name("chr1").unwrap();
        let mut page = PageLines::default();
        page.push(chr1, b"a");
        page.push(chr1, b"");
        page.push(chr1, b"ccc");
        let lines: Vec<&[u8]> = page.iter().map(|(_, line)| line).collect();
        assert_eq!(lines, vec![&b"a"[..], b"", b"ccc"]);
    }
}
