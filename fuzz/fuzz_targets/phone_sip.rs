#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sluss_fuzz_targets::phone_sip(data));
