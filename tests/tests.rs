//! Integration tests: the real `vcfq` binary and library on the files in `testdata/`.

mod batch;
mod cli;
mod cohort;
mod concurrency;
mod dbsnp;
mod edge;
mod ergonomics;
mod faults;
mod files;
mod fuzz_replay;
mod golden;
mod library;
mod position_index;
pub mod reliability;
mod selfcheck;
mod serve;
mod typed;
mod util;
mod workload;
