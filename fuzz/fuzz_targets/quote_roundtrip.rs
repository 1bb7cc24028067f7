#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rolesh_fuzz::quote_roundtrip(data));
