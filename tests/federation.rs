//! Federation end to end: discovery, content negotiation, following, and every way the inbox
//! refuses a request. Each test starts its own server and database.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod common;

use common::{Peer, TestServer, eventually};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

async fn get_json(url: &str, accept: &str) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let response = reqwest::Client::new()
        .get(url)
        .header(header::ACCEPT, accept)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

#[tokio::test]
async fn webfinger_finds_an_account_by_handle_and_by_url() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let resource = format!("acct:isg@{}", server.host());
    let (status, headers, jrd) = get_json(
        &server.url(&format!("/.well-known/webfinger?resource={resource}")),
        "*/*",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/jrd+json")
    );
    assert_eq!(jrd["subject"], resource);
    let self_link = jrd["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "self")
        .unwrap();
    assert_eq!(self_link["type"], "application/activity+json");
    assert_eq!(self_link["href"], server.actor_url("isg"));

    let by_url = server.url(&format!(
        "/.well-known/webfinger?resource={}",
        server.actor_url("isg")
    ));
    let (status, _, jrd) = get_json(&by_url, "*/*").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(jrd["subject"], resource);
    server.stop().await;
}

#[tokio::test]
async fn webfinger_answers_404_for_unknown_names_and_400_for_malformed_resources() {
    let server = TestServer::start().await;
    let unknown = server.url(&format!(
        "/.well-known/webfinger?resource=acct:nobody@{}",
        server.host()
    ));
    assert_eq!(get_json(&unknown, "*/*").await.0, StatusCode::NOT_FOUND);
    for bad in ["acct:nohost", "justtext", ""] {
        let url = server.url(&format!("/.well-known/webfinger?resource={bad}"));
        assert_eq!(
            get_json(&url, "*/*").await.0,
            StatusCode::BAD_REQUEST,
            "{bad:?}"
        );
    }
    assert_eq!(
        get_json(&server.url("/.well-known/webfinger"), "*/*")
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    server.stop().await;
}

#[tokio::test]
async fn host_meta_and_nodeinfo_describe_the_instance() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let xml = reqwest::get(server.url("/.well-known/host-meta"))
        .await
        .unwrap();
    assert_eq!(
        xml.headers()[header::CONTENT_TYPE],
        "application/xrd+xml; charset=utf-8"
    );
    assert!(
        xml.text()
            .await
            .unwrap()
            .contains("/.well-known/webfinger?resource={uri}")
    );
    let (_, _, json) = get_json(
        &server.url("/.well-known/host-meta.json"),
        "application/json",
    )
    .await;
    assert_eq!(json["links"][0]["rel"], "lrdd");

    let (_, _, links) = get_json(&server.url("/.well-known/nodeinfo"), "application/json").await;
    for link in links["links"].as_array().unwrap() {
        let (status, _, info) = get_json(link["href"].as_str().unwrap(), "application/json").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(info["software"]["name"], "broadside");
        assert_eq!(info["protocols"][0], "activitypub");
        assert_eq!(info["usage"]["users"]["total"], 1, "the real account count");
    }
    server.stop().await;
}

