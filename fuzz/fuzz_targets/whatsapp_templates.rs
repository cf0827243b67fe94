//! Meta's template answers and webhooks (`GET /{waba_id}/message_templates`, the
//! `message_template_status_update` and `template_category_update` fields): never a panic, a
//! template's counts fit what it holds, and the fit check and routing decide on anything read.
#![no_main]

use cartback::core::playbook::Playbook;
use cartback::core::whatsapp::templates::{apply, parse_page, parse_updates, problems, sendable};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let playbook = Playbook::default();
    if let Some((mut list, next)) = std::str::from_utf8(data).ok().and_then(parse_page) {
        assert!(next.is_none_or(|c| !c.is_empty()));
        for t in &list {
            assert!(t.body_params <= t.body.as_deref().map_or(0, |b| b.len() / 4));
            for step in &playbook.steps {
                let _ = problems(step, t);
            }
            let _ = sendable(Some(t));
        }
        for update in parse_updates(data) {
            apply(&mut list, &update);
        }
    }
    for update in parse_updates(data) {
        assert!(!update.waba_id.is_empty());
    }
});
