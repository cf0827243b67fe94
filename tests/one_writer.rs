//! The shop's record (Shopify grant, WhatsApp connection, playbook) has one writer, the shop's
//! ledger: a copy anyone else wrote back could resurrect a deleted token or undo a reconnect.
//! Any other module that calls one of KV's record writers fails this test.

mod common;

use common::rust_files;
use std::fs;
use std::path::Path;

const WRITERS: &[&str] = &[
    "store::put_shop(",
    "store::put_playbook(",
    "store::put_number(",
    "store::delete_number(",
    "store::forget_shop(",
];

#[test]
fn only_the_shop_ledger_writes_the_shop_record() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let ledger = src.join("objects/shop_ledger");
    let mut files = vec![];
    rust_files(&src, &mut files);
    let offenders: Vec<String> = files
        .iter()
        .filter(|path| !path.starts_with(&ledger))
        .flat_map(|path| {
            let source = fs::read_to_string(path).expect("readable source");
            WRITERS
                .iter()
                .filter(move |w| source.contains(*w))
                .map(move |w| format!("{} calls {w}", path.display()))
        })
        .collect();
    assert!(offenders.is_empty(), "{offenders:#?}");
    let ledger_source = fs::read_to_string(ledger.join("record.rs")).expect("record.rs");
    assert!(
        ledger_source.contains("store::put_shop("),
        "the ledger is the writer"
    );
}
