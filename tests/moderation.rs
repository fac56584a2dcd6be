//! Moderation end to end: blocking domains and actors (refused with 403, their follows and
//! posts removed, nothing delivered to them), importing a Mastodon blocklist, reports (Flag)
//! listed to admins, and the inbox's per-host rate limit. The store part runs on SQLite and,
//! when BROADSIDE_TEST_POSTGRES_URL is set, on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod common;

use broadside::{
    domain::{ActorKind, BlockedDomain, FollowState, NewActor, PostKind, Username},
    federation::{
        delivery::{self, Outgoing},
        moderation,
        rate_limit::INBOX_BURST,
    },
    store::{
        Store,
        deliveries::NewOutboxActivity,
        interactions::{InteractionKind, NewInteraction},
        remote_actors::NewRemoteActor,
        remote_posts::NewRemotePost,
        reports::NewReport,
    },
};
use common::{Peer, RemoteTestActor, TestDb, TestServer, backends, cli, eventually, fixture};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use url::Url;

async fn followers_total(server: &TestServer) -> i64 {
    let collection: Value = reqwest::Client::new()
        .get(server.url("/users/isg/followers"))
        .header(header::ACCEPT, "application/activity+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    collection["totalItems"].as_i64().unwrap()
}

/// `actor` follows isg, and the Accept comes back.
async fn follow_isg(server: &TestServer, actor: &RemoteTestActor) {
    let follow = actor.follow(&server.actor_url("isg"));
    let response = actor.post(&server.url("/users/isg/inbox"), &follow).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    actor.peer.wait_for("Accept").await;
}

fn like(actor: &RemoteTestActor, server: &TestServer) -> Value {
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}#likes/{}", actor.id, rand_suffix()),
        "type": "Like",
        "actor": actor.id,
        "object": server.post_url("isg", 1),
    })
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    )
    .unwrap()
}

async fn assert_forbidden(response: reqwest::Response) {
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["status"], 403);
}

#[tokio::test]
async fn a_blocked_domains_activities_get_403_and_its_follower_is_gone() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let blocked = Peer::start().await;
    let other = Peer::start().await;
    let alice = blocked.add_actor("alice");
    let carol = other.add_actor("carol");
    follow_isg(&server, &alice).await;
    follow_isg(&server, &carol).await;
    assert_eq!(followers_total(&server).await, 2);
    let post = server
        .publish_post("isg", PostKind::News, None, "Hello", "en")
        .await;
    let response = alice
        .post(&server.url("/inbox"), &like(&alice, &server))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let store = server.store().await;
    assert_eq!(store.interaction_counts(post).await.unwrap().likes, 1);
    // The Accepts are marked delivered just after the peer has them.
    eventually("the Accepts to be delivered", || async {
        store.delivery_counts().await.unwrap().queued == 0
    })
    .await;

    let host = broadside::config::authority(&blocked.origin);
    let out = cli(&server, &["block", "domain", &host]).await.unwrap();
    assert_eq!(
        out,
        format!(
            "blocked {host}: removed 1 followers, 0 follows, 0 kept posts, 1 interactions, \
             0 queued deliveries"
        )
    );
    assert_eq!(store.interaction_counts(post).await.unwrap().likes, 0);
    // The collection is cached; the block moves the site version, which the server polls.
    eventually("alice's follow to be gone", || async {
        followers_total(&server).await == 1
    })
    .await;

    // Everything from the blocked host is refused, whatever it is and wherever it is sent.
    assert_forbidden(
        alice
            .post(&server.url("/inbox"), &like(&alice, &server))
            .await,
    )
    .await;
    let again = alice.follow(&server.actor_url("isg"));
    assert_forbidden(alice.post(&server.url("/users/isg/inbox"), &again).await).await;
    assert_eq!(followers_total(&server).await, 1);

    // Refused by the actor id before anything is fetched: an actor of the blocked host that
    // we never saw stays unknown.
    let dave = blocked.add_actor("dave");
    let dave_follow = dave.follow(&server.actor_url("isg"));
    assert_forbidden(dave.post(&server.url("/inbox"), &dave_follow).await).await;
    assert!(
        store
            .remote_actor_by_ap_id(&dave.id)
            .await
            .unwrap()
            .is_none()
    );

    // Other servers are not affected.
    let response = carol
        .post(&server.url("/inbox"), &like(&carol, &server))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    // Nothing is queued for the blocked host, even when asked for explicitly.
    let counts = store.delivery_counts().await.unwrap();
    let activity_id = Url::parse(&format!("{}#test", server.actor_url("isg"))).unwrap();
    let mut tx = store.begin().await.unwrap();
    let outgoing = Outgoing {
        ap_id: &activity_id,
        kind: "Create",
        signer: None,
        post_id: None,
    };
    let inboxes = [
        blocked.url("/inbox"),
        blocked.url("/users/alice/inbox"),
        other.url("/inbox"),
    ];
    delivery::enqueue(&mut tx, outgoing, &json!({"type": "Create"}), &inboxes)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let after = store.delivery_counts().await.unwrap();
    assert_eq!(
        after.queued + after.delivered + after.failed,
        counts.queued + counts.delivered + counts.failed + 1,
        "only the other server's inbox is queued"
    );

    let listed = cli(&server, &["block", "list"]).await.unwrap();
    assert!(listed.starts_with(&format!("domain\t{host}\t")), "{listed}");
    assert_eq!(
        cli(&server, &["unblock", "domain", &host]).await.unwrap(),
        format!("unblocked {host}")
    );
    let response = alice
        .post(&server.url("/inbox"), &like(&alice, &server))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED, "unblocked again");
    store.close().await;
    server.stop().await;
}

