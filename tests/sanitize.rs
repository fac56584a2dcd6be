//! Property tests of every sanitizing path (issue #8, item 2): whatever HTML or Markdown goes
//! in (script, style and frame tags, `on*` handlers, `javascript:`/`data:`/`vbscript:` URLs in
//! mixed case, behind entities and whitespace), what comes out and is shown on our pages
//! keeps none of it. Paths: our own posts (`render_post`) and bios (`markdown::render`),
//! received posts and replies (`object_to_remote_post`), and remote profiles
//! (`document_to_new_remote_actor`: the profile link shown on our pages).
//!
//! The output is read with the rules of html5ever's serializer, which ammonia writes with:
//! every `<` in text is escaped, so each `<` opens a tag, and every attribute value is
//! double-quoted with `&`, `"` and no-break spaces escaped.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use broadside::{
    domain::{markdown, render},
    federation::{
        objects::{remote_actor::document_to_new_remote_actor, remote_post::object_to_remote_post},
        protocol::actor::RemoteActorDocument,
    },
};
use proptest::prelude::*;
use serde_json::json;
use url::Url;

/// Elements that run script, load other documents, or change how the page is read.
const DANGEROUS_TAGS: [&str; 19] = [
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math",
    "form", "base", "meta", "link", "noscript", "template", "textarea", "xmp", "img",
];

/// Attributes that take a URL.
const URL_ATTRIBUTES: [&str; 8] = [
    "href",
    "src",
    "action",
    "formaction",
    "xlink:href",
    "data",
    "poster",
    "background",
];

/// One tag of serialized HTML: its name and attributes (values decoded).
#[derive(Debug)]
struct Tag {
    name: String,
    attributes: Vec<(String, String)>,
}

/// Reads the tags of ammonia's output; Err if it is not shaped as the serializer writes.
fn tags_of(html: &str) -> Result<Vec<Tag>, String> {
    let mut tags = Vec::new();
    let bytes = html.as_bytes();
    let mut i = 0;
    while let Some(offset) = html[i..].find('<') {
        i += offset + 1;
        if bytes.get(i) == Some(&b'!') || bytes.get(i) == Some(&b'?') {
            return Err(format!("a comment or declaration survived: {html}"));
        }
        if bytes.get(i) == Some(&b'/') {
            i += 1;
        }
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'-') {
            i += 1;
        }
        let name = html[start..i].to_ascii_lowercase();
        if name.is_empty() {
            return Err(format!("an unescaped `<` in text at {start}: {html}"));
        }
        let mut attributes = Vec::new();
        loop {
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            match bytes.get(i) {
                None => return Err(format!("unterminated tag: {html}")),
                Some(b'>') => {
                    i += 1;
                    break;
                }
                Some(b'/') if bytes.get(i + 1) == Some(&b'>') => {
                    i += 2;
                    break;
                }
                _ => {}
            }
            let start = i;
            while i < bytes.len() && !matches!(bytes[i], b'=' | b'>' | b' ' | b'/') {
                i += 1;
            }
            let attribute = html[start..i].to_ascii_lowercase();
            let mut value = String::new();
            if bytes.get(i) == Some(&b'=') {
                if bytes.get(i + 1) != Some(&b'"') {
                    return Err(format!("an unquoted attribute value: {html}"));
                }
                let from = i + 2;
                let len = html[from..]
                    .find('"')
                    .ok_or_else(|| format!("unterminated attribute value: {html}"))?;
                value = decode(&html[from..from + len]);
                i = from + len + 1;
            }
            attributes.push((attribute, value));
        }
        tags.push(Tag { name, attributes });
    }
    Ok(tags)
}

/// Decodes the character references a serializer writes, and numeric ones in case.
fn decode(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';') else { break };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "quot" => Some('"'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "nbsp" => Some('\u{a0}'),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A URL as a browser reads its scheme: tabs and newlines removed anywhere, leading and
/// trailing controls and spaces ignored, case ignored.
fn scheme_of(url: &str) -> Option<String> {
    let cleaned: String = url
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect::<String>()
        .trim_matches(|c: char| c.is_control() || c == ' ')
        .to_ascii_lowercase();
    let colon = cleaned.find(':')?;
    let before = &cleaned[..colon];
    let mut chars = before.chars();
    let is_scheme = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !is_scheme {
        return None; // a relative URL (`java%0Ascript:x` is a path), with a colon later on
    }
    Some(before.to_owned())
}

/// The invariants: no dangerous element, no event handler or inline style, and every URL
/// attribute a web or mail link.
fn assert_clean(html: &str, path: &str) {
    let tags = tags_of(html).unwrap_or_else(|e| panic!("{path}: {e}"));
    for tag in &tags {
        assert!(
            !DANGEROUS_TAGS.contains(&tag.name.as_str()),
            "{path}: <{}> kept in {html}",
            tag.name
        );
        for (name, value) in &tag.attributes {
            assert!(
                !name.starts_with("on"),
                "{path}: handler {name} kept in {html}"
            );
            assert!(
                !matches!(name.as_str(), "style" | "srcdoc"),
                "{path}: {name} kept in {html}"
            );
            if URL_ATTRIBUTES.contains(&name.as_str())
                && let Some(scheme) = scheme_of(value)
            {
                assert!(
                    matches!(scheme.as_str(), "http" | "https" | "mailto"),
                    "{path}: {name}={value:?} ({scheme}:) kept in {html}"
                );
            }
        }
    }
    // Belt and braces, whatever the tag reader makes of it. (Text may say "javascript:",
    // escaped and harmless; only tags and attributes matter.)
    let lower = html.to_ascii_lowercase();
    for needle in ["<script", "<style", "<iframe"] {
        assert!(!lower.contains(needle), "{path}: {needle} in {html}");
    }
}

fn mixed_case(word: &'static str) -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<bool>(), word.len()).prop_map(move |upper| {
        word.chars()
            .zip(upper)
            .map(|(c, up)| if up { c.to_ascii_uppercase() } else { c })
            .collect()
    })
}

