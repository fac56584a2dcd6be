//! Markdown in, HTML that fediverse software displays safely out.

use std::collections::HashSet;

use pulldown_cmark::{Options, Parser, html};

/// Renders Markdown and sanitizes the result: only the elements Mastodon and its peers keep
/// survive, links carry `rel="nofollow noopener noreferrer"`, and only web and mail links stay.
pub fn render(markdown: &str) -> String {
    let options = Options::ENABLE_STRIKETHROUGH | Options::ENABLE_SMART_PUNCTUATION;
    let mut raw = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut raw, Parser::new_ext(markdown, options));
    sanitize(&raw)
}

/// Cleans HTML from any source to the subset that is published.
pub fn sanitize(html: &str) -> String {
    let tags: HashSet<&str> = [
        "p",
        "br",
        "a",
        "span",
        "strong",
        "b",
        "em",
        "i",
        "u",
        "del",
        "s",
        "code",
        "pre",
        "blockquote",
        "ul",
        "ol",
        "li",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
    ]
    .into_iter()
    .collect();
    let classes = [
        ("a", ["mention", "hashtag", "u-url"].into_iter().collect()),
        ("span", ["h-card"].into_iter().collect()),
    ]
    .into_iter()
    .collect();
    ammonia::Builder::new()
        .tags(tags)
        .allowed_classes(classes)
        .link_rel(Some("nofollow noopener noreferrer"))
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .clean(html)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_paragraphs_emphasis_and_links() {
        let html = render("We *stand* with [them](https://example.org).");
        assert_eq!(
            html,
            "<p>We <em>stand</em> with <a href=\"https://example.org\" rel=\"nofollow noopener noreferrer\">them</a>.</p>\n"
        );
    }

    #[test]
    fn strips_scripts_handlers_and_javascript_urls() {
        let html = render(
            "<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[x](javascript:alert%281%29)",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
        assert!(!html.contains("href=\"javascript"), "{html}");
        assert!(html.contains(">x<"), "the link text stays: {html}");
    }
}
