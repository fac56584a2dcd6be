//! WordPress exports (WXR: RSS 2.0 with the `wp:` and `excerpt:` namespaces) read into
//! [`Source`] items. Only published posts are imported: pages, drafts, private, pending,
//! scheduled, trashed and password-protected entries, attachments and menu items are kept
//! as excluded items, so the summary can count them.

use chrono::{DateTime, NaiveDateTime, Utc};
use url::Url;

use super::{ParseError, Source, content, feed};
use crate::domain::Language;

/// The namespace every WXR version (1.0 to 1.2) starts with.
const WP_NAMESPACE: &str = "http://wordpress.org/export/";

pub fn parse(bytes: &[u8]) -> Result<Source, ParseError> {
    if feed::root_element(bytes).as_deref() != Some("rss") {
        return Err(ParseError::Format(
            "not a WordPress export (WXR): the root element is not <rss>".into(),
        ));
    }
    let channel = rss::Channel::read_from(bytes)
        .map_err(|e| ParseError::Format(format!("WordPress export: {e}")))?;
    // Prefixes as the file declares them (WordPress writes `wp` and `excerpt`).
    let prefix_for = |suffix: &str, default: &str| {
        channel
            .namespaces()
            .iter()
            .find(|(_, uri)| uri.starts_with(WP_NAMESPACE) && uri.ends_with(suffix))
            .map_or_else(|| default.to_owned(), |(prefix, _)| prefix.clone())
    };
    let wp = channel
        .namespaces()
        .iter()
        .find(|(_, uri)| uri.starts_with(WP_NAMESPACE) && !uri.contains("/excerpt"))
        .map_or_else(|| "wp".to_owned(), |(prefix, _)| prefix.clone());
    let excerpt = prefix_for("/excerpt/", "excerpt");
    if channel
        .items()
        .iter()
        .all(|i| i.extensions().get(&wp).is_none())
        && !channel.items().is_empty()
    {
        return Err(ParseError::Format(
            "not a WordPress export (WXR): its items have no wp: fields; use `import feed`".into(),
        ));
    }
    let site = Url::parse(channel.link()).ok();
    let items = channel
        .items()
        .iter()
        .map(|item| {
            let field = |prefix: &str, name: &str| {
                item.extensions()
                    .get(prefix)
                    .and_then(|fields| fields.get(name))
                    .and_then(|values| values.first())
                    .and_then(|value| value.value())
                    .map(str::trim)
                    .unwrap_or_default()
                    .to_owned()
            };
            let mut imported = feed::rss_item(item, site.as_ref());
            let kind = field(&wp, "post_type");
            let status = field(&wp, "status");
            imported.excluded = if kind != "post" {
                Some(if kind.is_empty() {
                    "unknown type".into()
                } else {
                    kind
                })
            } else if status != "publish" {
                Some(status)
            } else if !field(&wp, "post_password").is_empty() {
                Some("password-protected".into())
            } else {
                None
            };
            if imported.key.starts_with("sha256:") {
                let id = field(&wp, "post_id");
                if !id.is_empty() {
                    imported.key = feed::scoped_key(&format!("wp-post-{id}"), site.as_ref());
                }
            }
            if let Some(date) = wordpress_date(&field(&wp, "post_date_gmt")) {
                imported.published = Some(date);
            }
            imported.html = content::wordpress_paragraphs(item.content().unwrap_or_default());
            let excerpt = field(&excerpt, "encoded");
            imported.summary = (!excerpt.is_empty()).then_some(excerpt);
            imported.categories = item
                .categories()
                .iter()
                .filter(|c| matches!(c.domain(), Some("category" | "post_tag") | None))
                .map(|c| c.name().to_owned())
                .collect();
            imported
        })
        .collect();
    Ok(Source {
        items,
        language: channel.language().and_then(|l| Language::parse(l).ok()),
    })
}

/// `wp:post_date_gmt`, e.g. `2024-01-15 10:30:00`; drafts have `0000-00-00 00:00:00`.
fn wordpress_date(value: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(value, "%Y-%m-%d %H:%M:%S")
        .ok()
        .map(|d| d.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmt_dates_are_read_and_empty_ones_ignored() {
        assert_eq!(
            wordpress_date("2024-01-15 10:30:00").map(|d| d.to_rfc3339()),
            Some("2024-01-15T10:30:00+00:00".into())
        );
        assert_eq!(wordpress_date("0000-00-00 00:00:00"), None);
    }
}
