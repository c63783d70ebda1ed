//! The cohort's long table (`docs/parity.md`, "Cohorts"), as an Arrow IPC stream or a
//! Parquet file through the arrow-rs crates: one row per (sample, record), or per
//! (sample, requested rsID, record) in rsID mode, with the VCF's own text in every
//! column JSON keeps, so that each sample's JSON body can be rebuilt from its rows byte
//! for byte ([`rebuild_bodies`]).
//!
//! | column | type | what |
//! |---|---|---|
//! | `sample_id` | utf8 | the sample |
//! | `status` | uint16 | 200 when answered; the HTTP status of its error otherwise |
//! | `detail` | utf8? | the error, for a failed sample |
//! | `count` | uint64? | `meta.count` of the sample's answer (all matches, before paging) |
//! | `query_rsid` | utf8? | rsID mode: the requested rsID this row answers |
//! | `record` | uint32? | the record's place in the sample's answer (0-based); null for a resolved rsID the sample does not carry, and for the one row of a sample with no record |
//! | `chromosome` | utf8? | `chr19` (the API's name) |
//! | `position` | uint64? | POS |
//! | `id` | utf8? | the ID column as written |
//! | `rsid` | utf8? | the record's `rsid` field |
//! | `ref` | utf8? | REF |
//! | `alt` | utf8? | the ALT column as written (`C,T`, `.`) |
//! | `qual` | utf8? | QUAL as written (`.`, `29.5`) |
//! | `filter` | utf8? | FILTER as written |
//! | `info` | utf8? | INFO as written |
//! | `format` | utf8? | FORMAT as written; null without a FORMAT column |
//! | `genotype` | utf8? | the sample's column as written; null without one |
//! | `gt` | utf8? | its GT value, for pivots |

use std::io::Write;
use std::sync::Arc;

