//! The public site end to end: post pages and objects, tombstones, activities, account and tag
//! pages, feeds, media, NodeInfo counts, and the page cache (304s, invalidation from another
//! process, one render for many concurrent requests).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod common;

use std::time::{Duration, Instant};

use broadside::{
    domain::{Language, PostDraft, PostKind, PostState},
    federation::publish,
    store::posts::NewMedia,
};
use common::TestServer;
use reqwest::{StatusCode, header};
use serde_json::Value;

const AP: &str = "application/activity+json";
const BROWSER: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

async fn get(url: &str, accept: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(url)
        .header(header::ACCEPT, accept)
        .send()
        .await
        .unwrap()
}

async fn page(url: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let response = get(url, BROWSER).await;
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

fn draft(kind: PostKind, title: Option<&str>, summary: Option<&str>, body: &str) -> PostDraft {
    PostDraft::new(
        kind,
        title.map(str::to_owned),
        summary.map(str::to_owned),
        body.to_owned(),
        Language::parse("en").unwrap(),
    )
    .unwrap()
}

/// The account `username` as the store has it.
async fn actor(server: &TestServer, username: &str) -> broadside::domain::LocalActor {
    let store = server.store().await;
    store.actor_by_username(username).await.unwrap().unwrap()
}

#[tokio::test]
async fn a_post_page_has_link_previews_and_the_sanitized_body() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let hash = "c".repeat(64);
    let image = NewMedia {
        file_name: format!("{hash}.png"),
        media_type: "image/png".into(),
        width: 1200,
        height: 630,
        size_bytes: 1000,
        alt: "Strikers at the gate".into(),
    };
    let spanish = PostDraft::new(
        PostKind::Statement,
        Some("Solidaridad con la huelga".into()),
        Some("Apoyamos a las trabajadoras.".into()),
        "Estamos con la #Huelga. <script>alert(1)</script> **Juntas**.".into(),
        Language::parse("es").unwrap(),
    )
    .unwrap();
    let id = server
        .insert_post("isg", &spanish, PostState::Published, &[image])
        .await;
    let url = server.post_url("isg", id);

    let (status, headers, html) = page(&url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::VARY], "Accept");
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(headers[header::CACHE_CONTROL], "public, max-age=60");
    assert!(headers.contains_key(header::ETAG) && headers.contains_key(header::LAST_MODIFIED));
    let image_url = server.url(&format!("/media/{hash}.png"));
    for expected in [
        "<html lang=\"es\">".to_owned(),
        "<title>Solidaridad con la huelga · isg organization</title>".to_owned(),
        format!("<link rel=\"canonical\" href=\"{url}\">"),
        format!("<link rel=\"alternate\" type=\"application/activity+json\" href=\"{url}\">"),
        format!(
            "<meta name=\"fediverse:creator\" content=\"@isg@{}\">",
            server.host()
        ),
        "<meta property=\"og:type\" content=\"article\">".to_owned(),
        "<meta property=\"og:title\" content=\"Solidaridad con la huelga\">".to_owned(),
        "<meta property=\"og:description\" content=\"Apoyamos a las trabajadoras.\">".to_owned(),
        format!("<meta property=\"og:url\" content=\"{url}\">"),
        format!("<meta property=\"og:image\" content=\"{image_url}\">"),
        "<meta name=\"twitter:card\" content=\"summary_large_image\">".to_owned(),
        "<h1>Solidaridad con la huelga</h1>".to_owned(),
        "<p class=\"lead\">Apoyamos a las trabajadoras.</p>".to_owned(),
        "<strong>Juntas</strong>".to_owned(),
        format!(
            "<img src=\"{image_url}\" alt=\"Strikers at the gate\" width=\"1200\" height=\"630\""
        ),
        format!(
            "<a href=\"{}\" rel=\"tag\">#Huelga</a>",
            server.url("/tags/huelga")
        ),
        format!(
            "href=\"{}\" rel=\"author\">isg organization</a>",
            server.actor_url("isg")
        ),
    ] {
        assert!(html.contains(&expected), "missing {expected}\n{html}");
    }
    assert!(!html.contains("<script>alert"), "the body is sanitized");
    server.stop().await;
}

