//! Fuzzes WebFinger on both sides: the `resource` a client asks our server for
//! (`well_known::parse_resource`, with `Handle::parse`), and the JRD another server answers
//! ours with (`webfinger::actor_in_jrd`).
#![no_main]

use broadside::{domain::Handle, federation::webfinger, web::well_known};
use libfuzzer_sys::fuzz_target;
use url::Url;

fuzz_target!(|data: &[u8]| {
    let Ok(base) = Url::parse("https://news.example") else {
        return;
    };
    let handle = Handle {
        user: "isg".into(),
        host: "social.example".into(),
    };
    if let Ok(actor) = webfinger::actor_in_jrd(data, &handle) {
        // The JRD parse reads only URLs.
        assert!(!actor.as_str().is_empty());
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(parsed) = Handle::parse(text) {
        // A handle reads back as itself.
        assert_eq!(Handle::parse(&parsed.to_string()), Ok(parsed));
    }
    let _ = well_known::parse_resource(text, &base, "news.example");
});
