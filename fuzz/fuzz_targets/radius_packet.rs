//! RADIUS decode-and-handle: arbitrary bytes through the codecs and through
//! `server::process` of both listeners, as received and re-signed. The body
//! lives in `../harness/radius_packet.rs`, shared with the stable test
//! `tests/it/fuzz_corpus.rs`.

#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

#[path = "../harness/radius_packet.rs"]
mod harness;

fn harness() -> &'static harness::Harness {
    static HARNESS: OnceLock<harness::Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let profiles = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ap-profiles");
        match harness::Harness::new(&profiles) {
            Ok(h) => h,
            Err(e) => panic!("fuzz harness set-up failed: {e}"),
        }
    })
}

fuzz_target!(|data: &[u8]| harness().run(data));
