//! `vcfq._native`: the vcfq engine for Python (the `vcfq` package re-exports it).
//!
//! Every call that reads files runs with the GIL released (`Python::detach`), so one
//! `Sample` answers many Python threads at once. Errors become the `vcfq._errors`
//! classes by the engine's own class (bad request, not found, internal), with the
//! message the `vcfq` command prints.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arrow_array::{RecordBatch, RecordBatchReader};
use arrow_pyarrow::{IntoPyArrow, Table};
use arrow_schema::{ArrowError, SchemaRef};
use pyo3::exceptions::{PyKeyboardInterrupt, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyInt, PyList, PyString, PyTuple};
use vcfq::cohort::table::{schema as cohort_schema, BatchBuilder};
use vcfq::cohort::{run_cohort, CohortMember, CohortOptions, MemberSource, Want};
use vcfq::dbsnp::{build_map, BuildOptions, BuildPhase, BuildProgress, RsidMap};
use vcfq::response::{API_PATH, DEFAULT_BASE_URL};
use vcfq::store::{NewSample, SampleId, StoredSample};
use vcfq::{Error, ErrorClass, ErrorKind, Request, ResponseOptions, SampleOptions, Schema};

// ---------------------------------------------------------------------------------------
// Errors

/// A class of `vcfq._errors`, imported once.
fn error_class<'py>(py: Python<'py>, name: &'static str) -> PyResult<Bound<'py, PyAny>> {
    static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    let module = MODULE.get_or_try_init(py, || {
        py.import("vcfq._errors").map(|module| module.unbind())
    })?;
    module.bind(py).getattr(name)
}

/// A vcfq error as its Python class: `BadRequest` (also a `ValueError`), `NotFound`
/// (also a `LookupError`) or `VcfqError`; `KeyboardInterrupt` when the work was
/// interrupted.
fn py_error(error: Error) -> PyErr {
    if matches!(error.kind(), ErrorKind::Interrupted) {
        return PyKeyboardInterrupt::new_err(error.to_string());
    }
    Python::attach(|py| {
        let name = match error.class() {
            ErrorClass::BadRequest => "BadRequest",
            ErrorClass::NotFound => "NotFound",
            ErrorClass::Internal => "VcfqError",
        };
        match error_class(py, name).and_then(|class| class.call1((error.to_string(),))) {
            Ok(value) => PyErr::from_value(value),
            Err(import_error) => import_error,
        }
    })
}

/// A bad request in the engine's words (for arguments Python checks first).
fn bad_request(message: impl Into<String>) -> PyErr {
    Python::attach(|py| {
        match error_class(py, "BadRequest").and_then(|class| class.call1((message.into(),))) {
            Ok(value) => PyErr::from_value(value),
            Err(import_error) => import_error,
        }
    })
}

// ---------------------------------------------------------------------------------------
// Requests

/// The parameters of a request given as keywords, as the hosted API's query string
/// would carry them: integers as their decimal text, `rsid` lists joined with commas.
/// The engine then validates them exactly as it validates a query string.
struct RequestArgs<'a, 'py> {
    chromosome: Option<&'a Bound<'py, PyAny>>,
    position: Option<&'a Bound<'py, PyAny>>,
    start_position: Option<&'a Bound<'py, PyAny>>,
    end_position: Option<&'a Bound<'py, PyAny>>,
    rsid: Option<&'a Bound<'py, PyAny>>,
    limit: Option<&'a Bound<'py, PyAny>>,
    offset: Option<&'a Bound<'py, PyAny>>,
}

/// A parameter's text: a string as it is, an integer in decimal.
fn parameter_text(name: &str, value: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(text) = value.cast::<PyString>() {
        return Ok(text.to_str()?.to_owned());
    }
    if value.is_instance_of::<PyInt>() && !value.is_instance_of::<PyBool>() {
        return Ok(value.str()?.to_str()?.to_owned());
    }
    Err(PyTypeError::new_err(format!(
        "{name} must be a str or an int, not {}",
        value.get_type().name()?
    )))
}

/// An `rsid` argument's text: a string as it is, a list joined with commas.
fn rsid_text(rsid: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(text) = rsid.cast::<PyString>() {
        return Ok(text.to_str()?.to_owned());
    }
    if !(rsid.is_instance_of::<PyList>() || rsid.is_instance_of::<PyTuple>()) {
        return Err(PyTypeError::new_err("rsid must be a str or a list of str"));
    }
    let mut joined = String::new();
    for (i, item) in rsid.try_iter()?.enumerate() {
        let item = item?;
        let item = item
            .cast::<PyString>()
            .map_err(|_| PyTypeError::new_err("rsid must be a str or a list of str"))?;
        if i > 0 {
            joined.push(',');
        }
        joined.push_str(item.to_str()?);
    }
    Ok(joined)
}

