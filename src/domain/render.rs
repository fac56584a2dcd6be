//! Post bodies: Markdown to the HTML fediverse software displays, with `#hashtags` linked to
//! tag pages and `@name@host` mentions linked to the accounts they name, as Mastodon marks
//! them up (`class="mention hashtag"`, `h-card`), and a plain-text excerpt for previews.

use std::fmt::Write as _;

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd, html};
use url::Url;

use super::{Handle, Mention, markdown};

/// A rendered body and the hashtags it uses (without `#`, as written, first use first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub html: String,
    pub tags: Vec<String>,
}

fn options() -> Options {
    Options::ENABLE_STRIKETHROUGH | Options::ENABLE_SMART_PUNCTUATION
}

/// The `@name@host` handles a body mentions, outside code and links, each once.
pub fn mentioned_handles(markdown_text: &str) -> Vec<Handle> {
    let mut handles: Vec<Handle> = Vec::new();
    for text in plain_texts(markdown_text, false) {
        for token in tokens(&text) {
            if let Token::Mention(handle) = token
                && !handles.contains(&handle)
            {
                handles.push(handle);
            }
        }
    }
    handles
}

/// Renders a post body. Mentions that were resolved become links; others stay text.
pub fn render_post(markdown_text: &str, base: &Url, mentions: &[Mention]) -> Rendered {
    let mut tags: Vec<String> = Vec::new();
    let mut in_code = 0_u32;
    let mut in_link = 0_u32;
    let mut events: Vec<Event<'_>> = Vec::new();
    for event in Parser::new_ext(markdown_text, options()) {
        match &event {
            Event::Start(Tag::CodeBlock(_)) => in_code += 1,
            Event::End(TagEnd::CodeBlock) => in_code = in_code.saturating_sub(1),
            Event::Start(Tag::Link { .. }) => in_link += 1,
            Event::End(TagEnd::Link) => in_link = in_link.saturating_sub(1),
            _ => {}
        }
        match event {
            Event::Text(text) if in_code == 0 && in_link == 0 => {
                let linked = link_tokens(&text, base, mentions, &mut tags);
                events.push(Event::InlineHtml(CowStr::from(linked)));
            }
            other => events.push(other),
        }
    }
    let mut raw = String::with_capacity(markdown_text.len() * 3 / 2);
    html::push_html(&mut raw, events.into_iter());
    Rendered {
        html: markdown::sanitize(&raw),
        tags,
    }
}

/// Plain text from the start of a body, cut at a word boundary, for previews.
pub fn excerpt(markdown_text: &str, max_chars: usize) -> String {
    first_words(&plain_texts(markdown_text, true).join(" "), max_chars)
}

/// The same for received content, which is sanitized HTML, not Markdown (a remote post or a
/// reply): tags dropped, the ends of blocks and line breaks read as spaces.
pub fn html_excerpt(html: &str, max_chars: usize) -> String {
    first_words(&html_text(html), max_chars)
}

/// The text of sanitized HTML. Sanitizing escaped every `<` in text, so each `<` opens a tag.
fn html_text(html: &str) -> String {
    let mut text = String::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            rest = "";
            break;
        };
        let tag = rest[open + 1..open + close].trim_start_matches('/');
        let name = tag
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if matches!(
            name.as_str(),
            "p" | "br" | "div" | "li" | "blockquote" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6"
        ) {
            text.push(' ');
        }
        rest = &rest[open + close + 1..];
    }
    text.push_str(rest);
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

/// At most `max_chars` of `text`, cut between words, with `…` if cut.
fn first_words(text: &str, max_chars: usize) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out = String::new();
    for word in words {
        let needed = out.chars().count() + usize::from(!out.is_empty()) + word.chars().count();
        if needed > max_chars {
            if out.is_empty() {
                out = word.chars().take(max_chars.saturating_sub(1)).collect();
            }
            out.push('…');
            return out;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// The text of each block of a body, outside code blocks; inline code only if asked.
fn plain_texts(markdown_text: &str, inline_code: bool) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current = String::new();
    let mut in_code = 0_u32;
    for event in Parser::new_ext(markdown_text, options()) {
        match event {
            Event::Start(Tag::CodeBlock(_)) => in_code += 1,
            Event::End(TagEnd::CodeBlock) => in_code = in_code.saturating_sub(1),
            Event::Text(text) if in_code == 0 => current.push_str(&text),
            Event::Code(code) if inline_code => current.push_str(&code),
            Event::SoftBreak | Event::HardBreak => current.push(' '),
            Event::End(
                TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item | TagEnd::BlockQuote(_),
            ) => {
                if !current.trim().is_empty() {
                    blocks.push(std::mem::take(&mut current));
                }
                current.clear();
            }
            _ => {}
        }
    }
    if !current.trim().is_empty() {
        blocks.push(current);
    }
    blocks
}

#[derive(Debug, PartialEq, Eq)]
enum Token {
    Text(String),
    Hashtag(String),
    Mention(Handle),
}

fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Splits text into plain runs, `#hashtags` and `@name@host` mentions. A hashtag or mention
/// starts a word (so `a#b` and `mail@example.org` are text) and a hashtag has a letter.
fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut plain = String::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let starts_word =
            i == 0 || !(is_tag_char(chars[i - 1]) || chars[i - 1] == '@' || chars[i - 1] == '#');
        if starts_word && chars[i] == '#' {
            let word: String = chars[i + 1..]
                .iter()
                .take_while(|c| is_tag_char(**c))
                .collect();
            if word.chars().any(char::is_alphabetic) {
                flush(&mut out, &mut plain);
                i += 1 + word.chars().count();
                out.push(Token::Hashtag(word));
                continue;
            }
        }
        if starts_word && chars[i] == '@' {
            let rest: String = chars[i..]
                .iter()
                .take_while(|c| is_tag_char(**c) || matches!(c, '@' | '.' | '-' | ':'))
                .collect();
            // A trailing full stop ends the sentence, not the host name.
            let candidate = rest.trim_end_matches(['.', ':', '-']);
            if candidate.matches('@').count() == 2
                && let Ok(handle) = Handle::parse(candidate)
                && handle.host.contains('.')
                    | handle.host.contains(':')
                    | (handle.host == "localhost")
            {
                flush(&mut out, &mut plain);
                i += candidate.chars().count();
                out.push(Token::Mention(handle));
                continue;
            }
        }
        plain.push(chars[i]);
        i += 1;
    }
    flush(&mut out, &mut plain);
    out
}

