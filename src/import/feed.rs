//! RSS 2.0 and Atom 1.0 feeds read into [`Source`] items, with the `rss` and
//! `atom_syndication` crates.

use atom_syndication::TextType;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use url::Url;

use super::{Item, ParseError, Source, content};
use crate::domain::Language;

/// Reads an RSS 2.0 or Atom document, told apart by its root element.
pub fn parse(bytes: &[u8]) -> Result<Source, ParseError> {
    match root_element(bytes).as_deref() {
        Some("rss") => parse_rss(bytes),
        Some("feed") => parse_atom(bytes),
        Some(other) => Err(ParseError::Format(format!(
            "the document's root element is <{other}>, not <rss> (RSS 2.0) or <feed> (Atom)"
        ))),
        None => Err(ParseError::Format("the document is not XML".into())),
    }
}

/// The name of the first element, skipping the XML declaration, comments and doctype.
pub(super) fn root_element(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(64 * 1024)]);
    let mut rest: &str = &text;
    loop {
        let start = rest.find('<')?;
        rest = &rest[start + 1..];
        if rest.starts_with('?') || rest.starts_with('!') {
            continue;
        }
        let end = rest.find(|c: char| c.is_whitespace() || c == '>' || c == '/')?;
        return Some(rest[..end].to_owned());
    }
}

fn parse_rss(bytes: &[u8]) -> Result<Source, ParseError> {
    let channel =
        rss::Channel::read_from(bytes).map_err(|e| ParseError::Format(format!("RSS: {e}")))?;
    let site = Url::parse(channel.link()).ok();
    let items = channel
        .items()
        .iter()
        .map(|item| rss_item(item, site.as_ref()))
        .collect();
    Ok(Source {
        items,
        language: channel.language().and_then(|l| Language::parse(l).ok()),
    })
}

/// An RSS item. `site` is the channel's link: it resolves relative item links and scopes GUIDs
/// that are not addresses (`<guid isPermaLink="false">42</guid>`).
pub(super) fn rss_item(item: &rss::Item, site: Option<&Url>) -> Item {
    let link = item.link().and_then(|l| resolve(l, site)).or_else(|| {
        item.guid()
            .filter(|g| g.is_permalink())
            .and_then(|g| resolve(g.value(), site))
    });
    let (html, summary) = match (item.content(), item.description()) {
        (Some(content), description) if !content.trim().is_empty() => {
            (content.to_owned(), description.map(str::to_owned))
        }
        (_, description) => (description.unwrap_or_default().to_owned(), None),
    };
    let published = item.pub_date().and_then(parse_date).or_else(|| {
        item.dublin_core_ext()
            .and_then(|dc| dc.dates().first())
            .and_then(|d| parse_date(d))
    });
    let title = item.title().map(str::to_owned);
    let key = match item
        .guid()
        .map(|g| g.value().trim())
        .filter(|g| !g.is_empty())
    {
        Some(guid) => scoped_key(guid, site),
        None => match &link {
            Some(link) => link.to_string(),
            None => content_key(&[title.as_deref(), item.pub_date(), Some(&html)]),
        },
    };
    Item {
        key,
        title,
        published,
        html,
        summary,
        link,
        categories: item
            .categories()
            .iter()
            .map(|c| c.name().to_owned())
            .collect(),
        excluded: None,
    }
}