#[tokio::test]
async fn one_url_serves_html_or_activitystreams_by_accept() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let url = server.actor_url("isg");

    for accept in [
        "application/activity+json",
        "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"",
        "text/html;q=0.5, application/activity+json",
    ] {
        let (status, headers, actor) = get_json(&url, accept).await;
        assert_eq!(status, StatusCode::OK, "{accept}");
        assert_eq!(headers[header::VARY], "Accept");
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("application/activity+json")
        );
        assert_eq!(actor["id"], url);
    }

    let html = reqwest::Client::new()
        .get(&url)
        .header(header::ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .unwrap();
    assert_eq!(html.headers()[header::VARY], "Accept");
    assert!(
        html.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = html.text().await.unwrap();
    assert!(
        page.contains(&format!("@isg@{}", server.host())),
        "the handle to follow"
    );
    assert!(page.contains("<em>organize</em>"), "the rendered summary");
    assert!(page.contains("0 followers"));
    assert!(page.contains(&format!(
        "<link rel=\"alternate\" type=\"application/activity+json\" href=\"{url}\">"
    )));
    server.stop().await;
}

#[tokio::test]
async fn the_actor_document_has_every_field_mastodon_reads() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let (_, _, actor) = get_json(&server.actor_url("isg"), "application/activity+json").await;
    assert_eq!(actor["type"], "Organization");
    assert_eq!(actor["preferredUsername"], "isg");
    for field in [
        "id",
        "name",
        "summary",
        "url",
        "published",
        "inbox",
        "outbox",
        "followers",
        "following",
        "featured",
        "manuallyApprovesFollowers",
        "discoverable",
        "indexable",
        "attachment",
        "alsoKnownAs",
    ] {
        assert!(!actor[field].is_null(), "{field} is missing");
    }
    assert_eq!(actor["endpoints"]["sharedInbox"], server.url("/inbox"));
    assert_eq!(
        actor["publicKey"]["id"],
        format!("{}#main-key", server.actor_url("isg"))
    );
    assert_eq!(actor["publicKey"]["owner"], server.actor_url("isg"));
    assert!(
        actor["publicKey"]["publicKeyPem"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );

    // Every term used is defined by ActivityStreams, the security vocabulary, or the
    // document's own context, so JSON-LD expansion leaves nothing undefined.
    let context_terms: Vec<String> = actor["@context"][2]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let vocabulary = [
        "@context",
        "id",
        "type",
        "preferredUsername",
        "name",
        "summary",
        "url",
        "published",
        "inbox",
        "outbox",
        "followers",
        "following",
        "endpoints",
        "publicKey",
        "attachment",
        "icon",
        "image",
    ];
    for key in actor.as_object().unwrap().keys() {
        assert!(
            vocabulary.contains(&key.as_str()) || context_terms.contains(key),
            "{key} is not declared"
        );
    }
    assert_eq!(
        actor["@context"][0],
        "https://www.w3.org/ns/activitystreams"
    );
    assert_eq!(actor["@context"][1], "https://w3id.org/security/v1");
    server.stop().await;
}

#[tokio::test]
async fn unknown_actors_are_404_everywhere() {
    let server = TestServer::start().await;
    for path in [
        "/users/ghost",
        "/users/ghost/followers",
        "/users/ghost/outbox",
        "/@ghost",
    ] {
        let response = reqwest::get(server.url(path)).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn a_signed_follow_is_accepted_and_the_follower_listed() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let peer = Peer::start().await;
    let alice = peer.add_actor("alice");

    let follow = alice.follow(&server.actor_url("isg"));
    let response = alice.post(&server.url("/users/isg/inbox"), &follow).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    let accept = peer.wait_for("Accept").await;
    assert!(accept.signature_valid, "the Accept is signed by isg's key");
    assert_eq!(accept.path, "inbox", "delivered to the shared inbox");
    assert_eq!(accept.activity["actor"], server.actor_url("isg"));
    assert_eq!(accept.activity["object"]["id"], follow["id"]);

    let (_, _, collection) = get_json(
        &server.url("/users/isg/followers"),
        "application/activity+json",
    )
    .await;
    assert_eq!(collection["type"], "OrderedCollection");
    assert_eq!(collection["totalItems"], 1);
    let (_, _, page) = get_json(
        collection["first"].as_str().unwrap(),
        "application/activity+json",
    )
    .await;
    assert_eq!(page["type"], "OrderedCollectionPage");
    assert_eq!(page["orderedItems"], json!([alice.id]));
    server.stop().await;
}

#[tokio::test]
async fn undo_follow_removes_the_follower() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let peer = Peer::start().await;
    let alice = peer.add_actor("alice");
    let follow = alice.follow(&server.actor_url("isg"));
    assert_eq!(
        alice.post(&server.url("/inbox"), &follow).await.status(),
        StatusCode::ACCEPTED
    );

    let undo = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}#undo", follow["id"].as_str().unwrap()),
        "type": "Undo",
        "actor": alice.id,
        "object": follow,
    });
    assert_eq!(
        alice.post(&server.url("/inbox"), &undo).await.status(),
        StatusCode::ACCEPTED
    );
    let (_, _, collection) = get_json(
        &server.url("/users/isg/followers"),
        "application/activity+json",
    )
    .await;
    assert_eq!(collection["totalItems"], 0);
    server.stop().await;
}