impl RequestArgs<'_, '_> {
    fn request(&self) -> PyResult<Request> {
        let mut parameters = Vec::with_capacity(4);
        for (name, value) in [
            ("chromosome", self.chromosome),
            ("position", self.position),
            ("start_position", self.start_position),
            ("end_position", self.end_position),
            ("limit", self.limit),
            ("offset", self.offset),
        ] {
            if let Some(value) = value {
                parameters.push((name.to_string(), parameter_text(name, value)?));
            }
        }
        if let Some(rsid) = self.rsid {
            parameters.push(("rsid".to_string(), rsid_text(rsid)?));
        }
        Request::from_parameters(parameters).map_err(|error| py_error(error.into()))
    }
}

fn parse_schema(schema: &str) -> PyResult<Schema> {
    match schema {
        "docs" => Ok(Schema::Docs),
        "openapi" => Ok(Schema::Openapi),
        other => Err(bad_request(format!(
            "schema must be \"docs\" or \"openapi\", not {other:?}"
        ))),
    }
}

/// A path argument (`str` or `os.PathLike`).
fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// `copyreg.__newobj_ex__`: what protocol-2 pickles call to rebuild an object from its
/// class, positional and keyword arguments.
fn newobj_ex(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    py.import("copyreg")?.getattr("__newobj_ex__")
}

/// `__reduce__` of a class that pickles by path: `copyreg.__newobj_ex__(cls, (path,),
/// kwargs)`, which protocol-2 pickles call to rebuild it (opening the files again).
fn reduce_by_path<'py>(
    slf: &Bound<'py, PyAny>,
    path: String,
    kwargs: Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyTuple>> {
    let py = slf.py();
    let class_args_kwargs = PyTuple::new(
        py,
        [
            slf.get_type().into_any(),
            PyTuple::new(py, [path])?.into_any(),
            kwargs.into_any(),
        ],
    )?;
    PyTuple::new(py, [newobj_ex(py)?, class_args_kwargs.into_any()])
}

// ---------------------------------------------------------------------------------------
// DbsnpMap

/// A dbSNP map (built by `vcfq dbsnp build` or `vcfq.build_dbsnp_map`), memory-mapped.
#[pyclass(frozen, module = "vcfq", name = "DbsnpMap")]
struct DbsnpMap {
    map: Arc<RsidMap>,
    path: PathBuf,
}

#[pymethods]
impl DbsnpMap {
    #[new]
    fn new(py: Python<'_>, path: PathBuf) -> PyResult<DbsnpMap> {
        let map = py.detach(|| RsidMap::open(&path)).map_err(py_error)?;
        Ok(DbsnpMap {
            map: Arc::new(map),
            path,
        })
    }

    /// The map's directory.
    #[getter]
    fn path(&self) -> String {
        path_text(&self.path)
    }

    /// The rsID's loci as `[(chromosome, position), ...]` (current rsID after merges in
    /// `current`), or `None` when the map does not hold it.
    fn resolve<'py>(&self, py: Python<'py>, rsid: &str) -> PyResult<Option<Bound<'py, PyDict>>> {
        let parsed = vcfq::Rsid::parse_request_token(rsid.trim()).ok_or_else(|| {
            bad_request(format!("{rsid:?} is not an rsID (rs followed by digits)"))
        })?;
        let resolved = py.detach(|| self.map.resolve(parsed)).map_err(py_error)?;
        let Some((current, loci)) = resolved else {
            return Ok(None);
        };
        let result = PyDict::new(py);
        result.set_item("rsid", current.to_string())?;
        let loci: Vec<(String, u64)> = loci
            .iter()
            .map(|locus| (locus.chromosome.name.to_string(), locus.position.get()))
            .collect();
        result.set_item("loci", loci)?;
        Ok(Some(result))
    }

    /// The map's `meta.json` as a dict (source, dbSNP build, counts, files).
    #[getter]
    fn metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let text = serde_json::to_string(self.map.metadata())
            .map_err(|error| py_error(io_failure("writing the map's metadata", error)))?;
        json_loads(py, PyBytes::new(py, text.as_bytes()).as_any())
    }

    /// Builds into `out` a small map that answers `rsids` (a list, or a comma-separated
    /// string) exactly as this one does: their loci, merges, and every allele at those
    /// loci. Returns it, opened.
    fn excerpt(
        &self,
        py: Python<'_>,
        rsids: &Bound<'_, PyAny>,
        out: PathBuf,
    ) -> PyResult<DbsnpMap> {
        let text = rsid_text(rsids)?;
        let wanted = text
            .split(',')
            .map(|token| {
                vcfq::Rsid::parse_request_token(token.trim()).ok_or_else(|| {
                    bad_request(format!(
                        "{:?} is not an rsID (rs followed by digits)",
                        token.trim()
                    ))
                })
            })
            .collect::<PyResult<Vec<_>>>()?;
        py.detach(|| self.map.excerpt(&wanted, &out))
            .map_err(py_error)?;
        DbsnpMap::new(py, out)
    }

    /// Reads every file of the map and checks its tables (`vcfq dbsnp check`).
    fn check(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.map.check()).map(|_| ()).map_err(py_error)
    }

    fn __repr__(&self) -> String {
        format!("vcfq.DbsnpMap({:?})", path_text(&self.path))
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        reduce_by_path(
            slf.as_any(),
            path_text(&slf.get().path),
            PyDict::new(slf.py()),
        )
    }
}

