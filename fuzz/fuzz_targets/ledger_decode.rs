#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rolesh_fuzz::ledger_decode(data));
