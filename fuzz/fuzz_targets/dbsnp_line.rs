//! The dbSNP ingest line parser: arbitrary bytes as one data line.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| vcfq::fuzzing::dbsnp_line(data));
