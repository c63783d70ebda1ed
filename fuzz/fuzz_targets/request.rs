//! The request parser: arbitrary bytes as a query string.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| vcfq::fuzzing::request(data));