fn parse_atom(bytes: &[u8]) -> Result<Source, ParseError> {
    let feed = atom_syndication::Feed::read_from(bytes)
        .map_err(|e| ParseError::Format(format!("Atom: {e}")))?;
    let site = alternate(feed.links()).and_then(|l| resolve(l, None));
    let items = feed
        .entries()
        .iter()
        .map(|entry| {
            let link = alternate(entry.links()).and_then(|l| resolve(l, site.as_ref()));
            let (html, summary) = match (entry.content(), entry.summary()) {
                (Some(content), summary) if content.src().is_none() => {
                    let value = content.value().unwrap_or_default();
                    let html = match content.content_type() {
                        Some("html" | "xhtml") => value.to_owned(),
                        _ => format!("<p>{}</p>", escape(value)),
                    };
                    (html, summary.map(text_html))
                }
                (_, summary) => (summary.map(text_html).unwrap_or_default(), None),
            };
            let title = Some(text_plain(entry.title())).filter(|t| !t.is_empty());
            let published = entry
                .published()
                .unwrap_or(entry.updated())
                .with_timezone(&Utc);
            let key = match entry.id().trim() {
                "" => link
                    .as_ref()
                    .map(Url::to_string)
                    .unwrap_or_else(|| content_key(&[title.as_deref(), Some(&html)])),
                id => scoped_key(id, site.as_ref()),
            };
            Item {
                key,
                title,
                published: Some(published),
                html,
                summary,
                link,
                categories: entry
                    .categories()
                    .iter()
                    .map(|c| c.label().unwrap_or(c.term()).to_owned())
                    .collect(),
                excluded: None,
            }
        })
        .collect();
    Ok(Source {
        items,
        language: feed.lang().and_then(|l| Language::parse(l).ok()),
    })
}

fn alternate(links: &[atom_syndication::Link]) -> Option<&str> {
    links
        .iter()
        .find(|l| l.rel() == "alternate")
        .map(atom_syndication::Link::href)
}

/// An Atom text construct as HTML.
fn text_html(text: &atom_syndication::Text) -> String {
    match text.r#type {
        TextType::Html | TextType::Xhtml => text.value.clone(),
        TextType::Text => format!("<p>{}</p>", escape(&text.value)),
    }
}

/// An Atom text construct as plain text.
fn text_plain(text: &atom_syndication::Text) -> String {
    match text.r#type {
        TextType::Html | TextType::Xhtml => content::text(&content::clean(&text.value, None)),
        TextType::Text => text.value.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// An absolute http(s) address, resolving a relative one against `base`.
pub(super) fn resolve(link: &str, base: Option<&Url>) -> Option<Url> {
    let link = link.trim();
    let url = match base {
        Some(base) => base.join(link).ok()?,
        None => Url::parse(link).ok()?,
    };
    matches!(url.scheme(), "http" | "https").then_some(url)
}

/// An item's key: an address or URN is unique by itself; anything else (a number, a slug) only
/// within its site, so it is prefixed with the site's address.
pub(super) fn scoped_key(id: &str, site: Option<&Url>) -> String {
    if id.contains(':') {
        return id.to_owned();
    }
    match site {
        Some(site) => format!("{site}#{id}"),
        None => format!("id:{id}"),
    }
}

/// A key for an item with neither id nor link: a hash of what it says.
pub(super) fn content_key(parts: &[Option<&str>]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.unwrap_or_default().as_bytes());
        hash.update([0]);
    }
    let digest = hash.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// RFC 2822 (RSS) or RFC 3339 (Atom, Dublin Core) dates.
pub(super) fn parse_date(value: &str) -> Option<DateTime<Utc>> {
    let value = value.trim();
    DateTime::parse_from_rfc2822(value)
        .or_else(|_| DateTime::parse_from_rfc3339(value))
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_element_tells_the_format() {
        assert_eq!(
            root_element(b"<?xml version=\"1.0\"?>\n<!-- x --><rss version=\"2.0\">").as_deref(),
            Some("rss")
        );
        assert_eq!(
            root_element(b"<feed xmlns=\"http://www.w3.org/2005/Atom\">").as_deref(),
            Some("feed")
        );
        assert!(parse(b"<html><body>no</body></html>").is_err());
    }

    #[test]
    fn keys_that_are_not_addresses_are_scoped_to_their_site() {
        let site = Url::parse("https://blog.example/").unwrap();
        assert_eq!(scoped_key("42", Some(&site)), "https://blog.example/#42");
        assert_eq!(
            scoped_key("urn:uuid:1225c695", Some(&site)),
            "urn:uuid:1225c695"
        );
    }

    #[test]
    fn rss_and_atom_dates_are_read() {
        assert_eq!(
            parse_date("Mon, 15 Jan 2024 10:30:00 GMT").map(|d| d.to_rfc3339()),
            Some("2024-01-15T10:30:00+00:00".into())
        );
        assert_eq!(
            parse_date("2024-01-15T12:30:00+02:00").map(|d| d.to_rfc3339()),
            Some("2024-01-15T10:30:00+00:00".into())
        );
    }
}