#[tokio::test]
async fn activitypub_clients_get_an_article_for_a_statement_and_a_note_for_news() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let statement = server
        .publish_post(
            "isg",
            PostKind::Statement,
            Some("On the strike"),
            "We stand with them.",
            "en",
        )
        .await;
    let news = server
        .publish_post(
            "isg",
            PostKind::News,
            None,
            "Meeting moved to Friday.",
            "pt-BR",
        )
        .await;

    for accept in [AP, "text/html;q=0.5, application/activity+json"] {
        let response = get(&server.post_url("isg", statement), accept).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::VARY], "Accept");
        assert!(
            response.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with(AP)
        );
        let article: Value = response.json().await.unwrap();
        assert_eq!(article["type"], "Article");
        assert_eq!(article["id"], server.post_url("isg", statement));
        assert_eq!(article["attributedTo"], server.actor_url("isg"));
        assert_eq!(article["name"], "On the strike");
        assert_eq!(
            article["summary"], "We stand with them.",
            "the excerpt stands in"
        );
        assert_eq!(article["contentMap"]["en"], article["content"]);
        assert_eq!(
            article["to"][0],
            "https://www.w3.org/ns/activitystreams#Public"
        );
    }

    let note: Value = get(&server.post_url("isg", news), AP)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(note["type"], "Note");
    assert!(
        note["summary"].is_null(),
        "a Note's summary would be a content warning"
    );
    assert_eq!(
        note["contentMap"]["pt-BR"],
        "<p>Meeting moved to Friday.</p>\n"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_retracted_post_is_gone_with_a_tombstone_and_a_page_saying_so() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let store = server.store().await;
    let isg = actor(&server, "isg").await;
    let post = publish::create_post(
        &store,
        &server.base,
        &isg,
        &draft(PostKind::Statement, Some("Withdrawn"), None, "Text."),
        &publish::render(
            &draft(PostKind::Statement, Some("Withdrawn"), None, "Text."),
            &server.base,
            Vec::new(),
        ),
        &[],
        true,
    )
    .await
    .unwrap();
    let url = server.post_url("isg", post.id);
    assert_eq!(get(&url, AP).await.status(), StatusCode::OK);
    publish::delete_post(&store, &server.base, &isg, &post)
        .await
        .unwrap();
    server.state.invalidate_public_cache();

    let response = get(&url, AP).await;
    assert_eq!(response.status(), StatusCode::GONE);
    assert!(
        response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with(AP)
    );
    assert!(response.headers().contains_key(header::ETAG));
    let tombstone: Value = response.json().await.unwrap();
    assert_eq!(tombstone["type"], "Tombstone");
    assert_eq!(tombstone["id"], url);
    assert_eq!(tombstone["formerType"], "Article");
    assert!(tombstone["deleted"].is_string());

    let (status, _, html) = page(&url).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(
        html.contains("This statement was retracted on <time"),
        "{html}"
    );
    assert!(
        !html.contains("Withdrawn"),
        "nothing of the retracted text is shown"
    );

    let activity = server.url(&format!("/users/isg/posts/{}/activity", post.id));
    assert_eq!(get(&activity, AP).await.status(), StatusCode::GONE);
    server.stop().await;
}

