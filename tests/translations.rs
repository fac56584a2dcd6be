//! One statement, many languages, end to end: the ActivityPub object's nameMap, summaryMap
//! and contentMap (the post's own language first), one page per language linking the others
//! with hreflang, feeds per language, the command line and API that add versions, and the
//! Update a follower receives when a version is added, replaced or removed (on SQLite and
//! PostgreSQL).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod common;

use broadside::{
    domain::{Language, PostDraft, PostKind, PostState, translation::translation_draft},
    federation::{publish, translations},
};
use common::{Peer, TestServer, add_follower, backends, cli, eventually};
use reqwest::{StatusCode, header};
use serde_json::Value;

const AP: &str = "application/activity+json";

async fn get(url: &str, accept: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(url)
        .header(header::ACCEPT, accept)
        .send()
        .await
        .unwrap()
}

async fn json(url: &str) -> Value {
    get(url, AP).await.json().await.unwrap()
}

async fn text(url: &str) -> (StatusCode, String) {
    let response = get(url, "text/html").await;
    (response.status(), response.text().await.unwrap())
}

fn keys(map: &Value) -> Vec<&str> {
    map.as_object()
        .unwrap_or_else(|| panic!("not a map: {map}"))
        .keys()
        .map(String::as_str)
        .collect()
}

fn statement(title: &str, summary: &str, body: &str, lang: &str) -> PostDraft {
    PostDraft::new(
        PostKind::Statement,
        Some(title.into()),
        Some(summary.into()),
        body.into(),
        Language::parse(lang).unwrap(),
    )
    .unwrap()
}

/// The statement every test here publishes, in English.
fn english() -> PostDraft {
    statement(
        "Solidarity with the strike",
        "We stand with the workers.",
        "We stand with the **workers** of #Acme.",
        "en",
    )
}

/// A statement written in Spanish, never translated.
fn spanish_only() -> PostDraft {
    statement("Sólo en castellano", "Breve.", "Texto.", "es")
}

