//! What `broadside export` writes for a post, without touching disk or database: its file
//! name (`YYYY-MM-DD-slug`), its Markdown file (YAML front matter, then the body as written)
//! and where its images go. `cli/export.rs` reads the store and writes the files.
//!
//! Front matter values are written as JSON scalars and flow sequences, which YAML reads as
//! the same values: no quoting rule of YAML's own can bite (a title of `no`, `#`, `: `…).

use std::collections::HashSet;

use chrono::SecondsFormat;
use serde_json::{Value, json};
use url::Url;

use crate::{
    domain::{Post, PostKind},
    federation::urls,
};

/// The folder of an account's images inside its export folder, linked relatively.
pub const MEDIA_FOLDER: &str = "media";

/// The longest slug, in characters.
const MAX_SLUG: usize = 60;

/// A file-name-safe form of the post's title (or, for untitled news, the start of its text):
/// letters and digits lowercased, every other run of characters one `-`.
pub fn slug(post: &Post) -> String {
    let source = post.title.as_deref().unwrap_or(&post.excerpt);
    let mut slug = String::new();
    let mut dash = false;
    for c in source.chars() {
        if c.is_alphanumeric() {
            if dash && !slug.is_empty() {
                slug.push('-');
            }
            dash = false;
            slug.extend(c.to_lowercase());
            if slug.chars().count() >= MAX_SLUG {
                break;
            }
        } else {
            dash = true;
        }
    }
    if slug.is_empty() {
        "post".to_owned()
    } else {
        slug
    }
}

/// `YYYY-MM-DD-slug` by the publication date (creation, if never published). A name already
/// `taken` in the account's folder gets the post id added. Posts are named in id order, so
/// the same posts get the same names in every export.
pub fn file_stem(post: &Post, taken: &mut HashSet<String>) -> String {
    let date = post
        .published_at
        .unwrap_or(post.created_at)
        .format("%Y-%m-%d");
    let mut stem = format!("{date}-{}", slug(post));
    if !taken.insert(stem.clone()) {
        stem = format!("{stem}-{}", post.id);
        taken.insert(stem.clone());
    }
    stem
}