#[tokio::test]
async fn drafts_other_accounts_posts_and_unknown_ids_are_404() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    server.create_actor("other", false).await;
    let draft_id = server
        .insert_post(
            "isg",
            &draft(PostKind::News, None, None, "Not yet."),
            PostState::Draft,
            &[],
        )
        .await;
    let published = server
        .publish_post("isg", PostKind::News, None, "Out now.", "en")
        .await;
    for path in [
        format!("/users/isg/posts/{draft_id}"),
        format!("/users/other/posts/{published}"),
        format!("/users/ghost/posts/{published}"),
        "/users/isg/posts/999999".to_owned(),
        "/users/isg/posts/abc".to_owned(),
        format!("/users/isg/posts/{draft_id}/activity"),
    ] {
        for accept in [AP, BROWSER] {
            assert_eq!(
                get(&server.url(&path), accept).await.status(),
                StatusCode::NOT_FOUND,
                "{path} {accept}"
            );
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn activities_are_served_exactly_as_sent() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let store = server.store().await;
    let isg = actor(&server, "isg").await;
    let first = draft(PostKind::News, None, None, "First version.");
    let post = publish::create_post(
        &store,
        &server.base,
        &isg,
        &first,
        &publish::render(&first, &server.base, Vec::new()),
        &[],
        true,
    )
    .await
    .unwrap();
    let second = draft(PostKind::News, None, None, "Second version.");
    let edited = publish::edit_post(
        &store,
        &server.base,
        &isg,
        &post,
        &second,
        &publish::render(&second, &server.base, Vec::new()),
    )
    .await
    .unwrap();

    let create_url = server.url(&format!("/users/isg/posts/{}/activity", post.id));
    let at = edited.edited_at.unwrap().timestamp_millis();
    let update_url = server.url(&format!("/users/isg/posts/{}/updates/{at}", post.id));
    for url in [create_url, update_url] {
        let sent = store.outbox_activity_by_ap_id(&url).await.unwrap().unwrap();
        let response = get(&url, AP).await;
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        assert_eq!(response.headers()[header::CONTENT_TYPE], AP);
        assert_eq!(response.text().await.unwrap(), sent.body, "{url}");
    }
    let unknown = server.url(&format!("/users/isg/posts/{}/updates/1", post.id));
    assert_eq!(get(&unknown, AP).await.status(), StatusCode::NOT_FOUND);
    server.stop().await;
}

#[tokio::test]
async fn the_actor_page_lists_posts_newest_first_in_pages_with_pinned_ones_on_top() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let mut ids = Vec::new();
    for n in 1..=21 {
        let id = server
            .publish_post(
                "isg",
                PostKind::Statement,
                Some(&format!("Statement number {n}")),
                &format!("Text {n}."),
                "en",
            )
            .await;
        ids.push(id);
    }
    let store = server.store().await;
    let mut tx = store.begin().await.unwrap();
    tx.set_pinned(ids[10], true).await.unwrap();
    tx.commit().await.unwrap();

    let (status, headers, first) = page(&server.actor_url("isg")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::VARY], "Accept");
    for expected in [
        format!(
            "<link rel=\"alternate\" type=\"application/atom+xml\" title=\"isg organization (Atom)\" href=\"{}\">",
            server.url("/users/isg/feed.atom")
        ),
        format!(
            "<link rel=\"alternate\" type=\"application/rss+xml\" title=\"isg organization (RSS)\" href=\"{}\">",
            server.url("/users/isg/feed.rss")
        ),
        format!(
            "<a href=\"{}\" type=\"application/atom+xml\">Atom feed</a>",
            server.url("/users/isg/feed.atom")
        ),
        format!(
            "<a href=\"{}\" type=\"application/rss+xml\">RSS feed</a>",
            server.url("/users/isg/feed.rss")
        ),
        format!(
            "<a href=\"{}\" rel=\"next\">",
            server.url("/users/isg?page=2")
        ),
    ] {
        assert!(first.contains(&expected), "missing {expected}\n{first}");
    }
    let pinned_at = first.find("Statement number 11<").unwrap();
    let newest_at = first.find("Statement number 21<").unwrap();
    let older_at = first.find("Statement number 20<").unwrap();
    assert!(
        pinned_at < newest_at && newest_at < older_at,
        "pinned first, then newest first"
    );
    assert_eq!(
        first.matches("Statement number 11<").count(),
        1,
        "a pinned post is listed once"
    );
    assert!(first.contains("Statement number 2<"));
    assert!(!first.contains("Statement number 1<"), "20 to a page");
    assert!(
        first.contains("<p>Text 21.</p>"),
        "the excerpt under the title"
    );

    let (_, _, second) = page(&server.url("/users/isg?page=2")).await;
    assert!(second.contains("Statement number 1<"), "{second}");
    assert!(
        !second.contains("Statement number 11<"),
        "pinned posts top the first page only"
    );
    assert!(second.contains(&format!(
        "<a href=\"{}\" rel=\"prev\">",
        server.actor_url("isg")
    )));
    assert!(!second.contains("rel=\"next\""));
    server.stop().await;
}

