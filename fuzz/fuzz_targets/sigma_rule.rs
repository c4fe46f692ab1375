#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| harrier_fuzz::sigma_rule(data));