/// Covers the whole reading side: a statement published in English, then translated into
/// Spanish (from the command line, `--body`) and German (`--file`) while the server runs.
/// The document keeps English first in all three maps and English in the plain fields; each
/// language's page is in that language, shows its text and links every version; each
/// language's feeds hold that language's text; and the cached document is fresh after the
/// translations were added from another process.
#[tokio::test]
async fn a_statement_in_english_spanish_and_german_is_one_object_with_a_page_and_feeds_per_language()
 {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let id = server
        .insert_post("isg", &english(), PostState::Published, &[])
        .await;
    let url = server.post_url("isg", id);
    // Cached before any translation exists: the translations must make it fresh.
    let before = json(&url).await;
    assert!(before.get("nameMap").is_none(), "{before}");
    assert_eq!(keys(&before["contentMap"]), ["en"]);

    let spanish_url = cli(
        &server,
        &[
            "post",
            "translate",
            &id.to_string(),
            "--lang",
            "es",
            "--title",
            "Solidaridad con la huelga",
            "--summary",
            "Estamos con las trabajadoras.",
            "--body",
            "Estamos con las **trabajadoras** de #Acme en #Huelga. <script>alert(1)</script>",
        ],
    )
    .await
    .unwrap();
    assert_eq!(spanish_url, format!("{url}/es"));
    let dir = tempfile::tempdir().unwrap();
    let german_file = dir.path().join("de.md");
    std::fs::write(&german_file, "Wir stehen an der Seite der *Beschäftigten*.").unwrap();
    cli(
        &server,
        &[
            "post",
            "translate",
            &url,
            "--lang",
            "de",
            "--title",
            "Solidarität mit dem Streik",
            "--file",
            german_file.to_str().unwrap(),
        ],
    )
    .await
    .unwrap();

    eventually("the cached document to carry the translations", || async {
        json(&url).await.get("nameMap").is_some()
    })
    .await;
    let document = json(&url).await;
    for map in ["contentMap", "nameMap", "summaryMap"] {
        assert_eq!(
            keys(&document[map]),
            ["en", "es", "de"],
            "{map}: {document}"
        );
    }
    assert_eq!(document["name"], "Solidarity with the strike");
    assert_eq!(document["summary"], "We stand with the workers.");
    assert_eq!(document["content"], document["contentMap"]["en"]);
    assert_eq!(document["nameMap"]["es"], "Solidaridad con la huelga");
    assert_eq!(
        document["summaryMap"]["es"],
        "Estamos con las trabajadoras."
    );
    // Without a summary of its own, the German version's is the start of its text.
    assert_eq!(
        document["summaryMap"]["de"],
        "Wir stehen an der Seite der Beschäftigten."
    );
    let es_html = document["contentMap"]["es"].as_str().unwrap();
    assert!(
        es_html.contains("<strong>trabajadoras</strong>") && !es_html.contains("<script"),
        "rendered and sanitized like the post's own body: {es_html}"
    );
    assert!(es_html.contains("class=\"mention hashtag\""), "{es_html}");
    // The post is found under every version's hashtags, each once.
    let hashtags: Vec<&str> = document["tag"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(hashtags, ["#Acme", "#Huelga"], "{document}");
    let (_, tag_page) = text(&server.url("/tags/huelga")).await;
    assert!(
        tag_page.contains("Solidarity with the strike"),
        "{tag_page}"
    );

    let pages = [
        ("en", url.clone(), "Solidarity with the strike"),
        ("es", format!("{url}/es"), "Solidaridad con la huelga"),
        ("de", format!("{url}/de"), "Solidarität mit dem Streik"),
    ];
    for (lang, page_url, title) in &pages {
        let (status, html) = text(page_url).await;
        assert_eq!(status, StatusCode::OK, "{page_url}");
        assert!(html.contains(&format!("<html lang=\"{lang}\">")), "{html}");
        assert!(
            html.contains(&format!("<h1>{title}</h1>")),
            "{lang}: {html}"
        );
        assert!(
            html.contains(&format!("<link rel=\"canonical\" href=\"{page_url}\">")),
            "{html}"
        );
        for (other, other_url, _) in &pages {
            assert!(
                html.contains(&format!(
                    "<link rel=\"alternate\" hreflang=\"{other}\" href=\"{other_url}\">"
                )),
                "{lang} page lacks the {other} alternate: {html}"
            );
        }
        assert!(html.contains(&format!(
            "<link rel=\"alternate\" hreflang=\"x-default\" href=\"{url}\">"
        )));
        // The switcher marks this version and links the others.
        assert!(
            html.contains(&format!("<span aria-current=\"page\" lang=\"{lang}\">")),
            "{html}"
        );
        assert!(html.contains("Español") && html.contains("Deutsch") && html.contains("English"));
    }
    // The post's own language lives at the post's URL; a language it lacks is not found.
    let own = get(&format!("{url}/en"), "text/html").await;
    assert_eq!(own.url().as_str(), url);
    assert_eq!(text(&format!("{url}/fr")).await.0, StatusCode::NOT_FOUND);

    // A second post written in Spanish only: in the Spanish feeds, not in the English ones.
    server
        .insert_post("isg", &spanish_only(), PostState::Published, &[])
        .await;
    let feed = |lang: &str, kind: &str| server.url(&format!("/users/isg/lang/{lang}/feed.{kind}"));
    eventually("the Spanish feed to list both posts", || async {
        text(&feed("es", "atom"))
            .await
            .1
            .contains("Sólo en castellano")
    })
    .await;
    let es_atom = text(&feed("es", "atom")).await.1;
    let es = atom_syndication::Feed::read_from(es_atom.as_bytes()).unwrap();
    assert_eq!(es.lang.as_deref(), Some("es"));
    let translated = es
        .entries
        .iter()
        .find(|e| e.title.value == "Solidaridad con la huelga")
        .unwrap_or_else(|| panic!("{es_atom}"));
    assert_eq!(translated.links[0].href, format!("{url}/es"));
    assert!(
        translated
            .content
            .as_ref()
            .unwrap()
            .value
            .as_deref()
            .unwrap()
            .contains("trabajadoras")
    );
    let en_atom = text(&feed("en", "atom")).await.1;
    assert!(
        en_atom.contains("Solidarity with the strike")
            && !en_atom.contains("Solidaridad")
            && !en_atom.contains("Sólo en castellano"),
        "{en_atom}"
    );
    let de_rss = text(&feed("de", "rss")).await.1;
    let de = rss::Channel::read_from(de_rss.as_bytes()).unwrap();
    assert_eq!(de.language.as_deref(), Some("de"));
    assert_eq!(de.items.len(), 1, "{de_rss}");
    assert_eq!(
        de.items[0].title.as_deref(),
        Some("Solidarität mit dem Streik")
    );
    assert!(
        de.items[0]
            .content
            .as_deref()
            .unwrap()
            .contains("Beschäftigten")
    );

    // The account page links each language's feeds.
    let (_, profile) = text(&server.actor_url("isg")).await;
    for lang in ["en", "es", "de"] {
        assert!(
            profile.contains(&format!(
                "<link rel=\"alternate\" type=\"application/atom+xml\" hreflang=\"{lang}\""
            )) && profile.contains(&feed(lang, "rss")),
            "{lang}: {profile}"
        );
    }
    server.stop().await;
}

/// Covers the store and the delivery queue on both databases: adding a version to a published
/// post, replacing it and removing it each send followers an Update whose object carries the
/// versions there are then, with `updated` moved on (Mastodon ignores an Update whose
/// `updated` did not move).
#[tokio::test]
async fn a_translation_added_replaced_or_removed_later_reaches_followers_as_an_update() {
    for backend in backends() {
        let server = TestServer::start_on(backend).await;
        server.create_actor("isg", false).await;
        let peer = Peer::start().await;
        let store = server.store().await;
        let actor = store.actor_by_username("isg").await.unwrap().unwrap();
        add_follower(&store, actor.id, &peer, "f", false).await;
        let base = &server.base;
        let draft = english();
        let rendered = publish::render(&draft, base, Vec::new());
        let post = publish::create_post(&store, base, &actor, &draft, &rendered, &[], true)
            .await
            .unwrap();
        peer.wait_for("Create").await;

        let updates = || {
            let peer = peer.clone();
            move || {
                peer.received()
                    .into_iter()
                    .filter(|r| r.activity["type"] == "Update")
                    .map(|r| r.activity)
                    .collect::<Vec<Value>>()
            }
        };
        let spanish = |body: &str| {
            translation_draft(
                &post,
                Language::parse("es").unwrap(),
                Some("Solidaridad con la huelga".into()),
                None,
                body.into(),
            )
            .unwrap()
        };
        let steps: [(&str, Option<&str>); 3] = [
            ("added", Some("Estamos con ellas.")),
            ("replaced", Some("Estamos con todas ellas.")),
            ("removed", None),
        ];
        let mut last_updated = post.published_at.unwrap().to_rfc3339();
        for (n, (step, body)) in steps.into_iter().enumerate() {
            let current = store.post_by_id(post.id).await.unwrap().unwrap();
            match body {
                Some(body) => {
                    translations::put_translation(&store, base, &actor, &current, &spanish(body))
                        .await
                        .unwrap();
                }
                None => {
                    let removed = translations::remove_translation(
                        &store,
                        base,
                        &actor,
                        &current,
                        &Language::parse("es").unwrap(),
                    )
                    .await
                    .unwrap();
                    assert!(removed.is_some(), "{backend}");
                }
            }
            let received = updates();
            eventually(&format!("the Update after the version was {step}"), || {
                let count = received().len();
                async move { count > n }
            })
            .await;
            let update = &received()[n];
            assert!(
                update["id"].as_str().unwrap().contains("/updates/"),
                "{update}"
            );
            let object = &update["object"];
            let updated = object["updated"].as_str().unwrap().to_owned();
            assert!(
                updated > last_updated,
                "{backend} {step}: {updated} <= {last_updated}"
            );
            last_updated = updated;
            match body {
                Some(body) => {
                    assert_eq!(
                        keys(&object["contentMap"]),
                        ["en", "es"],
                        "{backend} {step}"
                    );
                    assert!(
                        object["contentMap"]["es"].as_str().unwrap().contains(body),
                        "{backend} {step}: {object}"
                    );
                    assert_eq!(object["nameMap"]["es"], "Solidaridad con la huelga");
                }
                None => {
                    assert_eq!(keys(&object["contentMap"]), ["en"], "{backend} {step}");
                    assert!(object.get("nameMap").is_none(), "{backend}: {object}");
                }
            }
        }
        store.close().await;
        server.stop().await;
    }
}

/// Covers the rules a version must follow, from the command line: a statement's version needs
/// a title, the post's own language is edited on the post, and removing a version it lacks
/// is an error; news takes a version without a title, which then has no name on the wire.
#[tokio::test]
async fn versions_follow_the_posts_rules_and_news_needs_no_title() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let statement_id = server
        .insert_post("isg", &english(), PostState::Published, &[])
        .await
        .to_string();
    let no_title = cli(
        &server,
        &[
            "post",
            "translate",
            &statement_id,
            "--lang",
            "es",
            "--body",
            "Texto.",
        ],
    )
    .await
    .unwrap_err();
    assert!(no_title.contains("needs a title"), "{no_title}");
    let own = cli(
        &server,
        &[
            "post",
            "translate",
            &statement_id,
            "--lang",
            "en",
            "--title",
            "T",
            "--body",
            "B",
        ],
    )
    .await
    .unwrap_err();
    assert!(own.contains("edit the post"), "{own}");
    let missing = cli(
        &server,
        &[
            "post",
            "translate",
            &statement_id,
            "--lang",
            "fr",
            "--remove",
        ],
    )
    .await
    .unwrap_err();
    assert!(missing.contains("no version in fr"), "{missing}");

    let news = server
        .publish_post(
            "isg",
            PostKind::News,
            None,
            "Strike today at the gate.",
            "en",
        )
        .await;
    cli(
        &server,
        &[
            "post",
            "translate",
            &news.to_string(),
            "--lang",
            "es",
            "--body",
            "Huelga hoy en la puerta.",
        ],
    )
    .await
    .unwrap();
    let url = server.post_url("isg", news);
    eventually("the news item's Spanish version", || async {
        json(&url).await["contentMap"].get("es").is_some()
    })
    .await;
    let note = json(&url).await;
    assert_eq!(note["type"], "Note");
    assert_eq!(keys(&note["contentMap"]), ["en", "es"]);
    assert!(
        note.get("nameMap").is_none() && note.get("summaryMap").is_none(),
        "{note}"
    );
    assert!(
        note.get("name").is_none() && note.get("summary").is_none(),
        "{note}"
    );
    server.stop().await;
}