/// `javascript:`, `data:` and `vbscript:` URLs, disguised the ways browsers forgive.
fn hostile_url() -> impl Strategy<Value = String> {
    let scheme = prop_oneof![
        mixed_case("javascript"),
        mixed_case("vbscript"),
        mixed_case("data"),
        Just("jav&#x09;ascript".to_owned()),
        Just("jav&#9;ascript".to_owned()),
        Just("&#106;avascript".to_owned()),
        Just("&#x6A;&#x61;vascript".to_owned()),
        Just("java\tscript".to_owned()),
        Just("java\nscript".to_owned()),
        Just("java&NewLine;script".to_owned()),
        Just("\u{1}javascript".to_owned()),
        Just(" javascript".to_owned()),
    ];
    let colon = prop_oneof![Just(":"), Just("&colon;"), Just("&#58;"), Just("&#x3a;")];
    let payload = prop_oneof![
        Just("alert(1)"),
        Just("alert%281%29"),
        Just("text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="),
        Just("msgbox(1)"),
    ];
    (scheme, colon, payload).prop_map(|(s, c, p)| format!("{s}{c}{p}"))
}

fn any_url() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => hostile_url(),
        1 => Just("https://example.org/a?b=c".to_owned()),
        1 => Just("/relative/path".to_owned()),
        1 => Just("mailto:press@example.org".to_owned()),
    ]
}

fn tag_name() -> impl Strategy<Value = String> {
    prop_oneof![
        mixed_case("script"),
        mixed_case("style"),
        mixed_case("iframe"),
        mixed_case("object"),
        mixed_case("embed"),
        mixed_case("svg"),
        mixed_case("math"),
        mixed_case("img"),
        mixed_case("form"),
        mixed_case("base"),
        mixed_case("meta"),
        mixed_case("link"),
        mixed_case("a"),
        mixed_case("p"),
        mixed_case("span"),
        mixed_case("template"),
        mixed_case("noscript"),
        mixed_case("textarea"),
    ]
}

fn attribute() -> impl Strategy<Value = String> {
    let handler = prop_oneof![
        mixed_case("onclick"),
        mixed_case("onerror"),
        mixed_case("onload"),
        mixed_case("onmouseover"),
        mixed_case("onfocus"),
    ];
    prop_oneof![
        handler.prop_map(|h| format!("{h}=\"alert(1)\"")),
        mixed_case("style").prop_map(|s| format!("{s}=\"background:url(javascript:alert(1))\"")),
        (
            prop_oneof![
                mixed_case("href"),
                mixed_case("src"),
                mixed_case("action"),
                mixed_case("formaction"),
                Just("xlink:href".to_owned()),
                mixed_case("srcdoc"),
            ],
            any_url(),
            prop_oneof![Just("\""), Just("'"), Just("")],
        )
            .prop_map(|(name, url, quote)| format!("{name}={quote}{url}{quote}")),
        Just("autofocus".to_owned()),
    ]
}

/// A fragment of hostile HTML.
fn html_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            tag_name(),
            proptest::collection::vec(attribute(), 0..3),
            "[a-z ]{0,8}"
        )
            .prop_map(|(tag, attributes, text)| format!(
                "<{tag} {}>{text}alert(1)</{tag}>",
                attributes.join(" ")
            )),
        (tag_name(), proptest::collection::vec(attribute(), 1..3))
            .prop_map(|(tag, attributes)| format!("<{tag}/{}>", attributes.join("/"))),
        Just("<!-- <script>alert(1)</script> -->".to_owned()),
        Just("<scr<script>ipt>alert(1)</script>".to_owned()),
        Just("<svg><script>alert(1)</script></svg>".to_owned()),
        Just("<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>".to_owned()),
        Just("<a href=\"java\u{0}script:alert(1)\">x</a>".to_owned()),
        Just("<img src=x onerror=alert(1)//".to_owned()),
        Just("<<script>>".to_owned()),
        "[a-zA-Z &;<>\"'=:/]{0,20}",
    ]
}