/// A response body as `vcfq.Body` (a `bytes` whose `str()` is the JSON text).
fn body_object<'py>(py: Python<'py>, body: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    static BODY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let class = BODY.get_or_try_init(py, || {
        py.import("vcfq._body")
            .and_then(|module| module.getattr("Body"))
            .map(Bound::unbind)
    })?;
    class.bind(py).call1((PyBytes::new(py, body),))
}

fn json_loads<'py>(py: Python<'py>, text: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    static LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let loads = LOADS.get_or_try_init(py, || {
        py.import("json")
            .and_then(|json| json.getattr("loads"))
            .map(Bound::unbind)
    })?;
    loads.bind(py).call1((text,))
}

/// A `dbsnp=` argument: a `DbsnpMap`, a map directory, or `None`.
fn dbsnp_argument(
    py: Python<'_>,
    dbsnp: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<(Arc<RsidMap>, PathBuf)>> {
    let Some(dbsnp) = dbsnp else {
        return Ok(None);
    };
    if dbsnp.is_none() {
        return Ok(None);
    }
    if let Ok(map) = dbsnp.cast::<DbsnpMap>() {
        let map = map.get();
        return Ok(Some((Arc::clone(&map.map), map.path.clone())));
    }
    let path: PathBuf = dbsnp.extract().map_err(|_| {
        PyTypeError::new_err("dbsnp must be a vcfq.DbsnpMap, a map directory path, or None")
    })?;
    let map = py.detach(|| RsidMap::open(&path)).map_err(py_error)?;
    Ok(Some((Arc::new(map), path)))
}

// ---------------------------------------------------------------------------------------
// Sample

/// One sample's bgzipped, tabix-indexed GRCh38 VCF, opened and checked once; query it
/// as often as needed, from any thread.
#[pyclass(frozen, module = "vcfq", name = "Sample")]
struct Sample {
    sample: vcfq::Sample,
    path: PathBuf,
    dbsnp: Option<(Arc<RsidMap>, PathBuf)>,
    vcf_sample: Option<String>,
    base_url: String,
}

impl Sample {
    fn respond(
        &self,
        py: Python<'_>,
        request: &Request,
        schema: &str,
        base_url: Option<String>,
    ) -> PyResult<Vec<u8>> {
        let options = ResponseOptions {
            schema: parse_schema(schema)?,
            base_url: base_url.unwrap_or_else(|| self.base_url.clone()),
            dbsnp: self.dbsnp.as_ref().map(|(map, _)| Arc::clone(map)),
        };
        py.detach(|| self.sample.respond(request, &options))
            .map_err(py_error)
    }
}

#[pymethods]
impl Sample {
    #[new]
    #[pyo3(signature = (path, *, dbsnp=None, vcf_sample=None, base_url=None))]
    fn new(
        py: Python<'_>,
        path: PathBuf,
        dbsnp: Option<&Bound<'_, PyAny>>,
        vcf_sample: Option<String>,
        base_url: Option<String>,
    ) -> PyResult<Sample> {
        let dbsnp = dbsnp_argument(py, dbsnp)?;
        let options = SampleOptions {
            vcf_sample: vcf_sample.clone(),
        };
        let sample = py
            .detach(|| vcfq::Sample::open(&path, &options))
            .map_err(py_error)?;
        Ok(Sample {
            sample,
            path,
            dbsnp,
            vcf_sample,
            base_url: base_url.unwrap_or_else(|| DEFAULT_BASE_URL.to_string()),
        })
    }

    /// The VCF's path.
    #[getter]
    fn path(&self) -> String {
        path_text(&self.path)
    }

    /// The VCF sample column that fills `genotype`.
    #[getter]
    fn vcf_sample(&self) -> Option<String> {
        self.sample.sample_name().map(str::to_string)
    }

    /// The dbSNP map's directory, when there is one.
    #[getter]
    fn dbsnp(&self) -> Option<String> {
        self.dbsnp.as_ref().map(|(_, path)| path_text(path))
    }

    /// Answers a request with the exact response bytes the hosted API sends.
    #[pyo3(signature = (*, chromosome=None, position=None, start_position=None, end_position=None, rsid=None, limit=None, offset=None, schema="docs", base_url=None))]
    #[allow(clippy::too_many_arguments)]
    fn query<'py>(
        &self,
        py: Python<'py>,
        chromosome: Option<&Bound<'py, PyAny>>,
        position: Option<&Bound<'py, PyAny>>,
        start_position: Option<&Bound<'py, PyAny>>,
        end_position: Option<&Bound<'py, PyAny>>,
        rsid: Option<&Bound<'py, PyAny>>,
        limit: Option<&Bound<'py, PyAny>>,
        offset: Option<&Bound<'py, PyAny>>,
        schema: &str,
        base_url: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let request = RequestArgs {
            chromosome,
            position,
            start_position,
            end_position,
            rsid,
            limit,
            offset,
        }
        .request()?;
        let body = self.respond(py, &request, schema, base_url)?;
        body_object(py, &body)
    }

    /// Answers a request given as the hosted API's query string
    /// (`chromosome=chr19&position=44908684`, or a region such as `chr19:44908684`).
    #[pyo3(signature = (query, *, schema="docs", base_url=None))]
    fn query_string<'py>(
        &self,
        py: Python<'py>,
        query: &str,
        schema: &str,
        base_url: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let request =
            Request::parse_region_or_query(query).map_err(|error| py_error(error.into()))?;
        let body = self.respond(py, &request, schema, base_url)?;
        body_object(py, &body)
    }

    /// For `benches/python.py`: answers each query string in Rust alone (requests
    /// parsed first, GIL released) and returns each answer's time in seconds, the floor
    /// that `query` adds the Python call to.
    #[pyo3(signature = (queries, *, schema="docs"))]
    fn _time_in_rust(
        &self,
        py: Python<'_>,
        queries: Vec<String>,
        schema: &str,
    ) -> PyResult<Vec<f64>> {
        let requests = queries
            .iter()
            .map(|query| Request::parse_region_or_query(query))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| py_error(error.into()))?;
        let options = ResponseOptions {
            schema: parse_schema(schema)?,
            base_url: self.base_url.clone(),
            dbsnp: self.dbsnp.as_ref().map(|(map, _)| Arc::clone(map)),
        };
        py.detach(|| {
            requests
                .iter()
                .map(|request| {
                    let started = Instant::now();
                    let body = self.sample.respond(request, &options)?;
                    std::hint::black_box(body);
                    Ok(started.elapsed().as_secs_f64())
                })
                .collect::<Result<Vec<f64>, Error>>()
        })
        .map_err(py_error)
    }

    fn __repr__(&self) -> String {
        format!("vcfq.Sample({:?})", path_text(&self.path))
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let this = slf.get();
        let kwargs = PyDict::new(py);
        kwargs.set_item(
            "dbsnp",
            this.dbsnp.as_ref().map(|(_, path)| path_text(path)),
        )?;
        kwargs.set_item("vcf_sample", this.vcf_sample.clone())?;
        kwargs.set_item("base_url", this.base_url.clone())?;
        reduce_by_path(slf.as_any(), path_text(&this.path), kwargs)
    }
}