#[tokio::test]
async fn blocking_an_actor_refuses_that_actor_only() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let peer = Peer::start().await;
    let alice = peer.add_actor("alice");
    let bob = peer.add_actor("bob");
    follow_isg(&server, &alice).await;
    assert_eq!(followers_total(&server).await, 1);

    // A handle we know is found without the network.
    let handle = format!("@alice@{}", broadside::config::authority(&peer.origin));
    let out = cli(&server, &["block", "actor", &handle]).await.unwrap();
    assert!(
        out.starts_with(&format!("blocked {}: removed 1 followers", alice.id)),
        "{out}"
    );
    eventually("alice's follow to be gone", || async {
        followers_total(&server).await == 0
    })
    .await;
    assert_forbidden(
        alice
            .post(&server.url("/inbox"), &like(&alice, &server))
            .await,
    )
    .await;

    // Bob, on the same server, is still heard and still followed back.
    let bob_follow = bob.follow(&server.actor_url("isg"));
    let response = bob.post(&server.url("/users/isg/inbox"), &bob_follow).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(followers_total(&server).await, 1);

    let listed = cli(&server, &["block", "list"]).await.unwrap();
    assert!(
        listed.starts_with(&format!("actor\t{}\t", alice.id)),
        "{listed}"
    );
    assert_eq!(
        cli(&server, &["block", "actor", alice.id.as_str()])
            .await
            .unwrap(),
        format!(
            "{} was already blocked: removed 0 followers, 0 follows, 0 kept posts, \
             0 interactions, 0 queued deliveries",
            alice.id
        )
    );
    assert_eq!(
        cli(&server, &["unblock", "actor", alice.id.as_str()])
            .await
            .unwrap(),
        format!("unblocked {}", alice.id)
    );
    let response = alice
        .post(&server.url("/inbox"), &like(&alice, &server))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    server.stop().await;
}

