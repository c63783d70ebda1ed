//! `vcfq sample add|list|remove|check`: the sample store.

use std::path::PathBuf;

use clap::Subcommand;
use vcfq::store::{SampleId, Store};
use vcfq::ErrorKind;

use super::args::StoreArgs;
use super::{print_stdout, Failure};

#[derive(Subcommand)]
pub(crate) enum SampleCommand {
    /// Check a VCF and register it under a UUID.
    Add {
        /// The sample id (a UUID).
        id: String,
        /// The sample's bgzipped, indexed GRCh38 VCF.
        vcf: PathBuf,
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
            id,
            vcf,
            vcf_sample,
            no_position_index,
            store,
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
