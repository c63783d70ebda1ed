//! `vcfq index`: write position indexes.

use std::path::PathBuf;

use super::{print_stdout, Failure};

pub(crate) fn run(vcfs: &[PathBuf]) -> Result<(), Failure> {
    for vcf in vcfs {
        let started = std::time::Instant::now();
        let summary = vcfq::index::write_position_index(vcf)?;
        print_stdout(&format!(
            "wrote {} ({} records, {} blocks, {} bytes) in {:.2} s\n",
            summary.path.display(),
            summary.records,
            summary.blocks,
            summary.bytes,
            started.elapsed().as_secs_f64()
        ))?;
    }
    Ok(())
}