// ---------------------------------------------------------------------------------------
// Store

/// A sample registered in a store.
#[pyclass(frozen, module = "vcfq", name = "StoredSample", get_all)]
struct PyStoredSample {
    /// The sample's UUID.
    id: String,
    /// The VCF's path.
    vcf: String,
    /// Its index's path.
    index: String,
    /// The VCF's size in bytes when registered.
    size: u64,
    /// Its modification time when registered (Unix seconds).
    modified_unix_seconds: u64,
    /// Contig naming (`chr`-prefixed GRCh38).
    contig_naming: String,
    /// The VCF sample column used, when one was chosen.
    vcf_sample: Option<String>,
    /// When it was added (Unix seconds).
    added_unix_seconds: u64,
    /// Whether the requirements were checked when it was added.
    checked: bool,
}

impl From<StoredSample> for PyStoredSample {
    fn from(stored: StoredSample) -> PyStoredSample {
        PyStoredSample {
            id: stored.id,
            vcf: path_text(&stored.vcf),
            index: path_text(&stored.index),
            size: stored.size,
            modified_unix_seconds: stored.modified_unix_seconds,
            contig_naming: stored.contig_naming,
            vcf_sample: stored.vcf_sample,
            added_unix_seconds: stored.added_unix_seconds,
            checked: stored.checked,
        }
    }
}

#[pymethods]
impl PyStoredSample {
    fn __repr__(&self) -> String {
        format!("vcfq.StoredSample(id={:?}, vcf={:?})", self.id, self.vcf)
    }
}

/// One `(id, vcf)` or `(id, vcf, vcf_sample)` entry, from a tuple or a list.
fn sample_entry(item: &Bound<'_, PyAny>) -> Option<(String, PathBuf, Option<String>)> {
    if item.is_instance_of::<PyString>() {
        return None;
    }
    let parts: Vec<Bound<'_, PyAny>> = item.try_iter().ok()?.collect::<PyResult<_>>().ok()?;
    match &parts[..] {
        [id, vcf] => Some((id.extract().ok()?, vcf.extract().ok()?, None)),
        [id, vcf, vcf_sample] => Some((
            id.extract().ok()?,
            vcf.extract().ok()?,
            vcf_sample.extract().ok()?,
        )),
        _ => None,
    }
}

fn sample_id(id: &str) -> PyResult<SampleId> {
    SampleId::parse(id).map_err(py_error)
}

/// A sample store (`vcfq sample add`'s `samples.sqlite`): samples by UUID.
#[pyclass(frozen, module = "vcfq", name = "Store")]
struct Store {
    store: vcfq::store::Store,
}

#[pymethods]
impl Store {
    #[new]
    fn new(path: PathBuf) -> Store {
        Store {
            store: vcfq::store::Store::new(path),
        }
    }

    /// The store's directory.
    #[getter]
    fn path(&self) -> String {
        path_text(self.store.dir())
    }

    /// The sample registered under `id`; `NotFound` when there is none.
    fn get(&self, py: Python<'_>, id: &str) -> PyResult<PyStoredSample> {
        let id = sample_id(id)?;
        py.detach(|| self.store.get(&id))
            .map(PyStoredSample::from)
            .map_err(py_error)
    }

