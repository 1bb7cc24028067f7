#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rolesh_fuzz::config_edit(data));
