//! `vcfq index`: write position indexes.

use std::path::PathBuf;

use super::{print_stdout, Failure};

/// Writes each VCF's position index, `threads` at once (0: one per core), printing a
/// line per VCF in the order given; the first failure is the command's.
pub(crate) fn run(vcfs: &[PathBuf], threads: usize) -> Result<(), Failure> {
    use rayon::prelude::*;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|error| {
            Failure::Io("starting threads".to_string(), std::io::Error::other(error))
        })?;
    // A window at a time, so that lines come out as the work goes.
    let window = pool.current_num_threads() * 4;
    for chunk in vcfs.chunks(window) {
        let results: Vec<_> = pool.install(|| {
            chunk
                .par_iter()
                .map(|vcf| {
                    let started = std::time::Instant::now();
                    vcfq::index::write_position_index(vcf)
                        .map(|summary| (summary, started.elapsed().as_secs_f64()))
                })
                .collect()
        });
        for result in results {
            let (summary, seconds) = result?;
            print_stdout(&format!(
                "wrote {} ({} records, {} blocks, {} bytes) in {seconds:.2} s\n",
                summary.path.display(),
                summary.records,
                summary.blocks,
                summary.bytes,
            ))?;
        }
    }
    Ok(())
}