#[tokio::test]
async fn a_mastodon_blocklist_is_imported_once_and_suspends_only() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let peer = Peer::start().await;
    let alice = peer.add_actor("alice");
    follow_isg(&server, &alice).await;
    let host = broadside::config::authority(&peer.origin);

    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("blocklist.csv");
    std::fs::write(
        &csv,
        format!(
            "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n\
             spam.example,suspend,false,false,\"Spam, mostly\",false\n\
             {host},suspend,true,true,Harassment,false\n\
             loud.example,silence,false,false,,false\n\
             pics.example,noop,true,false,,false\n\
             not a domain,suspend,false,false,,false\n"
        ),
    )
    .unwrap();
    let path = csv.to_str().unwrap();
    let out = cli(&server, &["block", "import", path]).await.unwrap();
    assert_eq!(
        out,
        "skipped\tloud.example\tsilence\n\
         skipped\tpics.example\tnoop\n\
         added 2 domain blocks (0 already blocked, 2 skipped, 1 unreadable)"
    );
    assert_eq!(
        followers_total(&server).await,
        0,
        "the imported block applies"
    );
    assert_forbidden(
        alice
            .post(&server.url("/inbox"), &like(&alice, &server))
            .await,
    )
    .await;

    let again = cli(&server, &["block", "import", path]).await.unwrap();
    assert!(
        again.ends_with("added 0 domain blocks (2 already blocked, 2 skipped, 1 unreadable)"),
        "{again}"
    );
    let listed = cli(&server, &["block", "list"]).await.unwrap();
    let domains: Vec<&str> = listed
        .lines()
        .map(|line| line.split('\t').nth(1).unwrap())
        .collect();
    let mut expected = vec![host.as_str(), "spam.example"];
    expected.sort_unstable();
    assert_eq!(domains, expected);
    assert!(listed.contains("\tSpam, mostly"), "{listed}");

    // A plain list, one domain per line, works too.
    let plain = dir.path().join("plain.txt");
    std::fs::write(&plain, "# ours\nother.example\n*.spam.example\n").unwrap();
    let out = cli(&server, &["block", "import", plain.to_str().unwrap()])
        .await
        .unwrap();
    assert_eq!(
        out,
        "added 1 domain blocks (1 already blocked, 0 skipped, 0 unreadable)"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_flag_from_mastodon_is_kept_and_listed_to_admins() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let peer = Peer::start().await;
    let signer = peer.add_actor("signer-keys");
    let pem = signer.keys.public_key_pem.clone();
    // Mastodon reports from its instance actor, so the reporting person stays anonymous.
    let actor = fixture("mastodon", "instance_actor.json", &peer, &server, &pem);
    let actor_id = Url::parse(actor["id"].as_str().unwrap()).unwrap();
    peer.serve(actor_id.path(), actor.clone());
    let mut instance = signer.clone();
    instance.id = actor_id.clone();
    instance.key_id = actor["publicKey"]["id"].as_str().unwrap().to_owned();

    let flag = fixture("mastodon", "flag.json", &peer, &server, &pem);
    let response = instance.post(&server.url("/users/isg/inbox"), &flag).await;
    assert_eq!(
        response.status(),
        StatusCode::ACCEPTED,
        "{}",
        response.text().await.unwrap()
    );
    // Delivered twice (a retry): kept once.
    let response = instance.post(&server.url("/inbox"), &flag).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    let listed = cli(&server, &["report", "list"]).await.unwrap();
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 1, "{listed}");
    let fields: Vec<&str> = lines[0].split('\t').collect();
    assert_eq!(fields.len(), 4, "{listed}");
    assert!(
        chrono::NaiveDateTime::parse_from_str(fields[0], "%Y-%m-%d %H:%M").is_ok(),
        "{listed}"
    );
    assert_eq!(fields[1], actor_id.as_str());
    assert_eq!(
        fields[2],
        format!("{} {}", server.actor_url("isg"), server.post_url("isg", 1))
    );
    assert_eq!(fields[3], "Spam: the same link posted to every reply");

    // A Flag about nothing of ours is refused.
    let mut elsewhere = flag.clone();
    elsewhere["id"] = json!(peer.url("/another-report").as_str());
    elsewhere["object"] = json!(["https://elsewhere.example/users/x"]);
    let response = instance.post(&server.url("/inbox"), &elsewhere).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        cli(&server, &["report", "list"])
            .await
            .unwrap()
            .lines()
            .count(),
        1
    );
    server.stop().await;
}

#[tokio::test]
async fn the_inbox_answers_429_with_retry_after_past_a_hosts_allowance() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let flooding = Peer::start().await;
    let calm = Peer::start().await;
    let alice = flooding.add_actor("alice");
    let carol = calm.add_actor("carol");
    let inbox = server.url("/inbox");
    // One signed request, sent again and again, as a misbehaving server's retries would be.
    // "Arrive" is a type Broadside acknowledges without acting on it.
    let body = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}#arrive", alice.id),
        "type": "Arrive",
        "actor": alice.id,
    })
    .to_string()
    .into_bytes();
    let headers = alice.signed_headers(&inbox, &body, &alice.key_id, chrono::Utc::now());

    // Tokens trickle back while the burst is sent (10 a second), so allow for a few more.
    let burst = usize::try_from(INBOX_BURST).unwrap();
    let mut accepted = 0;
    let mut limited = None;
    for _ in 0..burst * 2 {
        let response = alice
            .send(&inbox, body.clone(), headers.clone(), |_| {})
            .await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(response);
            break;
        }
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        accepted += 1;
    }
    let limited = limited.expect("the burst was never limited");
    assert!(
        (burst..burst + 50).contains(&accepted),
        "{accepted} accepted before the first 429"
    );
    let retry_after: u64 = limited.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=10).contains(&retry_after), "{retry_after}");
    assert_eq!(
        limited.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );

    // Another host has its own allowance.
    let response = carol.post(&inbox, &like(&carol, &server)).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    server.stop().await;
}