fn hostile_html() -> impl Strategy<Value = String> {
    proptest::collection::vec(html_piece(), 1..6).prop_map(|pieces| pieces.concat())
}

/// Hostile Markdown: raw HTML, and links, images and autolinks to hostile URLs.
fn hostile_markdown() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        html_piece(),
        any_url().prop_map(|url| format!("[click]({url})")),
        any_url().prop_map(|url| format!("![alt]({url})")),
        any_url().prop_map(|url| format!("<{url}>")),
        any_url().prop_map(|url| format!("[ref][r]\n\n[r]: {url}\n")),
        Just("#tag @someone@example.org".to_owned()),
        Just("\n\n".to_owned()),
        Just("```\n<script>alert(1)</script>\n```\n".to_owned()),
    ];
    proptest::collection::vec(piece, 1..6).prop_map(|pieces| pieces.join(" "))
}

fn base() -> Url {
    Url::parse("https://news.example").unwrap()
}

proptest! {
    // Failures are reported with their minimal input; nothing is written next to the tests.
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    // Covers: our own posts, as publishing renders them (Markdown with hashtags and mentions).
    #[test]
    fn our_posts_keep_no_script(markdown_text in hostile_markdown()) {
        let rendered = render::render_post(&markdown_text, &base(), &[]);
        assert_clean(&rendered.html, "render_post");
    }

    // Covers: our own Markdown elsewhere (an account's bio, profile fields).
    #[test]
    fn our_markdown_keeps_no_script(markdown_text in hostile_markdown()) {
        assert_clean(&markdown::render(&markdown_text), "markdown::render");
    }

    // Covers: HTML from anywhere through the one sanitizer, twice (it is a fixed point).
    #[test]
    fn sanitized_html_keeps_no_script_and_is_stable(html in hostile_html()) {
        let once = markdown::sanitize(&html);
        assert_clean(&once, "sanitize");
        prop_assert_eq!(markdown::sanitize(&once), once);
    }

    // Covers: remote posts and replies (content, summary and link) as they are stored and
    // shown on the allies page, the editor's network page and under our posts.
    #[test]
    fn remote_posts_keep_no_script(content in hostile_html(), summary in hostile_html(), url in any_url()) {
        let actor = Url::parse("https://ally.example/users/ally").unwrap();
        let json = json!({
            "id": "https://ally.example/notes/1", "type": "Note",
            "attributedTo": actor.as_str(), "content": content, "summary": summary,
            "url": url, "contentMap": {"en": content},
        });
        let post = object_to_remote_post(&json, &actor, 1).unwrap();
        assert_clean(&post.content, "remote content");
        assert_clean(post.summary.as_deref().unwrap_or_default(), "remote summary");
        if let Some(url) = post.url {
            prop_assert!(matches!(url.scheme(), "http" | "https"), "{}", url);
        }
    }

    // Covers: remote profiles: the profile link we show is a web page, never a script URL
    // (the name is kept as text and escaped by the templates).
    #[test]
    fn remote_profiles_link_only_to_web_pages(url in any_url(), name in hostile_html()) {
        let document: RemoteActorDocument = serde_json::from_value(json!({
            "id": "https://ally.example/users/ally", "type": "Organization", "name": name,
            "inbox": "https://ally.example/users/ally/inbox",
            "url": [url, {"type": "Link", "href": url}],
            "publicKey": {"id": "https://ally.example/users/ally#main-key",
                          "owner": "https://ally.example/users/ally", "publicKeyPem": "k"},
        }))
        .unwrap();
        let actor = document_to_new_remote_actor(document).unwrap();
        if let Some(url) = actor.url {
            prop_assert!(matches!(url.scheme(), "http" | "https"), "{}", url);
        }
    }
}

// Covers: the checker itself finds what it looks for, so a passing property means something.
#[test]
fn the_checker_catches_each_case() {
    for bad in [
        "<script>alert(1)</script>",
        "<p onclick=\"x\">a</p>",
        "<a href=\"JaVa&#x09;Script:alert(1)\">a</a>",
        "<a href=\"data:text/html,x\">a</a>",
        "<p style=\"x\">a</p>",
        "<iframe></iframe>",
        "a <b",
    ] {
        let result = std::panic::catch_unwind(|| assert_clean(bad, "checker"));
        assert!(result.is_err(), "{bad} passed the checker");
    }
    assert_clean(
        "<p><a href=\"https://x.example/?a=1&amp;b=2\" rel=\"nofollow\">x</a> &lt;script&gt;</p>",
        "checker",
    );
}
