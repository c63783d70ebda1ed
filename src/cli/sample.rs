//! `vcfq sample add|list|remove|check`: the sample store.

use std::path::PathBuf;

use clap::Subcommand;
use vcfq::store::{SampleId, Store};
use vcfq::ErrorKind;

use super::args::StoreArgs;
use super::{print_stdout, Failure};

#[derive(Subcommand)]
pub(crate) enum SampleCommand {
    /// Check a VCF and register it under a UUID (or many, from a manifest, in one
    /// transaction).
    Add {
        /// The sample id (a UUID).
        #[arg(required_unless_present = "manifest")]
        id: Option<String>,
        /// The sample's bgzipped, indexed GRCh38 VCF.
        #[arg(required_unless_present = "manifest")]
        vcf: Option<PathBuf>,
        /// Many samples: `sample_id<TAB>vcf_path` a line (ids are UUIDs; paths relative
        /// to the manifest), added all or none.
        #[arg(short, long, value_name = "FILE", conflicts_with_all = ["id", "vcf", "vcf_sample"])]
        manifest: Option<PathBuf>,
        /// With --manifest: record the samples without opening them (size and time only);
        /// their requirements are checked when each is first used.
        #[arg(long, requires = "manifest")]
        defer_checks: bool,
        /// With --manifest: samples checked at once (default: one per core).
        #[arg(short, long, value_name = "N", requires = "manifest")]
        threads: Option<usize>,
        /// The sample column that fills `genotype` (default: the first).
        #[arg(long, value_name = "NAME")]
        vcf_sample: Option<String>,
        /// Do not write the position index (VCF.vcfqidx) beside the VCF.
        #[arg(long)]
        no_position_index: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List the registered samples.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Forget a sample (its files are not touched).
    Remove {
        id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Re-run the requirements for one sample (or all) and say what changed.
    Check {
        id: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub(crate) fn run(command: SampleCommand) -> Result<(), Failure> {
    match command {
        SampleCommand::Add {
            manifest: Some(manifest),
            defer_checks,
            threads,
            no_position_index,
            store,
            ..
        } => add_manifest(&manifest, defer_checks, threads, no_position_index, &store),
        SampleCommand::Add {
            id: Some(id),
            vcf: Some(vcf),
            vcf_sample,
            no_position_index,
            store,
            ..
        } => {
            let id = SampleId::parse(&id)?;
            let stored = Store::new(&store.store).add(&id, &vcf, vcf_sample)?;
            print_stdout(&format!(
                "added {} -> {} (index {}, contigs named {})\n",
                stored.id,
                stored.vcf.display(),
                stored.index.display(),
                stored.contig_naming
            ))?;
            // The position index speeds up one-query processes; without it (say, the
            // VCF's directory is read-only) queries use the tabix index.
            if !no_position_index {
                match vcfq::index::write_position_index(&stored.vcf) {
                    Ok(summary) => print_stdout(&format!(
                        "wrote the position index {}\n",
                        summary.path.display()
                    ))?,
                    Err(error) => eprintln!(
                        "vcfq: note: no position index written ({error}); queries use the tabix index"
                    ),
                }
            }
            Ok(())
        }
        SampleCommand::Add { .. } => Err(Failure::Usage(
            "give ID and VCF, or --manifest FILE".to_string(),
        )),
        SampleCommand::List { store } => {
            let mut text = String::new();
            for stored in Store::new(&store.store).list()? {
                text.push_str(&format!(
                    "{}\t{}\t{} bytes\t{}\n",
                    stored.id,
                    stored.vcf.display(),
                    stored.size,
                    stored.contig_naming
                ));
            }
            print_stdout(&text)
        }
        SampleCommand::Remove { id, store } => {
            let id = SampleId::parse(&id)?;
            let removed = Store::new(&store.store).remove(&id)?;
            print_stdout(&format!(
                "removed {} ({})\n",
                removed.id,
                removed.vcf.display()
            ))
        }
        SampleCommand::Check { id, store } => {
            let id = id.as_deref().map(SampleId::parse).transpose()?;
            let results = Store::new(&store.store).check(id.as_ref())?;
            let mut text = String::new();
            let mut failed = 0;
            for result in &results {
                match &result.problem {
                    None if result.changes.is_empty() => {
                        text.push_str(&format!("{}: ok\n", result.id))
                    }
                    None => text.push_str(&format!(
                        "{}: ok, but {}\n",
                        result.id,
                        result.changes.join("; ")
                    )),
                    Some(problem) => {
                        failed += 1;
                        text.push_str(&format!("{}: FAILS: {problem}\n", result.id));
                    }
                }
            }
            print_stdout(&text)?;
            if failed > 0 {
                return Err(Failure::Vcfq(
                    ErrorKind::Store {
                        path: store.store.clone(),
                        message: format!(
                            "{failed} of {} samples fail their requirements",
                            results.len()
                        ),
                    }
                    .into(),
                ));
            }
            Ok(())
        }
    }
}

/// `vcfq sample add --manifest`: every line checked (in parallel) or recorded as is
/// (`--defer-checks`), then added in one transaction; position indexes written after,
/// in parallel, for the checked ones.
fn add_manifest(
    manifest: &std::path::Path,
    defer_checks: bool,
    threads: Option<usize>,
    no_position_index: bool,
    store: &StoreArgs,
) -> Result<(), Failure> {
    let started = std::time::Instant::now();
    let members = vcfq::cohort::read_manifest(manifest)?;
    let mut samples = Vec::with_capacity(members.len());
    for member in members {
        let id = SampleId::parse(&member.id)
            .map_err(|error| Failure::Usage(format!("manifest {}: {error}", manifest.display())))?;
        let vcfq::cohort::MemberSource::Vcf { path, vcf_sample } = member.source else {
            continue;
        };
        samples.push(vcfq::store::NewSample {
            id,
            vcf: path,
            vcf_sample,
        });
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .build()
        .map_err(|error| {
            Failure::Io("starting threads".to_string(), std::io::Error::other(error))
        })?;
    let added = pool.install(|| Store::new(&store.store).add_many(samples, defer_checks))?;
    let mut indexed = 0;
    if !defer_checks && !no_position_index {
        use rayon::prelude::*;
        let notes: Vec<String> = pool.install(|| {
            added
                .par_iter()
                .filter_map(|stored| {
                    vcfq::index::write_position_index(&stored.vcf)
                        .err()
                        .map(|error| {
                            format!(
                                "vcfq: note: {}: no position index written ({error})",
                                stored.id
                            )
                        })
                })
                .collect()
        });
        indexed = added.len() - notes.len();
        for note in notes {
            eprintln!("{note}");
        }
    }
    print_stdout(&format!(
        "added {} samples{} in {:.1} s{}\n",
        added.len(),
        if defer_checks {
            " (checks deferred to first use)"
        } else {
            ""
        },
        started.elapsed().as_secs_f64(),
        if indexed > 0 {
            format!("; wrote {indexed} position indexes")
        } else {
            String::new()
        }
    ))
}