    /// Checks the VCF and registers it under `id`.
    #[pyo3(signature = (id, vcf, *, vcf_sample=None))]
    fn add(
        &self,
        py: Python<'_>,
        id: &str,
        vcf: PathBuf,
        vcf_sample: Option<String>,
    ) -> PyResult<PyStoredSample> {
        let id = sample_id(id)?;
        py.detach(|| self.store.add(&id, &vcf, vcf_sample))
            .map(PyStoredSample::from)
            .map_err(py_error)
    }

    /// Registers many samples, `[(id, vcf), ...]` or `[(id, vcf, vcf_sample), ...]`, in
    /// one transaction: all or none.
    #[pyo3(signature = (samples, *, defer_checks=false))]
    fn add_many(
        &self,
        py: Python<'_>,
        samples: &Bound<'_, PyAny>,
        defer_checks: bool,
    ) -> PyResult<Vec<PyStoredSample>> {
        let mut new = Vec::new();
        for item in samples.try_iter()? {
            let item = item?;
            let (id, vcf, vcf_sample) = sample_entry(&item).ok_or_else(|| {
                PyTypeError::new_err("each sample must be (id, vcf) or (id, vcf, vcf_sample)")
            })?;
            new.push(NewSample {
                id: sample_id(&id)?,
                vcf,
                vcf_sample,
            });
        }
        py.detach(|| self.store.add_many(new, defer_checks))
            .map(|added| added.into_iter().map(PyStoredSample::from).collect())
            .map_err(py_error)
    }

    /// Removes `id` and returns what it held.
    fn remove(&self, py: Python<'_>, id: &str) -> PyResult<PyStoredSample> {
        let id = sample_id(id)?;
        py.detach(|| self.store.remove(&id))
            .map(PyStoredSample::from)
            .map_err(py_error)
    }

    /// Every registered sample, by id.
    fn list(&self, py: Python<'_>) -> PyResult<Vec<PyStoredSample>> {
        py.detach(|| self.store.list())
            .map(|all| all.into_iter().map(PyStoredSample::from).collect())
            .map_err(py_error)
    }

    /// The sample `id`, opened as `vcfq query --sample` opens it (its `openapi` links
    /// start from its own URL).
    #[pyo3(signature = (id, *, dbsnp=None))]
    fn sample(
        &self,
        py: Python<'_>,
        id: &str,
        dbsnp: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Sample> {
        let id = sample_id(id)?;
        let dbsnp = dbsnp_argument(py, dbsnp)?;
        let (stored, sample) = py
            .detach(|| self.store.open_sample(&id))
            .map_err(py_error)?;
        Ok(Sample {
            sample,
            path: stored.vcf,
            dbsnp,
            vcf_sample: stored.vcf_sample,
            base_url: format!("{DEFAULT_BASE_URL}{API_PATH}{}", stored.id),
        })
    }

    fn __contains__(&self, py: Python<'_>, id: &Bound<'_, PyAny>) -> PyResult<bool> {
        let Ok(id) = id.cast::<PyString>() else {
            return Ok(false);
        };
        let Ok(id) = SampleId::parse(id.to_str()?) else {
            return Ok(false);
        };
        match py.detach(|| self.store.get(&id)) {
            Ok(_) => Ok(true),
            Err(error) if error.class() == ErrorClass::NotFound => Ok(false),
            Err(error) => Err(py_error(error)),
        }
    }

    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        py.detach(|| self.store.list())
            .map(|all| all.len())
            .map_err(py_error)
    }

    fn __repr__(&self) -> String {
        format!("vcfq.Store({:?})", path_text(self.store.dir()))
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        reduce_by_path(
            slf.as_any(),
            path_text(slf.get().store.dir()),
            PyDict::new(slf.py()),
        )
    }
}

// ---------------------------------------------------------------------------------------
// build_dbsnp_map

fn phase_name(phase: BuildPhase) -> &'static str {
    match phase {
        BuildPhase::Reading => "reading",
        BuildPhase::WritingRsids => "writing_rsids",
        BuildPhase::WritingAlleles => "writing_alleles",
        BuildPhase::WritingMerged => "writing_merged",
    }
}

/// How often a build hands progress to Python (and checks for Ctrl-C).
const PROGRESS_EVERY: Duration = Duration::from_millis(200);

