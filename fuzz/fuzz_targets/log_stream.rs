#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| harrier_fuzz::log_stream(data));