#[tokio::test]
async fn a_redelivered_activity_is_acknowledged_but_applied_once() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let peer = Peer::start().await;
    let alice = peer.add_actor("alice");
    let follow = alice.follow(&server.actor_url("isg"));
    for _ in 0..3 {
        assert_eq!(
            alice.post(&server.url("/inbox"), &follow).await.status(),
            StatusCode::ACCEPTED
        );
    }
    peer.wait_for("Accept").await;
    let store = server.store().await;
    let counts = store.delivery_counts().await.unwrap();
    assert_eq!(
        counts.queued + counts.delivered,
        1,
        "one Accept for one Follow id"
    );
    server.stop().await;
}

/// Several activities of an actor we do not know yet, arriving at the same moment: its actor
/// document is fetched once, and every activity is applied.
#[tokio::test]
async fn concurrent_activities_of_an_unknown_actor_fetch_it_once() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let id = server
        .publish_post(
            "isg",
            broadside::domain::PostKind::Statement,
            Some("Statement"),
            "Text",
            "en",
        )
        .await;
    let peer = Peer::start().await;
    let alice = peer.add_actor("alice");
    let inbox = server.url("/inbox");
    let likes: Vec<Value> = (0..8)
        .map(|n| {
            json!({"id": format!("{}/likes/{n}", alice.id), "type": "Like",
                        "actor": alice.id, "object": server.post_url("isg", id)})
        })
        .collect();
    let statuses =
        futures::future::join_all(likes.iter().map(|like| alice.post(&inbox, like))).await;
    assert!(statuses.iter().all(|r| r.status() == StatusCode::ACCEPTED));
    assert_eq!(
        peer.fetches(alice.id.path()),
        1,
        "one fetch for eight requests"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_manually_approving_account_keeps_follows_pending_until_approved() {
    let server = TestServer::start().await;
    server.create_actor("isg", true).await;
    let peer = Peer::start().await;
    let alice = peer.add_actor("alice");
    let follow = alice.follow(&server.actor_url("isg"));
    assert_eq!(
        alice.post(&server.url("/inbox"), &follow).await.status(),
        StatusCode::ACCEPTED
    );

    let (_, _, actor) = get_json(&server.actor_url("isg"), "application/activity+json").await;
    assert_eq!(actor["manuallyApprovesFollowers"], true);
    let store = server.store().await;
    let isg = store.actor_by_username("isg").await.unwrap().unwrap();
    let pending = store
        .followers(isg.id, broadside::domain::FollowState::Pending, 10, 0)
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);
    assert!(peer.received().is_empty(), "no Accept before approval");

    broadside::federation::activities::accept::approve_pending(
        &store,
        &server.base,
        &isg,
        &pending[0],
    )
    .await
    .unwrap();
    let accept = peer.wait_for("Accept").await;
    assert_eq!(accept.activity["object"]["id"], follow["id"]);
    server.stop().await;
}