// The store's side of blocks and reports, on every backend.

fn new_actor(username: &str) -> NewActor {
    NewActor {
        username: Username::parse(username).unwrap(),
        kind: ActorKind::Organization,
        name: "ISG".into(),
        summary_md: String::new(),
        summary_html: String::new(),
        public_key_pem: "public".into(),
        private_key_pem: "private".into(),
    }
}

fn new_remote(host: &str, name: &str) -> NewRemoteActor {
    let url = |path: &str| Url::parse(&format!("https://{host}{path}")).unwrap();
    NewRemoteActor {
        ap_id: url(&format!("/users/{name}")),
        actor_type: "Person".into(),
        username: name.into(),
        host: host.into(),
        name: None,
        inbox: url(&format!("/users/{name}/inbox")),
        shared_inbox: Some(url("/inbox")),
        url: None,
        public_key_id: format!("https://{host}/users/{name}#main-key"),
        public_key_pem: "pem".into(),
    }
}

fn remote_post(author: i64, ap_id: &str) -> NewRemotePost {
    NewRemotePost {
        ap_id: Url::parse(ap_id).unwrap(),
        remote_actor_id: author,
        kind: "Note".into(),
        name: None,
        summary: None,
        content: "<p>hello</p>".into(),
        language: None,
        url: None,
        in_reply_to: None,
        published_at: 1,
        edited_at: None,
    }
}

async fn open(db: &TestDb) -> Store {
    let store = Store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    store
}