fn flush(out: &mut Vec<Token>, plain: &mut String) {
    if !plain.is_empty() {
        out.push(Token::Text(std::mem::take(plain)));
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// HTML for one text run with its hashtags and resolved mentions linked.
fn link_tokens(text: &str, base: &Url, mentions: &[Mention], tags: &mut Vec<String>) -> String {
    let mut out = String::with_capacity(text.len());
    for token in tokens(text) {
        match token {
            Token::Text(plain) => out.push_str(&escape(&plain)),
            Token::Hashtag(tag) => {
                let href = tag_url(base, &tag);
                let _ = write!(
                    out,
                    "<a href=\"{}\" class=\"mention hashtag\">#<span>{}</span></a>",
                    escape(href.as_str()),
                    escape(&tag)
                );
                if !tags.iter().any(|t| t.eq_ignore_ascii_case(&tag)) {
                    tags.push(tag);
                }
            }
            Token::Mention(handle) => {
                let written = handle.to_string();
                match mentions
                    .iter()
                    .find(|m| m.name.eq_ignore_ascii_case(&written))
                {
                    Some(mention) => {
                        let _ = write!(
                            out,
                            "<span class=\"h-card\"><a href=\"{}\" class=\"u-url mention\">@<span>{}</span></a></span>",
                            escape(mention.href.as_str()),
                            escape(&handle.user)
                        );
                    }
                    None => out.push_str(&escape(&written)),
                }
            }
        }
    }
    out
}

/// The page listing posts with a hashtag. Tags are case-insensitive: the URL is lower case.
pub fn tag_url(base: &Url, tag: &str) -> Url {
    let mut url = base.clone();
    url.set_path(&format!("/tags/{}", tag.to_lowercase()));
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_excerpts_read_received_html_as_text() {
        let html = "<p>Fedify saluda a la <a href=\"https://isg.test/tags/huelga\" class=\"mention hashtag\">#<span>huelga</span></a> &amp; más</p><p>Segundo<br>párrafo</p>";
        assert_eq!(
            html_excerpt(html, 80),
            "Fedify saluda a la #huelga & más Segundo párrafo"
        );
        assert_eq!(html_excerpt(html, 12), "Fedify…");
        assert_eq!(html_excerpt("plain &lt;b&gt;", 80), "plain <b>");
    }

    fn base() -> Url {
        Url::parse("https://isg.example").unwrap()
    }

    #[test]
    fn hashtags_are_linked_and_collected() {
        let rendered = render_post("Solidarity with #Workers and #huelga2026!", &base(), &[]);
        assert!(rendered.html.contains(
            "<a href=\"https://isg.example/tags/workers\" class=\"mention hashtag\" rel=\"nofollow noopener noreferrer\">#<span>Workers</span></a>"
        ), "{}", rendered.html);
        assert_eq!(rendered.tags, vec!["Workers", "huelga2026"]);
    }

    #[test]
    fn numbers_anchors_and_code_are_not_hashtags() {
        let rendered = render_post(
            "Issue #42, a#b and `#code`\n\n```\n#nope\n```",
            &base(),
            &[],
        );
        assert!(rendered.tags.is_empty(), "{:?}", rendered.tags);
    }

    #[test]
    fn resolved_mentions_become_h_cards_and_others_stay_text() {
        let mention = Mention {
            name: "@ally@peer.example".into(),
            href: Url::parse("https://peer.example/users/ally").unwrap(),
            inbox: Url::parse("https://peer.example/inbox").unwrap(),
        };
        let rendered = render_post(
            "With @ally@peer.example and @other@else.example.",
            &base(),
            &[mention],
        );
        assert!(rendered.html.contains("<span class=\"h-card\"><a href=\"https://peer.example/users/ally\" class=\"u-url mention\""), "{}", rendered.html);
        assert!(
            rendered.html.contains("@other@else.example."),
            "{}",
            rendered.html
        );
    }

    #[test]
    fn mentions_are_found_outside_code_and_email_addresses_are_not_mentions() {
        let handles =
            mentioned_handles("Hi @ally@peer.example. Mail press@isg.example, not `@x@y.example`.");
        assert_eq!(handles, vec![Handle::parse("@ally@peer.example").unwrap()]);
    }

    #[test]
    fn excerpts_cut_at_word_boundaries() {
        let text = "# Title\n\nWe stand **together** with the strikers.\n\nSecond paragraph.";
        assert_eq!(
            excerpt(text, 500),
            "Title We stand together with the strikers. Second paragraph."
        );
        assert_eq!(excerpt(text, 20), "Title We stand…");
        assert_eq!(excerpt("Supercalifragilistic", 6), "Super…");
    }

    #[test]
    fn html_in_text_is_escaped_or_sanitized() {
        let rendered = render_post(
            "<script>x</script> #tag <b onclick=x>bold</b>",
            &base(),
            &[],
        );
        assert!(
            !rendered.html.contains("<script") && !rendered.html.contains("onclick"),
            "{}",
            rendered.html
        );
    }
}