#[tokio::test]
async fn an_unsigned_request_gets_401_without_any_fetch() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let body = json!({"id": "http://127.0.0.1:9/x", "type": "Follow", "actor": "http://127.0.0.1:9/a", "object": server.actor_url("isg")});
    let response = reqwest::Client::new()
        .post(server.url("/inbox"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    server.stop().await;
}

#[tokio::test]
async fn forged_and_stale_signatures_get_401() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let peer = Peer::start().await;
    let alice = peer.add_actor("alice");
    let mallory = peer.add_actor("mallory");
    let inbox = server.url("/inbox");
    let follow = alice.follow(&server.actor_url("isg"));
    let body = follow.to_string().into_bytes();

    // Signed by another actor's key while claiming to be alice (signer ≠ actor).
    let forged = mallory.signed_headers(&inbox, &body, &mallory.key_id, chrono::Utc::now());
    assert_eq!(
        alice
            .send(&inbox, body.clone(), forged, |_| {})
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );

    // Alice's key id, mallory's private key: the signature does not verify.
    let wrong_key = mallory.signed_headers(&inbox, &body, &alice.key_id, chrono::Utc::now());
    assert_eq!(
        alice
            .send(&inbox, body.clone(), wrong_key, |_| {})
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );

    // A signature two hours old, and one two hours in the future.
    for hours in [-2, 2] {
        let at = chrono::Utc::now() + chrono::Duration::hours(hours);
        let stale = alice.signed_headers(&inbox, &body, &alice.key_id, at);
        assert_eq!(
            alice
                .send(&inbox, body.clone(), stale, |_| {})
                .await
                .status(),
            StatusCode::UNAUTHORIZED,
            "{hours}h"
        );
    }

    // The body changed after signing: the digest no longer matches.
    let mut changed = follow.clone();
    changed["object"] = json!(server.actor_url("other"));
    let signed_for_original =
        alice.signed_headers(&inbox, &body, &alice.key_id, chrono::Utc::now());
    let response = alice
        .send(
            &inbox,
            changed.to_string().into_bytes(),
            signed_for_original,
            |_| {},
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // A key id on another host than the actor.
    let elsewhere = alice.signed_headers(
        &inbox,
        &body,
        "https://elsewhere.example/keys/1",
        chrono::Utc::now(),
    );
    assert_eq!(
        alice
            .send(&inbox, body.clone(), elsewhere, |_| {})
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );

    // An RFC 9421 signature, which Broadside does not speak: 401 so the sender falls back.
    let rfc9421 = alice
        .post_raw(&inbox, body.clone(), |h| {
            h.remove("signature");
            h.insert(
                "signature-input",
                "sig1=(\"@method\" \"@target-uri\");keyid=\"k\""
                    .parse()
                    .unwrap(),
            );
            h.insert("signature", "sig1=:AAAA:".parse().unwrap());
        })
        .await;
    assert_eq!(rfc9421.status(), StatusCode::UNAUTHORIZED);

    // A Signature header that is not a signature at all.
    let garbage = alice.post_raw(&inbox, body.clone(), |h| {
        h.insert("signature", "%%% not a signature".parse().unwrap());
    });
    assert_eq!(garbage.await.status(), StatusCode::UNAUTHORIZED);

    assert!(peer.received().is_empty(), "nothing was accepted");
    server.stop().await;
}

#[tokio::test]
async fn malformed_json_gets_400() {
    let server = TestServer::start().await;
    let peer = Peer::start().await;
    let alice = peer.add_actor("alice");
    let response = alice
        .post_raw(&server.url("/inbox"), b"{\"id\": ".to_vec(), |_| {})
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let not_activity = alice
        .post_raw(&server.url("/inbox"), b"[1,2,3]".to_vec(), |_| {})
        .await;
    assert_eq!(not_activity.status(), StatusCode::BAD_REQUEST);
    server.stop().await;
}

#[tokio::test]
async fn a_huge_body_gets_413() {
    let server = TestServer::start().await;
    let peer = Peer::start().await;
    let alice = peer.add_actor("alice");
    let huge = vec![b' '; broadside::web::MAX_INBOX_BODY + 1];
    let response = alice.post_raw(&server.url("/inbox"), huge, |_| {}).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    server.stop().await;
}

#[tokio::test]
async fn an_inbox_of_an_unknown_account_is_404() {
    let server = TestServer::start().await;
    let peer = Peer::start().await;
    let alice = peer.add_actor("alice");
    let response = alice
        .post(
            &server.url("/users/ghost/inbox"),
            &alice.follow(&server.actor_url("ghost")),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    server.stop().await;
}

#[tokio::test]
async fn an_unknown_activity_type_is_acknowledged() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let peer = Peer::start().await;
    let alice = peer.add_actor("alice");
    let emoji = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": alice.id.join("/reacts/1").unwrap(),
        "type": "EmojiReact",
        "actor": alice.id,
        "object": server.actor_url("isg"),
        "content": "✊",
    });
    assert_eq!(
        alice.post(&server.url("/inbox"), &emoji).await.status(),
        StatusCode::ACCEPTED
    );
    server.stop().await;
}