/// The Markdown file: front matter, a blank line, then the body exactly as written.
pub fn markdown(post: &Post, username: &str, base: &Url) -> String {
    let ap_id = urls::post(base, username, post.id);
    let url = post.original_url.clone().unwrap_or_else(|| ap_id.clone());
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or(Value::Null, |t| {
            Value::String(t.to_rfc3339_opts(SecondsFormat::Secs, true))
        })
    };
    let media: Vec<Value> = post
        .media
        .iter()
        .map(|m| {
            json!({
                "file": format!("{MEDIA_FOLDER}/{}", m.file_name),
                "type": m.media_type,
                "alt": m.alt,
                "width": m.width,
                "height": m.height,
            })
        })
        .collect();
    // The other language versions, whole: the body below is the post's own language only.
    let translations: Vec<Value> = post
        .translations
        .iter()
        .map(|t| {
            json!({
                "language": t.language.as_str(),
                "title": t.title,
                "summary": t.summary,
                "body": t.body_md,
            })
        })
        .collect();
    let fields: [(&str, Value); 16] = [
        ("title", json!(post.title)),
        ("summary", json!(post.summary)),
        ("language", json!(post.language.to_string())),
        (
            "kind",
            json!(match post.kind {
                PostKind::Statement => "statement",
                PostKind::News => "news",
            }),
        ),
        ("state", json!(post.state.as_str())),
        ("published", time(post.published_at)),
        ("updated", time(post.edited_at)),
        ("deleted", time(post.deleted_at)),
        ("url", json!(url.as_str())),
        ("ap_id", json!(ap_id.as_str())),
        ("hashtags", json!(post.tags)),
        ("account", json!(username)),
        ("id", json!(post.id)),
        ("pinned", json!(post.pinned_at.is_some())),
        ("media", Value::Array(media)),
        ("translations", Value::Array(translations)),
    ];
    let mut out = String::from("---\n");
    for (key, value) in fields {
        out.push_str(key);
        out.push_str(": ");
        out.push_str(&value.to_string());
        out.push('\n');
    }
    out.push_str("---\n\n");
    out.push_str(&post.body_md);
    if !post.body_md.ends_with('\n') {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::domain::{Language, PostState};

    fn post(title: Option<&str>, excerpt: &str) -> Post {
        let at = chrono::DateTime::from_timestamp(1_764_000_000, 0).unwrap();
        Post {
            id: 7,
            actor_id: 1,
            kind: PostKind::Statement,
            state: PostState::Published,
            title: title.map(str::to_owned),
            summary: None,
            body_md: "We *stand* with them.".into(),
            body_html: String::new(),
            excerpt: excerpt.into(),
            language: Language::parse("en").unwrap(),
            tags: vec!["strike".into()],
            mentions: Vec::new(),
            media: Vec::new(),
            pinned_at: None,
            scheduled_at: None,
            author_id: None,
            published_at: Some(at),
            edited_at: None,
            deleted_at: None,
            created_at: at,
            updated_at: at,
            original_url: None,
            cosigners: Vec::new(),
            translations: Vec::new(),
        }
    }

    #[test]
    fn slugs_keep_letters_and_digits() {
        assert_eq!(
            slug(&post(Some("On the Strike: 2026!"), "")),
            "on-the-strike-2026"
        );
        assert_eq!(slug(&post(Some("Über Ärger"), "")), "über-ärger");
        assert_eq!(slug(&post(None, "The start, of news")), "the-start-of-news");
        assert_eq!(slug(&post(Some("!!!"), "")), "post");
        assert_eq!(slug(&post(Some(&"a".repeat(200)), "")).len(), MAX_SLUG);
    }

    #[test]
    fn a_second_post_of_the_same_name_gets_its_id() {
        let mut taken = HashSet::new();
        let first = post(Some("Same"), "");
        let mut second = post(Some("Same"), "");
        second.id = 9;
        assert_eq!(file_stem(&first, &mut taken), "2025-11-24-same");
        assert_eq!(file_stem(&second, &mut taken), "2025-11-24-same-9");
    }

    #[test]
    fn front_matter_values_are_json_scalars() {
        let mut p = post(Some("no: \"quoted\" # not a comment"), "");
        p.summary = Some("line one\nline two".into());
        let text = markdown_for(&p, "isg");
        let (front, body) = text
            .strip_prefix("---\n")
            .unwrap()
            .split_once("---\n\n")
            .unwrap();
        assert_eq!(body, "We *stand* with them.\n");
        let title = front.lines().find(|l| l.starts_with("title: ")).unwrap();
        let value: Value = serde_json::from_str(&title["title: ".len()..]).unwrap();
        assert_eq!(value, "no: \"quoted\" # not a comment");
        assert!(front.contains("summary: \"line one\\nline two\"\n"));
        assert!(front.contains("hashtags: [\"strike\"]\n"));
        assert!(front.contains("published: \"2025-11-24T16:00:00Z\"\n"));
    }

    /// Covers the export of language versions: each is in the front matter, whole.
    #[test]
    fn front_matter_lists_the_translations() {
        let mut p = post(Some("On the strike"), "");
        assert!(markdown_for(&p, "isg").contains("translations: []\n"));
        p.translations.push(crate::domain::Translation {
            language: Language::parse("es").unwrap(),
            title: Some("Sobre la huelga".into()),
            summary: None,
            body_md: "Estamos *con* ellas.".into(),
            body_html: String::new(),
            excerpt: String::new(),
            tags: Vec::new(),
            updated_at: p.created_at,
        });
        let text = markdown_for(&p, "isg");
        let line = text
            .lines()
            .find(|l| l.starts_with("translations: "))
            .unwrap();
        let value: Value = serde_json::from_str(&line["translations: ".len()..]).unwrap();
        assert_eq!(
            value,
            json!([{"language": "es", "title": "Sobre la huelga", "summary": null,
                    "body": "Estamos *con* ellas."}])
        );
    }

    fn markdown_for(post: &Post, username: &str) -> String {
        let base = Url::parse("https://isg.example/").unwrap();
        let ap_id = urls::post(&base, username, post.id);
        let text = markdown(post, username, &base);
        assert!(text.contains(&format!("ap_id: \"{ap_id}\"\n")));
        text
    }
}