/// Builds a dbSNP map (`vcfq dbsnp build`).
#[pyfunction]
#[pyo3(signature = (source, out, *, merged=None, memory_bytes=None, threads=None, progress=None))]
fn build_dbsnp_map<'py>(
    py: Python<'py>,
    source: &Bound<'py, PyAny>,
    out: PathBuf,
    merged: Option<PathBuf>,
    memory_bytes: Option<u64>,
    threads: Option<usize>,
    progress: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let sources: Vec<PathBuf> = match source.extract::<PathBuf>() {
        Ok(path) => vec![path],
        Err(_) => source
            .extract()
            .map_err(|_| PyTypeError::new_err("source must be a path or a list of paths"))?,
    };
    let Some(first) = sources.first().cloned() else {
        return Err(bad_request("source: give at least one dbSNP VCF"));
    };
    let mut options = BuildOptions::new(first, out);
    options.sources = sources;
    options.merged = merged;
    if let Some(memory_bytes) = memory_bytes {
        options.memory_bytes = memory_bytes;
    }
    if let Some(threads) = threads {
        options.threads = threads.max(1);
    }
    let interrupted = Arc::clone(&options.interrupted);
    // A Python exception from the callback or Ctrl-C: it stops the build and is raised.
    let mut raised: Option<PyErr> = None;
    let mut last: Option<Instant> = None;
    let mut last_phase = None;
    let result = py.detach(|| {
        build_map(&options, &mut |report: &BuildProgress| {
            let recent = last.is_some_and(|last| last.elapsed() < PROGRESS_EVERY);
            if raised.is_some() || (recent && last_phase == Some(report.phase)) {
                return;
            }
            last = Some(Instant::now());
            last_phase = Some(report.phase);
            Python::attach(|py| {
                let outcome = py.check_signals().and_then(|()| match &progress {
                    None => Ok(()),
                    Some(callback) => {
                        let values = PyDict::new(py);
                        values.set_item("phase", phase_name(report.phase))?;
                        values.set_item("rows_read", report.rows_read)?;
                        values.set_item("source_bytes_read", report.source_bytes_read)?;
                        values.set_item("source_bytes_total", report.source_bytes_total)?;
                        values.set_item("keys_written", report.keys_written)?;
                        callback.bind(py).call1((values,)).map(|_| ())
                    }
                });
                if let Err(error) = outcome {
                    raised = Some(error);
                    interrupted.store(true, Ordering::Relaxed);
                }
            });
        })
    });
    if let Some(error) = raised {
        return Err(error);
    }
    let summary = result.map_err(py_error)?;
    let text = serde_json::to_string(&summary.metadata)
        .map_err(|error| py_error(io_failure("writing the map's metadata", error)))?;
    json_loads(py, PyBytes::new(py, text.as_bytes()).as_any())
}

// ---------------------------------------------------------------------------------------
// Cohorts

/// The cohort's members from `samples` (and `store`).
fn cohort_members(
    py: Python<'_>,
    samples: Option<&Bound<'_, PyAny>>,
    store: Option<&Bound<'_, Store>>,
) -> PyResult<Vec<CohortMember>> {
    if let Some(store) = store {
        let store = &store.get().store;
        let listed = py.detach(|| store.list()).map_err(py_error)?;
        let Some(samples) = samples.filter(|samples| !samples.is_none()) else {
            return Ok(listed.into_iter().map(CohortMember::from_stored).collect());
        };
        if samples.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err(
                "with store=, samples must be a list of sample ids, not one string",
            ));
        }
        let by_id: std::collections::HashMap<String, StoredSample> = listed
            .into_iter()
            .map(|stored| (stored.id.clone(), stored))
            .collect();
        let mut members = Vec::new();
        for id in samples.try_iter()? {
            let id: String = id?.extract().map_err(|_| {
                PyTypeError::new_err("with store=, samples must be sample ids (str)")
            })?;
            let id = sample_id(&id)?;
            members.push(match by_id.get(id.as_str()) {
                Some(stored) => CohortMember::from_stored(stored.clone()),
                None => CohortMember {
                    id: id.as_str().to_string(),
                    source: MemberSource::NotInStore,
                },
            });
        }
        return Ok(members);
    }
    let Some(samples) = samples else {
        return Err(PyTypeError::new_err(
            "give samples: a manifest path, a dict of id -> VCF path, or (id, vcf) pairs",
        ));
    };
    if let Ok(manifest) = samples.extract::<PathBuf>() {
        return py
            .detach(|| vcfq::cohort::read_manifest(&manifest))
            .map_err(py_error);
    }
    let pairs: Vec<Bound<'_, PyAny>> = if let Ok(dict) = samples.cast::<PyDict>() {
        dict.items().iter().collect()
    } else {
        samples.try_iter()?.collect::<PyResult<_>>()?
    };
    let mut members = Vec::with_capacity(pairs.len());
    let mut seen = std::collections::HashSet::with_capacity(pairs.len());
    for (number, item) in pairs.iter().enumerate() {
        let (id, path, vcf_sample) = sample_entry(item).ok_or_else(|| {
            PyTypeError::new_err(format!(
                "samples[{number}]: each sample must be (id, vcf) or (id, vcf, vcf_sample)"
            ))
        })?;
        if id.is_empty() {
            return Err(bad_request(format!(
                "samples[{number}]: the sample id is empty"
            )));
        }
        if !seen.insert(id.clone()) {
            return Err(bad_request(format!(
                "samples[{number}]: sample id {id:?} is given twice"
            )));
        }
        members.push(CohortMember {
            id,
            source: MemberSource::Vcf { path, vcf_sample },
        });
    }
    Ok(members)
}

/// How a cohort call asked to be answered.
struct CohortCall {
    members: Vec<CohortMember>,
    request: Request,
    options: CohortOptions,
}