#[tokio::test]
async fn the_home_page_lists_the_accounts() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    server.create_actor("union", false).await;
    let (status, headers, html) = page(&server.url("/")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.contains_key(header::ETAG));
    for name in ["isg", "union"] {
        assert!(
            html.contains(&format!(
                "<a href=\"{}\">{name} organization</a>",
                server.actor_url(name)
            )),
            "{html}"
        );
        assert!(html.contains(&format!("@{name}@{}", server.host())));
    }
    server.stop().await;
}

#[tokio::test]
async fn a_tag_page_lists_the_posts_carrying_the_tag() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    server.create_actor("union", false).await;
    server
        .publish_post(
            "isg",
            PostKind::Statement,
            Some("Tagged statement"),
            "On #Strike today.",
            "en",
        )
        .await;
    server
        .publish_post(
            "union",
            PostKind::News,
            None,
            "We join the #strike too.",
            "en",
        )
        .await;
    server
        .publish_post(
            "isg",
            PostKind::Statement,
            Some("Untagged statement"),
            "Nothing here.",
            "en",
        )
        .await;
    for path in ["/tags/strike", "/tags/STRIKE"] {
        let (status, _, html) = page(&server.url(path)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(html.contains("<h1>#strike</h1>"), "{html}");
        assert!(html.contains("Tagged statement"));
        assert!(
            html.contains("We join the #strike too."),
            "untitled news by its text"
        );
        assert!(html.contains("union organization"), "the author is named");
        assert!(!html.contains("Untagged statement"));
    }
    let (status, _, _) = page(&server.url("/tags/no-such-tag!")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    server.stop().await;
}

#[tokio::test]
async fn atom_and_rss_feeds_parse_and_list_the_posts() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let statement = server
        .publish_post(
            "isg",
            PostKind::Statement,
            Some("A <statement> & more"),
            "Statement text.",
            "en",
        )
        .await;
    let news = server
        .publish_post(
            "isg",
            PostKind::News,
            None,
            "Untitled news about the #strike.",
            "es",
        )
        .await;

    let atom_response = get(&server.url("/users/isg/feed.atom"), "*/*").await;
    assert_eq!(atom_response.status(), StatusCode::OK);
    assert_eq!(
        atom_response.headers()[header::CONTENT_TYPE],
        "application/atom+xml; charset=utf-8"
    );
    assert!(atom_response.headers().contains_key(header::ETAG));
    let atom =
        atom_syndication::Feed::read_from(&atom_response.bytes().await.unwrap()[..]).unwrap();
    assert_eq!(atom.title.value, "isg organization");
    assert_eq!(atom.entries.len(), 2);
    let newest = &atom.entries[0];
    assert_eq!(newest.id, server.post_url("isg", news));
    assert_eq!(newest.title.value, "Untitled news about the #strike.");
    assert_eq!(newest.links[0].href, server.post_url("isg", news));
    assert!(newest.published.is_some());
    let content = newest.content.as_ref().unwrap();
    assert_eq!(content.content_type.as_deref(), Some("html"));
    assert_eq!(content.lang.as_deref(), Some("es"));
    assert!(
        content
            .value
            .as_ref()
            .unwrap()
            .contains("class=\"mention hashtag\"")
    );
    assert_eq!(newest.authors[0].name, "isg organization");
    assert_eq!(
        atom.entries[1].title.value, "A <statement> & more",
        "escaped and read back"
    );
    assert_eq!(atom.entries[1].id, server.post_url("isg", statement));

    let rss_response = get(&server.url("/users/isg/feed.rss"), "*/*").await;
    assert_eq!(rss_response.status(), StatusCode::OK);
    assert_eq!(
        rss_response.headers()[header::CONTENT_TYPE],
        "application/rss+xml; charset=utf-8"
    );
    let rss = rss::Channel::read_from(&rss_response.bytes().await.unwrap()[..]).unwrap();
    assert_eq!(rss.title, "isg organization");
    assert_eq!(rss.link, server.actor_url("isg"));
    assert_eq!(rss.items.len(), 2);
    let item = &rss.items[0];
    assert_eq!(
        item.title.as_deref(),
        Some("Untitled news about the #strike.")
    );
    assert_eq!(
        item.guid.as_ref().unwrap().value,
        server.post_url("isg", news)
    );
    assert!(item.pub_date.is_some());
    assert!(
        item.content
            .as_ref()
            .unwrap()
            .contains("#<span>strike</span>")
    );
    let dc = item.dublin_core_ext.as_ref().unwrap();
    assert_eq!(dc.languages, vec!["es"]);
    assert_eq!(dc.creators, vec!["isg organization"]);
    assert_eq!(rss.items[1].title.as_deref(), Some("A <statement> & more"));
    assert_eq!(
        rss.atom_ext.as_ref().unwrap().links[0].href,
        server.url("/users/isg/feed.rss")
    );

    assert_eq!(
        get(&server.url("/users/ghost/feed.atom"), "*/*")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    server.stop().await;
}

#[tokio::test]
async fn nodeinfo_counts_published_posts() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    server
        .publish_post("isg", PostKind::News, None, "One.", "en")
        .await;
    server
        .publish_post("isg", PostKind::News, None, "Two.", "en")
        .await;
    server
        .insert_post(
            "isg",
            &draft(PostKind::News, None, None, "Draft."),
            PostState::Draft,
            &[],
        )
        .await;
    let info: Value = get(&server.url("/nodeinfo/2.1"), "application/json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["usage"]["localPosts"], 2);
    server.stop().await;
}

#[tokio::test]
async fn validators_turn_repeat_requests_into_304() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let id = server
        .publish_post("isg", PostKind::Statement, Some("Cached"), "Text.", "en")
        .await;
    let client = reqwest::Client::new();
    for (url, accept) in [
        (server.post_url("isg", id), AP),
        (server.post_url("isg", id), BROWSER),
        (server.actor_url("isg"), AP),
        (server.url("/users/isg/feed.atom"), "*/*"),
        (server.url("/users/isg/followers"), AP),
    ] {
        let full = get(&url, accept).await;
        assert_eq!(full.status(), StatusCode::OK, "{url}");
        assert_eq!(full.headers()[header::CACHE_CONTROL], "public, max-age=60");
        let etag = full.headers()[header::ETAG].clone();
        assert!(!etag.to_str().unwrap().starts_with("W/"), "a strong tag");
        let again = client
            .get(&url)
            .header(header::ACCEPT, accept)
            .header(header::IF_NONE_MATCH, etag.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{url} {accept}");
        assert_eq!(again.headers()[header::ETAG], etag);
        assert!(again.bytes().await.unwrap().is_empty());
        let other = client
            .get(&url)
            .header(header::ACCEPT, accept)
            .header(header::IF_NONE_MATCH, "\"something-else\"")
            .send()
            .await
            .unwrap();
        assert_eq!(other.status(), StatusCode::OK);
    }

    let full = get(&server.post_url("isg", id), AP).await;
    let modified = full.headers()[header::LAST_MODIFIED].clone();
    let since = client
        .get(server.post_url("isg", id))
        .header(header::ACCEPT, AP)
        .header(header::IF_MODIFIED_SINCE, modified)
        .send()
        .await
        .unwrap();
    assert_eq!(since.status(), StatusCode::NOT_MODIFIED);

    let head = client
        .head(server.post_url("isg", id))
        .header(header::ACCEPT, AP)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(
        head.headers()[header::ETAG],
        full.headers()[header::ETAG],
        "HEAD and GET agree"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_change_made_by_another_process_shows_within_two_seconds() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let id = server
        .publish_post(
            "isg",
            PostKind::Statement,
            Some("First title"),
            "Text.",
            "en",
        )
        .await;
    let url = server.post_url("isg", id);
    let (_, _, before) = page(&url).await;
    assert!(before.contains("First title"));

    // Another process (the CLI) corrects the post: only the site version tells the server.
    let store = server.store().await;
    let post = store.post_by_id(id).await.unwrap().unwrap();
    let corrected = draft(PostKind::Statement, Some("Corrected title"), None, "Text.");
    let mut tx = store.begin().await.unwrap();
    tx.update_post(
        &post,
        &corrected,
        &publish::render(&corrected, &server.base, Vec::new()),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let changed = Instant::now();

    loop {
        let (_, _, html) = page(&url).await;
        if html.contains("Corrected title") {
            break;
        }
        // The server polls once a second; allow for a loaded test machine.
        assert!(
            changed.elapsed() < Duration::from_secs(3),
            "still stale after 3 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop().await;
}

#[tokio::test]
async fn two_hundred_concurrent_requests_for_an_uncached_post_render_it_once() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let id = server
        .publish_post(
            "isg",
            PostKind::Statement,
            Some("Popular"),
            "Everyone fetches this.",
            "en",
        )
        .await;
    let url = server.post_url("isg", id);
    // The server notices the new post's site version within a second and clears its cache;
    // wait for that, so no clear falls in the middle of the requests.
    let store = server.store().await;
    let version = store.site_version().await.unwrap();
    common::eventually("the server to see the new site version", || async {
        server.state.public_cache.synced_version() == Some(version)
    })
    .await;
    // Open the 200 connections first and release every request at once, so they all arrive
    // while the first render is still reading the database.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(200)
        .build()
        .unwrap();
    let warm_up = (0..200).map(|_| client.get(server.url("/healthz")).send());
    for response in futures::future::join_all(warm_up).await {
        assert_eq!(response.unwrap().status(), StatusCode::OK);
    }
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(200));
    let before = server.state.public_cache.renders();

    let requests = (0..200).map(|_| {
        let client = client.clone();
        let url = url.clone();
        let start = start.clone();
        tokio::spawn(async move {
            start.wait().await;
            let response = client
                .get(&url)
                .header(header::ACCEPT, AP)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response.headers()[header::ETAG]
                .to_str()
                .unwrap()
                .to_owned()
        })
    });
    let etags: Vec<String> = futures::future::join_all(requests)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();

    assert_eq!(
        server.state.public_cache.renders() - before,
        1,
        "exactly one render"
    );
    assert!(
        etags.iter().all(|e| *e == etags[0]),
        "every request got the same page"
    );
    server.stop().await;
}

#[tokio::test]
async fn media_files_are_served_immutable_and_other_names_refused() {
    let server = TestServer::start().await;
    let name = format!("{}.png", "ab".repeat(32));
    let bytes = b"\x89PNG\r\n\x1a\n not really an image, but bytes to serve".to_vec();
    let dir = server.config.data_dir.join("media");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(&name), &bytes).unwrap();
    std::fs::write(server.config.data_dir.join("secret.png"), b"private").unwrap();

    let response = get(&server.url(&format!("/media/{name}")), "*/*").await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers[header::CONTENT_TYPE], "image/png");
    assert_eq!(
        headers[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(
        headers[header::ETAG],
        format!("\"{}\"", "ab".repeat(32)).as_str()
    );
    assert_eq!(response.bytes().await.unwrap().to_vec(), bytes);

    let again = reqwest::Client::new()
        .get(server.url(&format!("/media/{name}")))
        .header(header::IF_NONE_MATCH, headers[header::ETAG].clone())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    for bad in [
        "..%2Fsecret.png".to_owned(),
        "..%2F..%2F..%2Fetc%2Fpasswd".to_owned(),
        format!("..%2Fmedia%2F{name}"),
        format!("{}.svg", "ab".repeat(32)),
        format!("{}.png", "AB".repeat(32)),
        format!("{}.png", "cd".repeat(32)),
    ] {
        let response = get(&server.url(&format!("/media/{bad}")), "*/*").await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{bad}");
    }
    server.stop().await;
}