/// Queues one delivery to each inbox, bypassing the block filter (as if queued before the
/// block was made).
async fn queue_raw(store: &Store, id: &str, inboxes: &[Url]) {
    let mut tx = store.begin().await.unwrap();
    let row = tx
        .insert_outbox_activity(&NewOutboxActivity {
            ap_id: Url::parse(id).unwrap(),
            kind: "Create",
            actor_id: None,
            post_id: None,
            body: "{}".into(),
        })
        .await
        .unwrap();
    tx.enqueue_deliveries(row, inboxes).await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn store_blocks_purge_and_filter_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = open(&db).await;
        let mut tx = store.begin().await.unwrap();
        let isg = tx.insert_actor(&new_actor("isg")).await.unwrap();
        tx.commit().await.unwrap();
        let bad = store
            .upsert_remote_actor(&new_remote("bad.example", "a"))
            .await
            .unwrap();
        let sub = store
            .upsert_remote_actor(&new_remote("social.bad.example", "b"))
            .await
            .unwrap();
        let good = store
            .upsert_remote_actor(&new_remote("bad.example.org", "c"))
            .await
            .unwrap();
        let mut tx = store.begin().await.unwrap();
        for remote in [&bad, &sub, &good] {
            tx.upsert_follower(
                isg.id,
                remote.id,
                &format!("{}#f", remote.ap_id),
                FollowState::Accepted,
            )
            .await
            .unwrap();
            tx.upsert_remote_post(&remote_post(remote.id, &format!("{}/p/1", remote.ap_id)))
                .await
                .unwrap();
            tx.insert_interaction(&NewInteraction {
                kind: InteractionKind::Mention,
                activity_id: Url::parse(&format!("{}/p/1/activity", remote.ap_id)).unwrap(),
                remote_actor_id: remote.id,
                post_id: None,
                actor_id: Some(isg.id),
                object_id: None,
                content: Some("<p>@isg</p>".into()),
                url: None,
                approved: false,
            })
            .await
            .unwrap();
        }
        tx.upsert_following(isg.id, sub.id, "https://isg.example/users/isg#follows/1")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        queue_raw(
            &store,
            "https://isg.example/a/1",
            &[bad.inbox.clone(), sub.inbox.clone(), good.inbox.clone()],
        )
        .await;

        let domain = BlockedDomain::parse("Bad.Example").unwrap();
        let outcome = moderation::block_domain(&store, &domain, "spam")
            .await
            .unwrap();
        assert!(outcome.added, "{backend}");
        assert_eq!(
            (
                outcome.purged.followers,
                outcome.purged.following,
                outcome.purged.posts,
                outcome.purged.interactions,
                outcome.purged.deliveries
            ),
            (2, 1, 2, 2, 2),
            "{backend}: the domain and its subdomain, not bad.example.org"
        );
        let counts = store.delivery_counts().await.unwrap();
        assert_eq!((counts.queued, counts.failed), (1, 2), "{backend}");
        assert_eq!(
            store
                .count_followers(isg.id, FollowState::Accepted)
                .await
                .unwrap(),
            1,
            "{backend}"
        );
        assert!(
            !moderation::block_domain(&store, &domain, "")
                .await
                .unwrap()
                .added
        );

        assert_eq!(
            store.block_covering(&sub.ap_id).await.unwrap().as_deref(),
            Some("domain bad.example"),
            "{backend}"
        );
        assert_eq!(store.block_covering(&good.ap_id).await.unwrap(), None);

        // An actor block: its own inbox is filtered, its server's shared inbox is not.
        let outcome = moderation::block_actor(&store, &good.ap_id).await.unwrap();
        assert_eq!(outcome.purged.followers, 1, "{backend}");
        assert_eq!(outcome.purged.deliveries, 1, "{backend}");
        assert_eq!(
            store.block_covering(&good.ap_id).await.unwrap(),
            Some(format!("actor {}", good.ap_id))
        );
        let candidates = [
            bad.inbox.clone(),
            sub.shared_inbox.clone().unwrap(),
            good.inbox.clone(),
            good.shared_inbox.clone().unwrap(),
        ];
        let mut tx = store.begin().await.unwrap();
        let blocked = tx.blocked_inboxes(&candidates).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(blocked.len(), 3, "{backend}: {blocked:?}");
        assert!(!blocked.contains(good.shared_inbox.as_ref().unwrap()));

        let domains = store.domain_blocks().await.unwrap();
        assert_eq!(domains.len(), 1);
        assert_eq!(domains[0].comment, "spam");
        assert_eq!(store.actor_blocks().await.unwrap()[0].ap_id, good.ap_id);
        assert!(moderation::unblock_domain(&store, &domain).await.unwrap());
        assert!(!moderation::unblock_domain(&store, &domain).await.unwrap());
        assert!(
            moderation::unblock_actor(&store, &good.ap_id)
                .await
                .unwrap()
        );
        assert_eq!(store.block_covering(&sub.ap_id).await.unwrap(), None);

        // An import: re-running it adds nothing.
        let list = "#domain,#severity\nbad.example,suspend\nquiet.example,silence\n";
        let first = moderation::import_blocklist(&store, list).await.unwrap();
        assert_eq!((first.added.len(), first.skipped.len()), (1, 1));
        let second = moderation::import_blocklist(&store, list).await.unwrap();
        assert_eq!((second.added.len(), second.already), (0, 1));

        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn store_reports_round_trip_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = open(&db).await;
        for n in 1..=2 {
            let mut tx = store.begin().await.unwrap();
            tx.insert_report(&NewReport {
                activity_id: Url::parse(&format!("https://m.example/r{n}")).unwrap(),
                reporter: Url::parse("https://m.example/actor").unwrap(),
                objects: vec![
                    Url::parse("https://isg.example/users/isg").unwrap(),
                    Url::parse(&format!("https://isg.example/users/isg/posts/{n}")).unwrap(),
                ],
                content: format!("report {n}"),
            })
            .await
            .unwrap();
            tx.commit().await.unwrap();
        }
        let reports = store.reports(10, 0).await.unwrap();
        assert_eq!(reports.len(), 2, "{backend}");
        assert_eq!(reports[0].content, "report 2", "{backend}: newest first");
        assert_eq!(reports[0].objects.len(), 2);
        let mut tx = store.begin().await.unwrap();
        let duplicate = tx
            .insert_report(&NewReport {
                activity_id: Url::parse("https://m.example/r1").unwrap(),
                reporter: Url::parse("https://m.example/actor").unwrap(),
                objects: Vec::new(),
                content: String::new(),
            })
            .await;
        assert!(
            matches!(
                duplicate,
                Err(broadside::store::StoreError::Conflict(
                    "reports_activity_id_key"
                ))
            ),
            "{backend}: {duplicate:?}"
        );
        drop(tx);
        store.close().await;
        db.cleanup().await;
    }
}