impl CohortCall {
    /// Answers every member with rows for the table, handing each answer to `sink`.
    fn run(
        &self,
        sink: impl FnMut(vcfq::cohort::SampleAnswer) -> Result<(), Error>,
    ) -> Result<vcfq::cohort::CohortSummary, Error> {
        let want = Want {
            body: false,
            rows: true,
        };
        run_cohort(&self.members, &self.request, &self.options, want, sink)
    }
}

#[allow(clippy::too_many_arguments)]
fn cohort_call(
    py: Python<'_>,
    samples: Option<&Bound<'_, PyAny>>,
    store: Option<&Bound<'_, Store>>,
    request: RequestArgs<'_, '_>,
    query: Option<&str>,
    dbsnp: Option<&Bound<'_, PyAny>>,
    schema: &str,
    base_url: Option<String>,
    threads: usize,
    fail_fast: bool,
) -> PyResult<CohortCall> {
    let request = match query {
        Some(query) => {
            if request.chromosome.is_some()
                || request.position.is_some()
                || request.start_position.is_some()
                || request.end_position.is_some()
                || request.rsid.is_some()
                || request.limit.is_some()
                || request.offset.is_some()
            {
                return Err(bad_request(
                    "give the request either as query= or as keywords, not both",
                ));
            }
            Request::parse_region_or_query(query).map_err(|error| py_error(error.into()))?
        }
        None => request.request()?,
    };
    let members = cohort_members(py, samples, store)?;
    let response = ResponseOptions {
        schema: parse_schema(schema)?,
        base_url: base_url
            .clone()
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_string()),
        dbsnp: dbsnp_argument(py, dbsnp)?.map(|(map, _)| map),
    };
    let options = CohortOptions {
        response,
        base_url_for_id: (store.is_some() && base_url.is_none())
            .then(|| Arc::new(|id: &str| format!("{DEFAULT_BASE_URL}{API_PATH}{id}")) as _),
        threads,
        fail_fast,
        interrupted: Some(Arc::new(AtomicBool::new(false))),
    };
    Ok(CohortCall {
        members,
        request,
        options,
    })
}

/// vcfq's cohort calls, behind `vcfq.cohort` (`mode` "table": a `pyarrow.Table`),
/// `vcfq.cohort_reader` ("stream": a `pyarrow.RecordBatchReader`) and
/// `vcfq.check_request` ("check": the request checked as every sample would check it,
/// rsIDs without a map refused; nothing answered).
#[pyfunction]
#[pyo3(signature = (mode, samples=None, *, store=None, chromosome=None, position=None, start_position=None, end_position=None, rsid=None, limit=None, offset=None, query=None, dbsnp=None, schema="docs", base_url=None, threads=0, fail_fast=false, batch_samples=None))]
#[allow(clippy::too_many_arguments)]
fn _cohort<'py>(
    py: Python<'py>,
    mode: &str,
    samples: Option<&Bound<'py, PyAny>>,
    store: Option<&Bound<'py, Store>>,
    chromosome: Option<&Bound<'py, PyAny>>,
    position: Option<&Bound<'py, PyAny>>,
    start_position: Option<&Bound<'py, PyAny>>,
    end_position: Option<&Bound<'py, PyAny>>,
    rsid: Option<&Bound<'py, PyAny>>,
    limit: Option<&Bound<'py, PyAny>>,
    offset: Option<&Bound<'py, PyAny>>,
    query: Option<&str>,
    dbsnp: Option<&Bound<'py, PyAny>>,
    schema: &str,
    base_url: Option<String>,
    threads: usize,
    fail_fast: bool,
    batch_samples: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let empty = PyList::empty(py);
    let call = cohort_call(
        py,
        if mode == "check" {
            Some(empty.as_any())
        } else {
            samples
        },
        store,
        RequestArgs {
            chromosome,
            position,
            start_position,
            end_position,
            rsid,
            limit,
            offset,
        },
        query,
        dbsnp,
        schema,
        base_url,
        threads,
        fail_fast,
    )?;
    match mode {
        "table" => cohort_table(py, call),
        "stream" => cohort_stream(py, call, batch_samples),
        "check" => {
            if matches!(call.request.query, vcfq::Query::Rsid { .. })
                && call.options.response.dbsnp.is_none()
            {
                return Err(py_error(ErrorKind::NoDbsnpMap.into()));
            }
            Ok(py.None().into_bound(py))
        }
        other => Err(PyTypeError::new_err(format!(
            "unknown cohort mode {other:?}"
        ))),
    }
}