#[tokio::test]
async fn deleting_an_actor_that_is_gone_removes_its_follows() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let peer = Peer::start().await;
    let alice = peer.add_actor("alice");
    assert_eq!(
        alice
            .post(
                &server.url("/inbox"),
                &alice.follow(&server.actor_url("isg"))
            )
            .await
            .status(),
        StatusCode::ACCEPTED
    );

    // The account is deleted at its origin: its URL now answers 410 Gone.
    peer.serve_status(
        alice.id.path(),
        StatusCode::GONE,
        json!({"type": "Tombstone", "id": alice.id}),
    );
    let delete = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}#delete", alice.id),
        "type": "Delete",
        "actor": alice.id,
        "object": alice.id,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
    });
    assert_eq!(
        alice.post(&server.url("/inbox"), &delete).await.status(),
        StatusCode::ACCEPTED
    );
    let (_, _, collection) = get_json(
        &server.url("/users/isg/followers"),
        "application/activity+json",
    )
    .await;
    assert_eq!(collection["totalItems"], 0);

    // A Delete from an actor we never knew, whose key is gone too, is acknowledged.
    let stranger = peer.add_actor("stranger");
    peer.serve_status(stranger.id.path(), StatusCode::GONE, json!({}));
    let delete = json!({"id": format!("{}#delete", stranger.id), "type": "Delete", "actor": stranger.id, "object": stranger.id});
    assert_eq!(
        stranger.post(&server.url("/inbox"), &delete).await.status(),
        StatusCode::ACCEPTED
    );
    server.stop().await;
}

#[tokio::test]
async fn a_rotated_key_is_refetched_once() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let peer = Peer::start().await;
    let alice = peer.add_actor("alice");
    assert_eq!(
        alice
            .post(
                &server.url("/inbox"),
                &alice.follow(&server.actor_url("isg"))
            )
            .await
            .status(),
        StatusCode::ACCEPTED
    );

    // Alice's server rotates her key; Broadside still has the old one cached.
    let mut rotated = alice.clone();
    rotated.keys = broadside::federation::keys::generate().unwrap();
    let doc = json!({
        "id": alice.id, "type": "Person", "preferredUsername": "alice",
        "inbox": peer.url("/users/alice/inbox"),
        "publicKey": {"id": alice.key_id, "owner": alice.id, "publicKeyPem": rotated.keys.public_key_pem},
    });
    peer.serve(alice.id.path(), doc);
    let follow = rotated.follow(&server.actor_url("isg"));
    assert_eq!(
        rotated.post(&server.url("/inbox"), &follow).await.status(),
        StatusCode::ACCEPTED
    );
    server.stop().await;
}