/// Covers the store's language queries on both databases: the languages an account's
/// published posts can be read in (most used first) and the posts readable in one language
/// (written in it or translated into it), which the account page and the per-language
/// feeds use; drafts count for neither.
#[tokio::test]
async fn the_languages_of_an_account_and_its_posts_in_one_language_on_both_databases() {
    for backend in backends() {
        let server = TestServer::start_on(backend).await;
        server.create_actor("isg", false).await;
        let translated = server
            .insert_post("isg", &english(), PostState::Published, &[])
            .await;
        let spanish_only = server
            .insert_post("isg", &spanish_only(), PostState::Published, &[])
            .await;
        server
            .insert_post(
                "isg",
                &statement("Borrador", "Breve.", "Texto.", "fr"),
                PostState::Draft,
                &[],
            )
            .await;
        let store = server.store().await;
        let actor = store.actor_by_username("isg").await.unwrap().unwrap();
        let post = store.post_by_id(translated).await.unwrap().unwrap();
        for (lang, title) in [("es", "Solidaridad"), ("de", "Solidarität")] {
            let draft = translation_draft(
                &post,
                Language::parse(lang).unwrap(),
                Some(title.into()),
                None,
                format!("Text #{title}."),
            )
            .unwrap();
            let post = store.post_by_id(translated).await.unwrap().unwrap();
            translations::put_translation(&store, &server.base, &actor, &post, &draft)
                .await
                .unwrap();
        }
        let post = store.post_by_id(translated).await.unwrap().unwrap();
        let order: Vec<&str> = post.languages().iter().map(|l| l.as_str()).collect();
        assert_eq!(order, ["en", "es", "de"], "{backend}: in the order added");

        let languages = store.languages_of_actor(actor.id).await.unwrap();
        let languages: Vec<&str> = languages.iter().map(Language::as_str).collect();
        assert_eq!(languages, ["es", "de", "en"], "{backend}");
        let ids = |posts: Vec<broadside::domain::Post>| -> Vec<i64> {
            posts.iter().map(|p| p.id).collect()
        };
        let es = Language::parse("es").unwrap();
        let in_spanish = store.posts_in_language(actor.id, &es, 20).await.unwrap();
        assert_eq!(ids(in_spanish), [spanish_only, translated], "{backend}");
        let de = Language::parse("de").unwrap();
        let in_german = store.posts_in_language(actor.id, &de, 20).await.unwrap();
        assert_eq!(ids(in_german), [translated], "{backend}");
        let fr = Language::parse("fr").unwrap();
        assert!(
            store
                .posts_in_language(actor.id, &fr, 20)
                .await
                .unwrap()
                .is_empty()
        );

        // Tag pages list the post under every version's hashtags, also after its own text is
        // corrected, until the version with the hashtag is removed.
        let tagged = |tag: &'static str| {
            let store = store.clone();
            async move { ids(store.posts_with_tag(tag, 20, 0).await.unwrap()) }
        };
        assert_eq!(tagged("solidaridad").await, [translated], "{backend}");
        let corrected = statement("Solidarity!", "Still.", "We stand #together.", "en");
        let rendered = publish::render(&corrected, &server.base, Vec::new());
        publish::edit_post(&store, &server.base, &actor, &post, &corrected, &rendered)
            .await
            .unwrap();
        assert_eq!(tagged("together").await, [translated], "{backend}");
        assert!(tagged("acme").await.is_empty(), "{backend}: no longer used");
        assert_eq!(
            tagged("solidaridad").await,
            [translated],
            "{backend}: kept on edit"
        );
        let post = store.post_by_id(translated).await.unwrap().unwrap();
        translations::remove_translation(&store, &server.base, &actor, &post, &es)
            .await
            .unwrap();
        assert!(tagged("solidaridad").await.is_empty(), "{backend}");
        assert_eq!(tagged("solidarität").await, [translated], "{backend}");
        store.close().await;
        server.stop().await;
    }
}