use arrow_array::builder::{StringBuilder, UInt16Builder, UInt32Builder, UInt64Builder};
use arrow_array::{
    Array, ArrayRef, RecordBatch, StringArray, UInt16Array, UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use super::{Answered, SampleAnswer};
use crate::error::Error;
use crate::json::write_record;
use crate::record::{Record, RecordColumns};
use crate::request::Request;
use crate::response::{write_head, write_tail, ResponseOptions};
use crate::types::{Contig, Rsid};

/// Rows per record batch.
const BATCH_ROWS: usize = 65_536;

/// The table's schema.
pub fn schema() -> SchemaRef {
    let text = |name: &str| Field::new(name, DataType::Utf8, true);
    Arc::new(Schema::new(vec![
        Field::new("sample_id", DataType::Utf8, false),
        Field::new("status", DataType::UInt16, false),
        text("detail"),
        Field::new("count", DataType::UInt64, true),
        text("query_rsid"),
        Field::new("record", DataType::UInt32, true),
        text("chromosome"),
        Field::new("position", DataType::UInt64, true),
        text("id"),
        text("rsid"),
        text("ref"),
        text("alt"),
        text("qual"),
        text("filter"),
        text("info"),
        text("format"),
        text("genotype"),
        text("gt"),
    ]))
}

/// Column builders for one batch.
struct Columns {
    sample_id: StringBuilder,
    status: UInt16Builder,
    detail: StringBuilder,
    count: UInt64Builder,
    query_rsid: StringBuilder,
    record: UInt32Builder,
    chromosome: StringBuilder,
    position: UInt64Builder,
    id: StringBuilder,
    rsid: StringBuilder,
    reference: StringBuilder,
    alt: StringBuilder,
    qual: StringBuilder,
    filter: StringBuilder,
    info: StringBuilder,
    format: StringBuilder,
    genotype: StringBuilder,
    gt: StringBuilder,
    rows: usize,
}

impl Columns {
    fn new() -> Columns {
        Columns {
            sample_id: StringBuilder::new(),
            status: UInt16Builder::new(),
            detail: StringBuilder::new(),
            count: UInt64Builder::new(),
            query_rsid: StringBuilder::new(),
            record: UInt32Builder::new(),
            chromosome: StringBuilder::new(),
            position: UInt64Builder::new(),
            id: StringBuilder::new(),
            rsid: StringBuilder::new(),
            reference: StringBuilder::new(),
            alt: StringBuilder::new(),
            qual: StringBuilder::new(),
            filter: StringBuilder::new(),
            info: StringBuilder::new(),
            format: StringBuilder::new(),
            genotype: StringBuilder::new(),
            gt: StringBuilder::new(),
            rows: 0,
        }
    }

    /// A row's sample columns.
    fn start_row(&mut self, id: &str, status: u16, detail: Option<&str>, count: Option<u64>) {
        self.sample_id.append_value(id);
        self.status.append_value(status);
        self.detail.append_option(detail);
        self.count.append_option(count);
        self.rows += 1;
    }

    fn null_record(&mut self) {
        for column in [
            &mut self.chromosome,
            &mut self.id,
            &mut self.rsid,
            &mut self.reference,
            &mut self.alt,
            &mut self.qual,
            &mut self.filter,
            &mut self.info,
            &mut self.format,
            &mut self.genotype,
            &mut self.gt,
        ] {
            column.append_null();
        }
        self.position.append_null();
    }

    fn record(&mut self, record: &Record<'_>) {
        let (alt, info, format, sample) = record.raw_columns();
        self.chromosome.append_value(record.chromosome());
        self.position.append_value(record.position());
        self.id.append_value(String::from_utf8_lossy(record.id()));
        self.rsid
            .append_option(record.rsid().map(|rsid| rsid.to_string()));
        self.reference.append_value(record.reference());
        self.alt.append_value(alt);
        self.qual
            .append_value(String::from_utf8_lossy(record.quality_text()));
        self.filter
            .append_value(String::from_utf8_lossy(record.filter()));
        self.info.append_value(info);
        self.format.append_option(format);
        self.genotype.append_option(sample);
        self.gt.append_option(record.genotype_field("GT"));
    }

    fn finish(&mut self) -> Result<RecordBatch, Error> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.sample_id.finish()),
            Arc::new(self.status.finish()),
            Arc::new(self.detail.finish()),
            Arc::new(self.count.finish()),
            Arc::new(self.query_rsid.finish()),
            Arc::new(self.record.finish()),
            Arc::new(self.chromosome.finish()),
            Arc::new(self.position.finish()),
            Arc::new(self.id.finish()),
            Arc::new(self.rsid.finish()),
            Arc::new(self.reference.finish()),
            Arc::new(self.alt.finish()),
            Arc::new(self.qual.finish()),
            Arc::new(self.filter.finish()),
            Arc::new(self.info.finish()),
            Arc::new(self.format.finish()),
            Arc::new(self.genotype.finish()),
            Arc::new(self.gt.finish()),
        ];
        self.rows = 0;
        RecordBatch::try_new(schema(), columns).map_err(table_error)
    }
}

fn table_error(error: impl std::fmt::Display) -> Error {
    Error::io(
        "writing the cohort table",
        std::io::Error::other(error.to_string()),
    )
}

/// Builds record batches from sample answers (made with `Want { rows: true, .. }`).
pub struct BatchBuilder {
    columns: Columns,
}

impl Default for BatchBuilder {
    fn default() -> BatchBuilder {
        BatchBuilder {
            columns: Columns::new(),
        }
    }
}

impl BatchBuilder {
    /// Adds a sample's rows; returns a batch when one is full.
    pub fn push(&mut self, answer: &SampleAnswer) -> Result<Option<RecordBatch>, Error> {
        let columns = &mut self.columns;
        match &answer.outcome {
            Err(failed) => {
                columns.start_row(&answer.id, failed.status, Some(&failed.detail), None);
                columns.query_rsid.append_null();
                columns.record.append_null();
                columns.null_record();
            }
            Ok(answered) => push_answered(columns, &answer.id, answered)?,
        }
        if columns.rows >= BATCH_ROWS {
            return columns.finish().map(Some);
        }
        Ok(None)
    }

    /// The last, partial batch (`None` when empty).
    pub fn finish(&mut self) -> Result<Option<RecordBatch>, Error> {
        if self.columns.rows == 0 {
            return Ok(None);
        }
        self.columns.finish().map(Some)
    }
}