#[tokio::test]
async fn a_receiver_error_is_retried_and_recorded() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let peer = Peer::start().await;
    peer.script_inbox(vec![StatusCode::SERVICE_UNAVAILABLE]);
    let alice = peer.add_actor("alice");
    assert_eq!(
        alice
            .post(
                &server.url("/inbox"),
                &alice.follow(&server.actor_url("isg"))
            )
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    peer.wait_for("Accept").await;

    let store = server.store().await;
    eventually("the failed attempt to be recorded for a retry", || {
        let store = store.clone();
        async move {
            store.delivery_counts().await.unwrap().queued == 1
                && store.next_delivery_due().await.unwrap().is_some()
        }
    })
    .await;
    let due = store.next_delivery_due().await.unwrap().unwrap();
    let wait = due - chrono::Utc::now().timestamp_millis();
    assert!(
        (30_000..=61_000).contains(&wait),
        "retried in about a minute, not {wait} ms"
    );

    // The 503 marked the host failing, though the inbox heard from it a moment before (and
    // remembers that for a minute): the worker's failure makes the inbox look again, so the
    // next activity from the host marks it reachable.
    let host = broadside::config::authority(&peer.origin);
    assert!(store.host_failing_since(&host).await.unwrap().is_some());
    let again = alice.follow(&server.actor_url("isg"));
    assert_eq!(
        alice.post(&server.url("/inbox"), &again).await.status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(store.host_failing_since(&host).await.unwrap(), None);
    server.stop().await;
}

#[tokio::test]
async fn an_activity_from_a_failing_host_marks_it_reachable_again() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let peer = Peer::start().await;
    let alice = peer.add_actor("alice");
    let store = server.store().await;
    let host = broadside::config::authority(&peer.origin);
    store.record_host_failure(&host).await.unwrap();
    assert!(store.host_failing_since(&host).await.unwrap().is_some());
    let follow = alice.follow(&server.actor_url("isg"));
    assert_eq!(
        alice.post(&server.url("/inbox"), &follow).await.status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(
        store.host_failing_since(&host).await.unwrap(),
        None,
        "heard from again"
    );
    server.stop().await;
}

/// `depth` empty arrays, one inside the other. serde_json refuses JSON nested deeper than 128,
/// so neither an inbox body nor a fetched document can overflow the stack.
fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

// Bad input: an activity whose JSON nests 10,000 deep gets 400, and the server is unharmed.
#[tokio::test]
async fn a_deeply_nested_body_gets_400() {
    let server = TestServer::start().await;
    let peer = Peer::start().await;
    let alice = peer.add_actor("alice");
    let body = format!(
        r#"{{"id": "{}/n", "type": "Like", "actor": "{}", "object": {}}}"#,
        alice.id,
        alice.id,
        nested(10_000)
    );
    let response = alice
        .post_raw(&server.url("/inbox"), body.into_bytes(), |_| {})
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let problem = response.text().await.unwrap();
    assert!(problem.contains("recursion limit"), "{problem}");
    let (status, _, _) = get_json(&server.url("/healthz"), "application/json").await;
    assert_eq!(status, StatusCode::OK);
    server.stop().await;
}

// Bad input from a remote server: an actor document whose `url` (read as free JSON) nests 130
// deep is refused when it is fetched to verify a signature (401, nothing stored).
#[tokio::test]
async fn a_deeply_nested_actor_document_is_refused() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let peer = Peer::start().await;
    let alice = peer.add_actor("alice");
    let mut actor = reqwest::Client::new()
        .get(alice.id.as_str())
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    actor["url"] = serde_json::from_str(&nested(100)).unwrap();
    // serde_json reads 100 deep; 30 more levels put the document past its limit of 128.
    for _ in 0..30 {
        actor["url"] = json!([actor["url"].take()]);
    }
    peer.serve(alice.id.path(), actor);
    let follow = alice.follow(&server.actor_url("isg"));
    let response = alice.post(&server.url("/users/isg/inbox"), &follow).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let problem = response.text().await.unwrap();
    assert!(problem.contains("could not be fetched"), "{problem}");
    let (status, _, followers) = get_json(
        &server.url("/users/isg/followers"),
        "application/activity+json",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(followers["totalItems"], 0);
    server.stop().await;
}
