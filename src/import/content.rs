//! Imported HTML made publishable: images become links to where they are hosted (nothing is
//! downloaded), relative links are made absolute against the original page, and the result
//! goes through the same sanitizer as every other post ([`markdown::sanitize`]).

use std::fmt::Write as _;

use ammonia::UrlRelative;
use url::Url;

use crate::domain::markdown;

/// Cleans an item's HTML. `base` is the item's original address, against which relative links
/// and image sources are resolved; without it they are dropped (on our site they would point
/// to pages we do not have).
pub fn clean(html: &str, base: Option<&Url>) -> String {
    // A first, lenient pass keeps images and makes the markup well formed, so the rewriting
    // below only meets quoted attributes and closed elements.
    let relative = match base {
        Some(base) => UrlRelative::RewriteWithBase(base.clone()),
        None => UrlRelative::Deny,
    };
    let lenient = ammonia::Builder::default()
        .url_relative(relative)
        .link_rel(None)
        .clean(html)
        .to_string();
    markdown::sanitize(&images_to_links(&lenient))
}

/// Plain text of (sanitized) HTML, with blocks separated by a space, for excerpts and titles.
pub fn text(html: &str) -> String {
    let mut out = String::new();
    for token in tokens(html) {
        match token {
            Token::Text(text) => out.push_str(&unescape(text)),
            Token::Tag { name, .. } if is_block(name) => out.push(' '),
            Token::Tag { .. } => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// WordPress's classic editor stores text with blank lines for paragraphs instead of `<p>`
/// (WordPress adds them when it shows the post, `wpautop`); this does the same for text that
/// has no paragraph markup. `[caption]` shortcodes around images are removed, their content
/// kept.
pub fn wordpress_paragraphs(content: &str) -> String {
    let content = strip_caption_shortcodes(content);
    let lower = content.to_ascii_lowercase();
    if lower.contains("<p") || lower.contains("<div") || lower.contains("<br") {
        return content;
    }
    let mut out = String::new();
    let normalized = content.replace("\r\n", "\n");
    for paragraph in normalized.split("\n\n") {
        let paragraph = paragraph.trim();
        if paragraph.is_empty() {
            continue;
        }
        let _ = writeln!(out, "<p>{}</p>", paragraph.replace('\n', "<br>\n"));
    }
    out
}

fn strip_caption_shortcodes(content: &str) -> String {
    let mut out = String::with_capacity(content.len());
    let mut rest = content;
    let next = |text: &str| {
        [text.find("[caption"), text.find("[/caption]")]
            .into_iter()
            .flatten()
            .min()
    };
    while let Some(start) = next(rest) {
        out.push_str(&rest[..start]);
        match rest[start..].find(']') {
            Some(end) => rest = &rest[start + end + 1..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// `<img src alt>` → `<a href="src">Image: alt</a>`. Inside a link only the words stay (the
/// link usually leads to the full image already).
fn images_to_links(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_link = 0_u32;
    for token in tokens(html) {
        match token {
            Token::Text(text) => out.push_str(text),
            Token::Tag {
                name,
                closing,
                raw,
                attrs,
            } => {
                if name == "a" {
                    if closing {
                        in_link = in_link.saturating_sub(1);
                    } else {
                        in_link += 1;
                    }
                }
                if name != "img" {
                    out.push_str(raw);
                    continue;
                }
                let alt = attribute(attrs, "alt")
                    .map(|a| unescape(&a))
                    .unwrap_or_default();
                let label = match alt.trim() {
                    "" => "Image".to_owned(),
                    alt => format!("Image: {alt}"),
                };
                let label = escape_text(&label);
                match attribute(attrs, "src").map(|s| unescape(&s)) {
                    Some(src) if in_link == 0 => {
                        let _ = write!(out, "<a href=\"{}\">{label}</a>", escape_attribute(&src));
                    }
                    _ => out.push_str(&label),
                }
            }
        }
    }
    out
}

#[derive(Debug, PartialEq, Eq)]
enum Token<'a> {
    Text(&'a str),
    Tag {
        /// Lower case, without `/`.
        name: &'a str,
        closing: bool,
        /// The whole tag as written, `<` to `>`.
        raw: &'a str,
        /// What follows the name inside the tag.
        attrs: &'a str,
    },
}

/// Splits serialized HTML (as ammonia writes it: attributes quoted, no comments) into text and
/// tags. A `>` inside a quoted attribute does not end the tag.
fn tokens(html: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let bytes = html.as_bytes();
    let mut i = 0;
    let mut text_start = 0;
    while i < bytes.len() {
        if bytes[i] != b'<' {
            i += 1;
            continue;
        }
        let mut end = i + 1;
        let mut quote: Option<u8> = None;
        while end < bytes.len() {
            match (quote, bytes[end]) {
                (None, b'>') => break,
                (None, q @ (b'"' | b'\'')) => quote = Some(q),
                (Some(q), c) if c == q => quote = None,
                _ => {}
            }
            end += 1;
        }
        if end >= bytes.len() {
            break;
        }
        if text_start < i {
            tokens.push(Token::Text(&html[text_start..i]));
        }
        let inner = &html[i + 1..end];
        let closing = inner.starts_with('/');
        let inner = inner.trim_start_matches('/');
        let name_end = inner
            .find(|c: char| c.is_whitespace() || c == '/')
            .unwrap_or(inner.len());
        tokens.push(Token::Tag {
            name: &inner[..name_end],
            closing,
            raw: &html[i..=end],
            attrs: &inner[name_end..],
        });
        i = end + 1;
        text_start = i;
    }
    if text_start < html.len() {
        tokens.push(Token::Text(&html[text_start..]));
    }
    tokens
}

/// The value of a double-quoted attribute, still escaped.
fn attribute(attrs: &str, name: &str) -> Option<String> {
    let mut rest = attrs;
    while let Some(eq) = rest.find("=\"") {
        let key = rest[..eq].trim().rsplit(char::is_whitespace).next()?;
        let value_start = eq + 2;
        let value_len = rest[value_start..].find('"')?;
        let value = &rest[value_start..value_start + value_len];
        if key.eq_ignore_ascii_case(name) {
            return Some(value.to_owned());
        }
        rest = &rest[value_start + value_len + 1..];
    }
    None
}

fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "br"
            | "li"
            | "ul"
            | "ol"
            | "blockquote"
            | "pre"
            | "div"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "tr"
            | "td"
    )
}

/// Undoes the escapes an HTML serializer writes (and numeric references).
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';').filter(|&s| s <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
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

fn escape_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn escape_attribute(value: &str) -> String {
    escape_text(value).replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://blog.example/2024/01/strike/").unwrap()
    }

    #[test]
    fn scripts_and_handlers_go_and_images_become_links() {
        let html = clean(
            "<p>Hello <script>alert(1)</script><img src=\"/img/a.jpg\" alt=\"Picket &amp; line\" onerror=\"x()\"></p>",
            Some(&base()),
        );
        assert!(!html.contains("script"), "{html}");
        assert!(!html.contains("alert"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(
            html.contains(
                "<a href=\"https://blog.example/img/a.jpg\" rel=\"nofollow noopener noreferrer\">Image: Picket &amp; line</a>"
            ),
            "{html}"
        );
    }

    #[test]
    fn an_image_inside_a_link_leaves_its_words_only() {
        let html = clean(
            "<a href=\"https://img.example/big.jpg\"><img src=\"https://img.example/small.jpg\"></a>",
            None,
        );
        assert_eq!(
            html,
            "<a href=\"https://img.example/big.jpg\" rel=\"nofollow noopener noreferrer\">Image</a>"
        );
    }

    #[test]
    fn relative_links_without_a_base_are_dropped() {
        let html = clean("<p><a href=\"/about\">About</a></p>", None);
        assert!(!html.contains("/about"), "{html}");
        assert!(html.contains("About"), "{html}");
    }

    #[test]
    fn text_separates_blocks_and_decodes_entities() {
        assert_eq!(
            text("<p>One &amp; <b>two</b></p><p>three&nbsp;&lt;4&gt;</p>"),
            "One & two three <4>"
        );
    }

    #[test]
    fn wordpress_blank_lines_become_paragraphs() {
        assert_eq!(
            wordpress_paragraphs(
                "First line\nsecond\n\n[caption id=\"x\"]<img src=\"a.jpg\"> A[/caption] \
                 [caption]B[/caption]"
            ),
            "<p>First line<br>\nsecond</p>\n<p><img src=\"a.jpg\"> A B</p>\n"
        );
        assert_eq!(wordpress_paragraphs("<p>Kept</p>"), "<p>Kept</p>");
    }
}