fn push_answered(columns: &mut Columns, id: &str, answered: &Answered) -> Result<(), Error> {
    if answered.rows.is_empty() {
        // One row even without a record, so that the sample's answer (its count) is in
        // the table.
        columns.start_row(id, 200, None, Some(answered.count));
        columns.query_rsid.append_null();
        columns.record.append_null();
        columns.null_record();
        return Ok(());
    }
    for row in &answered.rows {
        columns.start_row(id, 200, None, Some(answered.count));
        columns
            .query_rsid
            .append_option(row.query_rsid.map(|rsid| rsid.to_string()));
        match row.record {
            None => {
                columns.record.append_null();
                columns.null_record();
            }
            Some(index) => {
                let owned = answered.records.get(index).ok_or_else(|| {
                    table_error(format!("sample {id}: row for a record not in the answer"))
                })?;
                let record = owned.record().map_err(table_error)?;
                columns
                    .record
                    .append_value(u32::try_from(index).map_err(table_error)?);
                columns.record(&record);
            }
        }
    }
    Ok(())
}

/// Where the table goes: an Arrow IPC stream or a Parquet file.
pub enum TableWriter<W: Write + Send> {
    /// Arrow IPC stream format.
    Arrow(arrow_ipc::writer::StreamWriter<W>),
    /// Parquet, zstd-compressed (feature `parquet`).
    #[cfg(feature = "parquet")]
    Parquet(parquet::arrow::ArrowWriter<W>),
}

impl<W: Write + Send> TableWriter<W> {
    /// An Arrow IPC stream writer.
    pub fn arrow(out: W) -> Result<TableWriter<W>, Error> {
        arrow_ipc::writer::StreamWriter::try_new(out, &schema())
            .map(TableWriter::Arrow)
            .map_err(table_error)
    }

    /// A Parquet writer (zstd; feature `parquet`).
    #[cfg(feature = "parquet")]
    pub fn parquet(out: W) -> Result<TableWriter<W>, Error> {
        let properties = parquet::file::properties::WriterProperties::builder()
            .set_compression(parquet::basic::Compression::ZSTD(
                parquet::basic::ZstdLevel::default(),
            ))
            .build();
        parquet::arrow::ArrowWriter::try_new(out, schema(), Some(properties))
            .map(TableWriter::Parquet)
            .map_err(table_error)
    }

    /// Writes a batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), Error> {
        match self {
            TableWriter::Arrow(writer) => writer.write(batch).map_err(table_error),
            #[cfg(feature = "parquet")]
            TableWriter::Parquet(writer) => writer.write(batch).map_err(table_error),
        }
    }

    /// Ends the stream or file and returns the output.
    pub fn finish(self) -> Result<W, Error> {
        match self {
            TableWriter::Arrow(mut writer) => {
                writer.finish().map_err(table_error)?;
                writer.into_inner().map_err(table_error)
            }
            #[cfg(feature = "parquet")]
            TableWriter::Parquet(writer) => writer.into_inner().map_err(table_error),
        }
    }
}

/// One sample's body rebuilt from its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebuiltSample {
    /// The sample.
    pub sample_id: String,
    /// 200, or the failure's status.
    pub status: u16,
    /// The body for an answered sample; the error for a failed one.
    pub body: Vec<u8>,
}

fn strings<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a StringArray, Error> {
    batch
        .column_by_name(name)
        .and_then(|column| column.as_any().downcast_ref::<StringArray>())
        .ok_or_else(|| table_error(format!("no utf8 column {name}")))
}

fn column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a T, Error> {
    batch
        .column_by_name(name)
        .and_then(|column| column.as_any().downcast_ref::<T>())
        .ok_or_else(|| table_error(format!("no column {name} of the table's type")))
}