/// The cohort's long table (the schema of `vcfq cohort --format arrow`), answered with
/// the GIL released; Ctrl-C stops it between samples.
fn cohort_table(py: Python<'_>, call: CohortCall) -> PyResult<Bound<'_, PyAny>> {
    let interrupted = call.options.interrupted.clone();
    let mut raised: Option<PyErr> = None;
    let mut last_check = Instant::now();
    let batches = py.detach(|| {
        let mut builder = BatchBuilder::default();
        let mut batches = Vec::new();
        call.run(|answer| {
            if last_check.elapsed() >= PROGRESS_EVERY {
                last_check = Instant::now();
                if let Err(error) = Python::attach(|py| py.check_signals()) {
                    raised = Some(error);
                    if let Some(flag) = &interrupted {
                        flag.store(true, Ordering::Relaxed);
                    }
                }
            }
            if let Some(batch) = builder.push(&answer)? {
                batches.push(batch);
            }
            Ok(())
        })?;
        if let Some(batch) = builder.finish()? {
            batches.push(batch);
        }
        Ok::<_, Error>(batches)
    });
    if let Some(error) = raised {
        return Err(error);
    }
    let batches = batches.map_err(py_error)?;
    let table = Table::try_new(batches, cohort_schema())
        .map_err(|error| py_error(io_failure("building the cohort table", error)))?;
    table.into_pyarrow(py)
}

fn io_failure(context: &str, error: impl std::fmt::Display) -> Error {
    ErrorKind::Io {
        context: context.to_string(),
        source: std::io::Error::other(error.to_string()),
    }
    .into()
}

/// Record batches from a cohort run on its own thread, handed over as they fill.
struct CohortStream {
    schema: SchemaRef,
    receiver: Mutex<Receiver<Result<RecordBatch, ArrowError>>>,
}

impl Iterator for CohortStream {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.receiver.get_mut().ok()?.recv().ok()
    }
}

impl RecordBatchReader for CohortStream {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
}

/// The cohort's long table as a `pyarrow.RecordBatchReader`: batches arrive while later
/// samples are still being answered; memory holds a few batches at most. A run that
/// stops with an error (`fail_fast`) ends the stream with that error.
fn cohort_stream(
    py: Python<'_>,
    call: CohortCall,
    batch_samples: Option<usize>,
) -> PyResult<Bound<'_, PyAny>> {
    if batch_samples == Some(0) {
        return Err(bad_request("batch_samples must be at least 1"));
    }
    let (sender, receiver) = sync_channel::<Result<RecordBatch, ArrowError>>(2);
    std::thread::Builder::new()
        .name("vcfq-cohort".to_string())
        .spawn(move || {
            let errors = sender.clone();
            let run = std::panic::AssertUnwindSafe(move || {
                let mut builder = BatchBuilder::default();
                let mut in_batch = 0;
                let result = call
                    .run(|answer| {
                        let mut full = builder.push(&answer)?;
                        in_batch += 1;
                        if full.is_none() && batch_samples.is_some_and(|size| in_batch >= size) {
                            full = builder.finish()?;
                        }
                        if let Some(batch) = full {
                            in_batch = 0;
                            // The reader was dropped: stop answering.
                            sender.send(Ok(batch)).map_err(|_| ErrorKind::Interrupted)?;
                        }
                        Ok(())
                    })
                    .and_then(|_| builder.finish());
                let last = match result {
                    Ok(Some(batch)) => Ok(batch),
                    Ok(None) => return,
                    Err(error) => Err(arrow_error(error.to_string())),
                };
                let _ = sender.send(last);
            });
            // A panic must not pass for the end of the stream (a short table).
            if std::panic::catch_unwind(run).is_err() {
                let _ = errors.send(Err(arrow_error(
                    "the cohort stopped on an internal error (a panic); the table is incomplete"
                        .to_string(),
                )));
            }
        })
        .map_err(|error| py_error(io_failure("starting the cohort thread", error)))?;
    let reader: Box<dyn RecordBatchReader + Send> = Box::new(CohortStream {
        schema: cohort_schema(),
        receiver: Mutex::new(receiver),
    });
    reader.into_pyarrow(py)
}

fn arrow_error(message: String) -> ArrowError {
    ArrowError::ExternalError(Box::new(PlainError(message)))
}

/// An error carried through Arrow as its message.
#[derive(Debug)]
struct PlainError(String);

impl std::fmt::Display for PlainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PlainError {}

/// A cohort manifest (`sample_id<TAB>vcf_path` a line, as `vcfq cohort --manifest`
/// reads it): `[(sample_id, vcf_path, vcf_sample), ...]`, relative paths taken from the
/// manifest's folder.
#[pyfunction]
fn read_manifest(py: Python<'_>, path: PathBuf) -> PyResult<Vec<(String, String, Option<String>)>> {
    let members = py
        .detach(|| vcfq::cohort::read_manifest(&path))
        .map_err(py_error)?;
    Ok(members
        .into_iter()
        .filter_map(|member| match member.source {
            MemberSource::Vcf { path, vcf_sample } => {
                Some((member.id, path_text(&path), vcf_sample))
            }
            MemberSource::Stored(_) | MemberSource::NotInStore => None,
        })
        .collect())
}

/// The names of the cohort table's columns, in order.
#[pyfunction]
fn cohort_columns() -> Vec<String> {
    cohort_schema()
        .fields()
        .iter()
        .map(|field| field.name().clone())
        .collect()
}

#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<Sample>()?;
    module.add_class::<DbsnpMap>()?;
    module.add_class::<Store>()?;
    module.add_class::<PyStoredSample>()?;
    module.add_function(wrap_pyfunction!(build_dbsnp_map, module)?)?;
    module.add_function(wrap_pyfunction!(_cohort, module)?)?;
    module.add_function(wrap_pyfunction!(cohort_columns, module)?)?;
    module.add_function(wrap_pyfunction!(read_manifest, module)?)?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
