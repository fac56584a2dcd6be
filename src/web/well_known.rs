//! Discovery, exactly as the specifications say: WebFinger (RFC 7033), host-meta (RFC 6415)
//! and NodeInfo 2.0/2.1.

use activitypub_federation::config::Data;
use axum::{
    extract::{Path, Query},
    http::{HeaderMap, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use super::error::WebError;
use crate::{app::AppState, domain::Handle, federation::urls};

#[derive(Deserialize)]
pub struct WebfingerQuery {
    resource: Option<String>,
}

/// What a WebFinger resource names.
#[derive(Debug, PartialEq, Eq)]
pub enum Resource {
    Account(String),
    InstanceActor,
    Unknown,
}

/// Reads `acct:user@host` or one of our actor URLs. Err for a resource that is malformed.
/// Public for the fuzz target `fuzz/fuzz_targets/webfinger.rs`.
pub fn parse_resource(resource: &str, base: &Url, host: &str) -> Result<Resource, String> {
    if resource.starts_with("acct:") {
        let handle = Handle::parse(resource).map_err(|e| e.to_string())?;
        if !handle.host.eq_ignore_ascii_case(host) {
            return Ok(Resource::Unknown);
        }
        if handle.user.eq_ignore_ascii_case(host) {
            return Ok(Resource::InstanceActor);
        }
        return Ok(Resource::Account(handle.user));
    }
    let url =
        Url::parse(resource).map_err(|_| format!("`{resource}` is neither acct: nor a URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("`{resource}` is neither acct: nor an http(s) URL"));
    }
    if url == urls::instance_actor(base) {
        return Ok(Resource::InstanceActor);
    }
    if let Some(name) = urls::username_of_actor(base, &url) {
        return Ok(Resource::Account(name.to_owned()));
    }
    if url.origin() == base.origin()
        && let Some(name) = url.path().strip_prefix("/@").filter(|n| !n.contains('/'))
    {
        return Ok(Resource::Account(name.to_owned()));
    }
    Ok(Resource::Unknown)
}

pub async fn webfinger(
    Query(query): Query<WebfingerQuery>,
    data: Data<AppState>,
) -> Result<Response, WebError> {
    let resource = query
        .resource
        .ok_or_else(|| WebError::BadRequest("the resource parameter is required".into()))?;
    let base = &data.config.base_url;
    let host = data.config.host();
    let (subject, actor_id, profile) =
        match parse_resource(&resource, base, &host).map_err(WebError::BadRequest)? {
            Resource::Account(name) => {
                let actor = data
                    .store
                    .actor_by_username(&name)
                    .await?
                    .ok_or(WebError::NotFound)?;
                let id = urls::actor(base, actor.username.as_str());
                (
                    format!("acct:{}@{host}", actor.username),
                    id.clone(),
                    Some(id),
                )
            }
            Resource::InstanceActor => (
                format!("acct:{host}@{host}"),
                urls::instance_actor(base),
                None,
            ),
            Resource::Unknown => return Err(WebError::NotFound),
        };
    let mut links =
        vec![json!({"rel": "self", "type": "application/activity+json", "href": actor_id})];
    if let Some(profile) = profile {
        links.push(json!({"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": profile}));
    }
    let body = json!({ "subject": subject, "aliases": [actor_id], "links": links });
    Ok(json_with_type("application/jrd+json; charset=utf-8", &body))
}

fn json_with_type(content_type: &'static str, body: &Value) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        body.to_string(),
    )
        .into_response()
}

fn lrdd_template(data: &Data<AppState>) -> String {
    let mut url = data.config.base_url.clone();
    url.set_path("/.well-known/webfinger");
    format!("{url}?resource={{uri}}")
}

/// XML by default; JSON when the client asks for it.
pub async fn host_meta(headers: HeaderMap, data: Data<AppState>) -> Response {
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("json") && !accept.contains("xml"));
    if wants_json {
        return host_meta_json(data).await;
    }
    let template = lrdd_template(&data)
        .replace('&', "&amp;")
        .replace('"', "&quot;");
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <XRD xmlns=\"http://docs.oasis-open.org/ns/xri/xrd-1.0\">\n  \
         <Link rel=\"lrdd\" type=\"application/jrd+json\" template=\"{template}\"/>\n</XRD>\n"
    );
    (
        [
            (header::CONTENT_TYPE, "application/xrd+xml; charset=utf-8"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        xml,
    )
        .into_response()
}

pub async fn host_meta_json(data: Data<AppState>) -> Response {
    let body = json!({"links": [{"rel": "lrdd", "type": "application/jrd+json", "template": lrdd_template(&data)}]});
    json_with_type("application/json", &body)
}

pub async fn nodeinfo_links(data: Data<AppState>) -> Response {
    let link = |version: &str| {
        let mut url = data.config.base_url.clone();
        url.set_path(&format!("/nodeinfo/{version}"));
        json!({"rel": format!("http://nodeinfo.diaspora.software/ns/schema/{version}"), "href": url})
    };
    json_with_type(
        "application/json",
        &json!({"links": [link("2.0"), link("2.1")]}),
    )
}

pub async fn nodeinfo(
    Path(version): Path<String>,
    data: Data<AppState>,
) -> Result<Response, WebError> {
    let (version, content_type) = match version.as_str() {
        "2.0" => (
            "2.0",
            "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/2.0#\"",
        ),
        "2.1" => (
            "2.1",
            "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/2.1#\"",
        ),
        _ => return Err(WebError::NotFound),
    };
    let accounts = data.store.count_actors().await?;
    let posts = data.store.count_published_posts().await?;
    let software = json!({"name": "broadside", "version": env!("CARGO_PKG_VERSION")});
    let body = json!({
        "version": version,
        "software": software,
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": false,
        "usage": {
            // Every account is an organization account run by its editors, so all count as
            // active.
            "users": {"total": accounts, "activeMonth": accounts, "activeHalfyear": accounts},
            "localPosts": posts
        },
        "metadata": {"nodeName": data.config.host()}
    });
    Ok(json_with_type(content_type, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(resource: &str) -> Result<Resource, String> {
        let base = Url::parse("https://isg.example").unwrap();
        parse_resource(resource, &base, "isg.example")
    }

    #[test]
    fn accounts_by_acct_and_by_url() {
        assert_eq!(
            parse("acct:isg@isg.example"),
            Ok(Resource::Account("isg".into()))
        );
        assert_eq!(
            parse("acct:isg@ISG.example"),
            Ok(Resource::Account("isg".into()))
        );
        assert_eq!(
            parse("https://isg.example/users/isg"),
            Ok(Resource::Account("isg".into()))
        );
        assert_eq!(
            parse("https://isg.example/@isg"),
            Ok(Resource::Account("isg".into()))
        );
        assert_eq!(
            parse("acct:isg.example@isg.example"),
            Ok(Resource::InstanceActor)
        );
    }

    #[test]
    fn other_hosts_are_unknown_and_garbage_is_malformed() {
        assert_eq!(parse("acct:isg@other.example"), Ok(Resource::Unknown));
        assert_eq!(
            parse("https://other.example/users/isg"),
            Ok(Resource::Unknown)
        );
        assert!(parse("acct:isg").is_err());
        assert!(parse("isg").is_err());
        assert!(parse("mailto:isg@isg.example").is_err());
    }
}