/// Rebuilds every sample's JSON body (as `vcfq query` with the same request and
/// options prints it) from the table's batches: the proof that the table is lossless.
pub fn rebuild_bodies(
    batches: &[RecordBatch],
    request: &Request,
    options: &ResponseOptions,
) -> Result<Vec<RebuiltSample>, Error> {
    let mut rebuilt: Vec<RebuiltSample> = Vec::new();
    let mut current: Option<Rebuilding> = None;
    for batch in batches {
        let sample_id = strings(batch, "sample_id")?;
        let status = column::<UInt16Array>(batch, "status")?;
        let detail = strings(batch, "detail")?;
        let count = column::<UInt64Array>(batch, "count")?;
        let record = column::<UInt32Array>(batch, "record")?;
        let chromosome = strings(batch, "chromosome")?;
        let position = column::<UInt64Array>(batch, "position")?;
        let id = strings(batch, "id")?;
        let rsid = strings(batch, "rsid")?;
        let reference = strings(batch, "ref")?;
        let alt = strings(batch, "alt")?;
        let qual = strings(batch, "qual")?;
        let filter = strings(batch, "filter")?;
        let info = strings(batch, "info")?;
        let format = strings(batch, "format")?;
        let genotype = strings(batch, "genotype")?;
        let text = |array: &StringArray, row: usize| -> Option<String> {
            (!array.is_null(row)).then(|| array.value(row).to_string())
        };
        for row in 0..batch.num_rows() {
            let this = sample_id.value(row);
            if current
                .as_ref()
                .is_none_or(|sample| sample.sample_id != this)
            {
                rebuilt.extend(current.take().map(Rebuilding::finish));
                let mut body = Vec::new();
                let row_status = status.value(row);
                if row_status == 200 {
                    let row_count = if count.is_null(row) {
                        0
                    } else {
                        count.value(row)
                    };
                    write_head(
                        &mut body,
                        row_count,
                        options,
                        request.parameters(),
                        request.paging,
                    );
                }
                current = Some(Rebuilding {
                    sample_id: this.to_string(),
                    status: row_status,
                    detail: text(detail, row).unwrap_or_default(),
                    seen: Vec::new(),
                    body,
                });
            }
            let Some(Rebuilding {
                status: 200,
                seen,
                body,
                ..
            }) = current.as_mut()
            else {
                continue;
            };
            if record.is_null(row) {
                continue;
            }
            let index = record.value(row);
            if seen.contains(&index) {
                continue;
            }
            seen.push(index);
            let contig = Contig::from_canonical_name(chromosome.value(row))
                .ok_or_else(|| table_error("a row's chromosome is not a GRCh38 name"))?;
            let (id_text, reference_text, alt_text, qual_text, filter_text, info_text) = (
                id.value(row),
                reference.value(row),
                alt.value(row),
                qual.value(row),
                filter.value(row),
                info.value(row),
            );
            let (format_text, genotype_text) = (text(format, row), text(genotype, row));
            let columns = RecordColumns {
                chromosome: b"",
                position: position.value(row),
                id: id_text.as_bytes(),
                reference_bases: reference_text.as_bytes(),
                alternate_bases: alt_text.as_bytes(),
                quality: qual_text.as_bytes(),
                filter: filter_text.as_bytes(),
                info: info_text.as_bytes(),
                format: format_text.as_deref().map(str::as_bytes),
                sample: genotype_text.as_deref().map(str::as_bytes),
            };
            let rsid_field = text(rsid, row).and_then(|text| Rsid::parse_request_token(&text));
            let typed = Record::new(contig, &columns, rsid_field).map_err(table_error)?;
            if seen.len() > 1 {
                body.push(b',');
            }
            write_record(body, &typed, options.schema);
        }
    }
    rebuilt.extend(current.map(Rebuilding::finish));
    Ok(rebuilt)
}

/// A sample whose body is being rebuilt from its rows.
struct Rebuilding {
    sample_id: String,
    status: u16,
    detail: String,
    /// The `record` values already written (a record has a row per rsID it answers).
    seen: Vec<u32>,
    body: Vec<u8>,
}

impl Rebuilding {
    fn finish(mut self) -> RebuiltSample {
        if self.status == 200 {
            write_tail(&mut self.body);
        } else {
            self.body = self.detail.into_bytes();
        }
        RebuiltSample {
            sample_id: self.sample_id,
            status: self.status,
            body: self.body,
        }
    }
}
