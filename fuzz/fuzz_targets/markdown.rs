//! Fuzzes Markdown → HTML (`markdown::render`, `render::render_post`) and the sanitizer on
//! raw HTML, asserting its invariants: no script, style or frame element, no event handler
//! or inline style, no `javascript:`, `data:` or `vbscript:` link.
#![no_main]

use broadside::domain::{markdown, render};
use libfuzzer_sys::fuzz_target;
use url::Url;

const DANGEROUS_TAGS: [&str; 8] = [
    "script", "style", "iframe", "object", "embed", "svg", "math", "img",
];

/// Checks serialized output: every `<` in text is escaped, so each one opens a tag; attribute
/// values are double-quoted.
fn assert_clean(html: &str) {
    let lower = html.to_ascii_lowercase();
    for (at, _) in lower.match_indices('<') {
        let tag = &lower[at + 1..];
        let tag = tag.strip_prefix('/').unwrap_or(tag);
        let end = tag.find('>').unwrap_or(tag.len());
        let inside = &tag[..end];
        let name: String = inside
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        assert!(!name.is_empty(), "an unescaped < in {html}");
        assert!(
            !DANGEROUS_TAGS.contains(&name.as_str()),
            "<{name}> in {html}"
        );
        // Attribute names follow a space; values are quoted, so split on quotes first.
        let parts: Vec<&str> = inside.split('"').collect();
        for (n, part) in parts.iter().enumerate() {
            if n % 2 == 1 {
                let name = parts[n - 1].trim_end().trim_end_matches('=');
                let name = name.rsplit(' ').next().unwrap_or_default();
                if !matches!(
                    name,
                    "href" | "src" | "action" | "formaction" | "xlink:href"
                ) {
                    continue; // a title may say anything
                }
                let value = part
                    .replace("&amp;", "&")
                    .replace("&quot;", "\"")
                    .replace("&nbsp;", "\u{a0}");
                if let Some(scheme) = scheme_of(&value) {
                    assert!(
                        !matches!(scheme.as_str(), "javascript" | "vbscript" | "data"),
                        "{scheme}: in {html}"
                    );
                }
                continue;
            }
            for attribute in part.split_whitespace().skip(usize::from(n == 0)) {
                let attribute = attribute.trim_start_matches('/');
                assert!(
                    !attribute.starts_with("on") && !attribute.starts_with("style"),
                    "{attribute} in {html}"
                );
            }
        }
    }
}

/// A URL's scheme as a browser reads it: tabs and newlines removed anywhere, leading and
/// trailing controls and spaces ignored, case ignored; None for a relative URL (a control
/// character inside `java\u{10}script:` makes it a path, not a scheme).
fn scheme_of(url: &str) -> Option<String> {
    let cleaned: String = url
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect::<String>()
        .trim_matches(|c: char| c.is_control() || c == ' ')
        .to_ascii_lowercase();
    let (before, _) = cleaned.split_once(':')?;
    let mut chars = before.chars();
    let is_scheme = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    is_scheme.then(|| before.to_owned())
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    assert_clean(&markdown::render(text));
    assert_clean(&markdown::sanitize(text));
    if let Ok(base) = Url::parse("https://news.example") {
        assert_clean(&render::render_post(text, &base, &[]).html);
    }
});
