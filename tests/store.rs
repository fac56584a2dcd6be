//! The store on both backends: SQLite always, PostgreSQL when BROADSIDE_TEST_POSTGRES_URL is
//! set (CI sets it; there a missing server fails the run).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod common;

use broadside::{
    app::{self, AppState, Role},
    config::Config,
    domain::{ActorKind, FollowState, NewActor, Username},
    store::{
        Store, StoreError,
        deliveries::{Delivered, NewOutboxActivity},
        remote_actors::NewRemoteActor,
    },
};
use common::{Peer, TestDb, backends, eventually};
use url::Url;

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

fn new_remote(name: &str) -> NewRemoteActor {
    NewRemoteActor {
        ap_id: Url::parse(&format!("https://peer.example/users/{name}")).unwrap(),
        actor_type: "Person".into(),
        username: name.into(),
        host: "peer.example".into(),
        name: None,
        inbox: Url::parse(&format!("https://peer.example/users/{name}/inbox")).unwrap(),
        shared_inbox: Some(Url::parse("https://peer.example/inbox").unwrap()),
        url: None,
        public_key_id: format!("https://peer.example/users/{name}#main-key"),
        public_key_pem: "pem".into(),
    }
}

async fn open(db: &TestDb) -> Store {
    let store = Store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap(); // idempotent
    store
}

#[tokio::test]
async fn actors_round_trip_and_duplicates_are_conflicts() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = open(&db).await;
        let mut tx = store.begin().await.unwrap();
        let actor = tx.insert_actor(&new_actor("isg")).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(actor.username.as_str(), "isg");
        assert!(
            !actor.manually_approves_followers && actor.discoverable,
            "{backend}"
        );

        let mut tx = store.begin().await.unwrap();
        let duplicate = tx.insert_actor(&new_actor("isg")).await;
        assert!(
            matches!(duplicate, Err(StoreError::Conflict("actors_username_key"))),
            "{backend}: {duplicate:?}"
        );
        drop(tx);

        assert_eq!(store.count_actors().await.unwrap(), 1, "{backend}");
        assert_eq!(
            store.actor_by_username("isg").await.unwrap().unwrap().id,
            actor.id
        );
        assert!(store.actor_by_username("nobody").await.unwrap().is_none());
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn followers_upsert_never_demotes_and_received_ids_dedupe() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = open(&db).await;
        let mut tx = store.begin().await.unwrap();
        let actor = tx.insert_actor(&new_actor("isg")).await.unwrap();
        tx.commit().await.unwrap();
        let remote = store
            .upsert_remote_actor(&new_remote("alice"))
            .await
            .unwrap();
        let again = store
            .upsert_remote_actor(&new_remote("alice"))
            .await
            .unwrap();
        assert_eq!(remote.id, again.id, "{backend}: upsert keeps the row");

        let mut tx = store.begin().await.unwrap();
        assert!(
            tx.record_received_activity("https://peer.example/a/1")
                .await
                .unwrap()
        );
        assert!(
            !tx.record_received_activity("https://peer.example/a/1")
                .await
                .unwrap(),
            "{backend}"
        );
        let (id, state) = tx
            .upsert_follower(actor.id, remote.id, "f1", FollowState::Accepted)
            .await
            .unwrap();
        assert_eq!(state, FollowState::Accepted);
        let (same, state) = tx
            .upsert_follower(actor.id, remote.id, "f2", FollowState::Pending)
            .await
            .unwrap();
        assert_eq!(
            (same, state),
            (id, FollowState::Accepted),
            "{backend}: never demoted"
        );
        tx.commit().await.unwrap();
        let far_future = broadside::store::now_millis() + 1_000_000;
        assert_eq!(
            store.prune_received_activities(0).await.unwrap(),
            0,
            "{backend}: recent ids are kept"
        );
        assert_eq!(
            store.prune_received_activities(far_future).await.unwrap(),
            1,
            "{backend}"
        );
        let mut tx = store.begin().await.unwrap();
        assert!(
            tx.record_received_activity("https://peer.example/a/1")
                .await
                .unwrap(),
            "{backend}: forgotten"
        );
        tx.commit().await.unwrap();

        let followers = store
            .followers(actor.id, FollowState::Accepted, 10, 0)
            .await
            .unwrap();
        assert_eq!(followers[0].follow_activity_id, "f2");
        assert_eq!(
            followers[0].remote.delivery_inbox().as_str(),
            "https://peer.example/inbox"
        );
        let by_handle = store
            .follower_by_handle(actor.id, "alice", "peer.example")
            .await
            .unwrap();
        assert_eq!(by_handle.unwrap().id, id);

        let mut tx = store.begin().await.unwrap();
        assert!(tx.delete_remote_actor(&remote.ap_id).await.unwrap());
        tx.commit().await.unwrap();
        assert_eq!(
            store
                .count_followers(actor.id, FollowState::Accepted)
                .await
                .unwrap(),
            0,
            "{backend}: cascade"
        );
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn deliveries_are_claimed_once_retried_and_finished() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = open(&db).await;
        let mut tx = store.begin().await.unwrap();
        let activity = NewOutboxActivity {
            ap_id: Url::parse("https://isg.example/users/isg/posts/1/activity").unwrap(),
            kind: "Create",
            actor_id: None,
            post_id: None,
            body: "{}".into(),
        };
        let stored = tx.insert_outbox_activity(&activity).await.unwrap();
        let again = tx.insert_outbox_activity(&activity).await.unwrap();
        assert_eq!(stored, again, "{backend}: one row per activity id");
        let inboxes: Vec<Url> = (0..3)
            .map(|n| Url::parse(&format!("https://host{n}.example/inbox")).unwrap())
            .collect();
        tx.enqueue_deliveries(stored, &inboxes).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            store.outbox_activity(stored).await.unwrap().unwrap().body,
            "{}"
        );

        let first = store.claim_deliveries(2, 60_000).await.unwrap();
        let second = store.claim_deliveries(10, 60_000).await.unwrap();
        assert_eq!(
            (first.len(), second.len()),
            (2, 1),
            "{backend}: a claimed row is not claimed again"
        );
        assert!(store.claim_deliveries(10, 60_000).await.unwrap().is_empty());

        store.mark_delivered(first[0].id, 202).await.unwrap();
        store
            .mark_failed(first[1].id, Some(401), "refused")
            .await
            .unwrap();
        let later = broadside::store::now_millis() + 60_000;
        store
            .schedule_retry(second[0].id, later, Some(503), "unavailable")
            .await
            .unwrap();
        let counts = store.delivery_counts().await.unwrap();
        assert_eq!(
            (counts.queued, counts.delivered, counts.failed),
            (1, 1, 1),
            "{backend}"
        );
        assert!(
            store.claim_deliveries(10, 60_000).await.unwrap().is_empty(),
            "{backend}: not due yet"
        );
        assert_eq!(store.next_delivery_due().await.unwrap(), Some(later));

        store.record_host_failure("host0.example").await.unwrap();
        let since = store
            .host_failing_since("host0.example")
            .await
            .unwrap()
            .unwrap();
        store.record_host_failure("host0.example").await.unwrap();
        assert_eq!(
            store.host_failing_since("host0.example").await.unwrap(),
            Some(since),
            "{backend}: first failure kept"
        );
        store.record_host_success("host0.example").await.unwrap();
        assert_eq!(
            store.host_failing_since("host0.example").await.unwrap(),
            None,
            "{backend}"
        );
        store.close().await;
        db.cleanup().await;
    }
}

/// Queues one delivery of a small activity to each inbox, as `delivery::enqueue` does.
async fn queue_deliveries(store: &Store, inboxes: &[Url]) -> i64 {
    let mut tx = store.begin().await.unwrap();
    let activity = tx
        .insert_outbox_activity(&NewOutboxActivity {
            ap_id: Url::parse("https://isg.example/activities/fan-out").unwrap(),
            kind: "Create",
            actor_id: None,
            post_id: None,
            // No actor: the test peer then records the POST without fetching a key.
            body: r#"{"type":"Create","id":"https://isg.example/activities/fan-out"}"#.into(),
        })
        .await
        .unwrap();
    tx.enqueue_deliveries(activity, inboxes).await.unwrap();
    tx.commit().await.unwrap();
    activity
}

/// Two workers, each with its own connection pool as two processes would have, claiming
/// side by side: no delivery is claimed twice and none is left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claims_are_disjoint_and_cover_the_queue() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = open(&db).await;
        let inboxes: Vec<Url> = (0..400)
            .map(|n| Url::parse(&format!("https://host{}.example/inbox/{n}", n % 40)).unwrap())
            .collect();
        queue_deliveries(&store, &inboxes).await;
        let work = |worker: Store| async move {
            let mut claimed = Vec::new();
            loop {
                let batch = worker.claim_deliveries(7, 60_000).await.unwrap();
                if batch.is_empty() {
                    break claimed;
                }
                let done: Vec<Delivered> = batch
                    .iter()
                    .map(|d| Delivered {
                        id: d.id,
                        status: 202,
                        recovered_host: None,
                    })
                    .collect();
                worker.record_delivered(&done).await.unwrap();
                claimed.extend(batch.into_iter().map(|d| d.id));
            }
        };
        let (first, second) = (open(&db).await, open(&db).await);
        let (a, b) = tokio::join!(
            tokio::spawn(work(first.clone())),
            tokio::spawn(work(second.clone()))
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        let all: std::collections::HashSet<i64> = a.iter().chain(&b).copied().collect();
        assert_eq!(
            all.len(),
            a.len() + b.len(),
            "{backend}: a delivery claimed twice"
        );
        assert_eq!(
            all.len(),
            inboxes.len(),
            "{backend}: a delivery left behind"
        );
        let counts = store.delivery_counts().await.unwrap();
        assert_eq!((counts.queued, counts.delivered), (0, 400), "{backend}");
        for handle in [first, second, store] {
            handle.close().await;
        }
        db.cleanup().await;
    }
}

/// Issue #7, target 6: a fan-out from two worker processes on one PostgreSQL database
/// (`--role worker` twice; here two `Role::Worker` runs, each with its own pool) neither loses
/// nor duplicates a delivery. More deliveries are queued than one worker claims at once, so
/// both take part. SQLite serves one process, so there this runs only on PostgreSQL; CI
/// requires PostgreSQL (`backends`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_deliver_each_delivery_exactly_once() {
    for backend in backends().into_iter().filter(|b| *b == "postgres") {
        let db = TestDb::new(backend).await;
        let store = open(&db).await;
        let mut peers = Vec::new();
        for _ in 0..8 {
            peers.push(Peer::start().await);
        }
        let per_peer = 150;
        let inboxes: Vec<Url> = peers
            .iter()
            .flat_map(|peer| (0..per_peer).map(|n| peer.url(&format!("/inbox/{n}"))))
            .collect();
        let mut workers = Vec::new();
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        for _ in 0..2 {
            let data_dir = tempfile::tempdir().unwrap();
            let config = Config {
                base_url: Url::parse("http://localhost:1").unwrap(),
                listen: "127.0.0.1:0".parse().unwrap(),
                database: db.url.clone(),
                data_dir: data_dir.path().to_path_buf(),
                allow_private_networks: true,
                extra_ca_pem: None,
                log: "warn".into(),
                api_requests_per_minute: broadside::config::DEFAULT_API_REQUESTS_PER_MINUTE,
                authorized_fetch: false,
                http_threads: std::num::NonZeroUsize::new(2).unwrap(),
            };
            // One after the other: the first makes the instance keys the second then reads.
            let state = AppState::prepare(config).await.unwrap();
            let shutdown = shutdown.clone();
            workers.push((
                tokio::spawn(async move {
                    app::run_prepared(state, Role::Worker, None, shutdown)
                        .await
                        .unwrap();
                }),
                data_dir,
            ));
        }
        // Queued through a third handle, as the CLI would: neither worker is woken; both poll.
        queue_deliveries(&store, &inboxes).await;
        eventually("every delivery recorded", || {
            let store = store.clone();
            let expected = i64::try_from(inboxes.len()).unwrap();
            async move {
                let counts = store.delivery_counts().await.unwrap();
                counts.delivered + counts.failed >= expected
            }
        })
        .await;
        stop.send(true).unwrap();
        for (worker, _dir) in workers {
            worker.await.unwrap();
        }
        let counts = store.delivery_counts().await.unwrap();
        assert_eq!(
            (counts.queued, counts.delivered, counts.failed),
            (0, i64::try_from(inboxes.len()).unwrap(), 0)
        );
        for peer in &peers {
            let mut paths: Vec<String> = peer.received().into_iter().map(|r| r.path).collect();
            paths.sort();
            let expected: Vec<String> = {
                let mut all: Vec<String> = (0..per_peer).map(|n| format!("inbox/{n}")).collect();
                all.sort();
                all
            };
            assert_eq!(paths, expected, "each inbox exactly one POST");
        }
        store.close().await;
        db.cleanup().await;
    }
}

/// A followed account's boost of someone else's post: recorded once, taken back by id or by
/// post, and the post forgotten with the last boost unless its author is followed.
#[tokio::test]
async fn boosts_by_followed_accounts_keep_the_post_until_taken_back() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = open(&db).await;
        let mut tx = store.begin().await.unwrap();
        let actor = tx.insert_actor(&new_actor("isg")).await.unwrap();
        tx.commit().await.unwrap();
        let ally = store
            .upsert_remote_actor(&new_remote("ally"))
            .await
            .unwrap();
        let other = store
            .upsert_remote_actor(&new_remote("other"))
            .await
            .unwrap();
        let writer = store
            .upsert_remote_actor(&new_remote("writer"))
            .await
            .unwrap();
        let post = Url::parse("https://peer.example/users/writer/statuses/1").unwrap();
        let announce = |n: u32, by: &str| {
            Url::parse(&format!("https://peer.example/users/{by}/announces/{n}")).unwrap()
        };

        let mut tx = store.begin().await.unwrap();
        tx.upsert_remote_post(&broadside::store::remote_posts::NewRemotePost {
            ap_id: post.clone(),
            remote_actor_id: writer.id,
            kind: "Note".into(),
            name: None,
            summary: None,
            content: "<p>x</p>".into(),
            language: None,
            url: None,
            in_reply_to: None,
            published_at: 1,
            edited_at: None,
        })
        .await
        .unwrap();
        assert!(
            tx.record_remote_announce(&announce(1, "ally"), ally.id, &post)
                .await
                .unwrap()
        );
        assert!(
            !tx.record_remote_announce(&announce(2, "ally"), ally.id, &post)
                .await
                .unwrap(),
            "{backend}: one boost per account and post"
        );
        assert!(
            tx.record_remote_announce(&announce(1, "other"), other.id, &post)
                .await
                .unwrap()
        );
        let unknown = Url::parse("https://peer.example/users/writer/statuses/2").unwrap();
        assert!(
            !tx.record_remote_announce(&announce(3, "ally"), ally.id, &unknown)
                .await
                .unwrap(),
            "{backend}: only kept posts"
        );
        tx.commit().await.unwrap();
        let kept = store.remote_post(&post).await.unwrap().unwrap();
        assert_eq!(
            store.announcers_of(kept.id).await.unwrap(),
            vec![ally.ap_id.clone(), other.ap_id.clone()],
            "{backend}"
        );
        // Listed for an account that follows the booster, with who shared it.
        assert!(
            store
                .ally_posts(actor.id, false, 10, 0)
                .await
                .unwrap()
                .is_empty()
        );
        let mut tx = store.begin().await.unwrap();
        tx.upsert_following(actor.id, ally.id, "f0").await.unwrap();
        tx.accept_following(ally.id, "f0").await.unwrap();
        tx.commit().await.unwrap();
        let listed = store.ally_posts(actor.id, false, 10, 0).await.unwrap();
        assert_eq!(listed.len(), 1, "{backend}");
        assert_eq!(listed[0].shared_by.as_ref(), Some(&ally.ap_id), "{backend}");
        assert!(
            store
                .ally_posts(actor.id, true, 10, 0)
                .await
                .unwrap()
                .is_empty(),
            "{backend}: not on the public allies page"
        );

        // By the Announce's id; the other boost still keeps the post.
        let mut tx = store.begin().await.unwrap();
        assert!(
            tx.remove_remote_announce(&announce(1, "ally"), ally.id, None)
                .await
                .unwrap()
        );
        tx.commit().await.unwrap();
        assert!(
            store.remote_post(&post).await.unwrap().is_some(),
            "{backend}"
        );

        // By the post, with an Undo naming another id; the writer is followed, so it stays.
        let mut tx = store.begin().await.unwrap();
        tx.upsert_following(actor.id, writer.id, "f1")
            .await
            .unwrap();
        tx.accept_following(writer.id, "f1").await.unwrap();
        assert!(
            tx.remove_remote_announce(&announce(9, "other"), other.id, Some(&post))
                .await
                .unwrap()
        );
        assert!(
            !tx.remove_remote_announce(&announce(9, "other"), other.id, Some(&post))
                .await
                .unwrap(),
            "{backend}: nothing left to take back"
        );
        tx.commit().await.unwrap();
        assert!(
            store.remote_post(&post).await.unwrap().is_some(),
            "{backend}"
        );
        assert!(store.announcers_of(kept.id).await.unwrap().is_empty());

        // Nobody follows the writer any more: the last boost taken back forgets the post.
        let mut tx = store.begin().await.unwrap();
        tx.remove_following(actor.id, writer.id).await.unwrap();
        tx.record_remote_announce(&announce(4, "ally"), ally.id, &post)
            .await
            .unwrap();
        tx.remove_remote_announce(&announce(4, "ally"), ally.id, None)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(
            store.remote_post(&post).await.unwrap().is_none(),
            "{backend}"
        );
        db.cleanup().await;
    }
}

/// A short news post, drafted and rendered, for the interaction tests to store.
fn strike_news() -> (
    broadside::domain::PostDraft,
    broadside::store::posts::RenderedPost,
) {
    use broadside::{
        domain::{Language, PostDraft, PostKind},
        federation::publish,
    };
    let draft = PostDraft::new(
        PostKind::News,
        None,
        None,
        "Strike!".into(),
        Language::parse("en").unwrap(),
    )
    .unwrap();
    let base = Url::parse("https://isg.example").unwrap();
    let rendered = publish::render(&draft, &base, Vec::new());
    (draft, rendered)
}

/// Interactions on both backends: public ones (likes, approved replies) mark their post changed
/// and bump the site version in their own transaction, a held reply does neither until it is
/// approved, the collections page, a correction replaces a reply's text, and an account's reply
/// policy round-trips.
#[tokio::test]
async fn interactions_mark_their_post_changed_and_page() {
    use broadside::{
        domain::PostState,
        store::interactions::{InteractionKind, NewInteraction},
    };
    let url = |path: String| Url::parse(&format!("https://peer.example/{path}")).unwrap();
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = open(&db).await;
        let (draft, rendered) = strike_news();
        let mut tx = store.begin().await.unwrap();
        let actor = tx.insert_actor(&new_actor("isg")).await.unwrap();
        assert!(!actor.auto_approves_replies, "{backend}: held by default");
        tx.set_auto_approves_replies(actor.id, true).await.unwrap();
        let post = tx
            .insert_post(actor.id, None, &draft, &rendered, PostState::Published, &[])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let actor = store.actor_by_id(actor.id).await.unwrap().unwrap();
        assert!(actor.auto_approves_replies, "{backend}");
        assert_eq!(store.interactions_changed_at(post).await.unwrap(), None);
        let mut fans = Vec::new();
        for i in 0..3 {
            let fan = new_remote(&format!("fan{i}"));
            fans.push(store.upsert_remote_actor(&fan).await.unwrap());
        }
        let interaction = |kind, fan: i64, n: usize, approved| NewInteraction {
            kind,
            activity_id: url(format!("activities/{n}")),
            remote_actor_id: fan,
            post_id: Some(post),
            actor_id: None,
            object_id: Some(url(format!("notes/{n}"))),
            content: Some("<p>Yes</p>".into()),
            url: None,
            approved,
        };

        // A held reply changes nothing the public sees.
        let version = store.site_version().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let held = interaction(InteractionKind::Reply, fans[0].id, 0, false);
        assert!(tx.insert_interaction(&held).await.unwrap());
        assert!(
            !tx.insert_interaction(&held).await.unwrap(),
            "recorded once"
        );
        tx.commit().await.unwrap();
        assert_eq!(store.site_version().await.unwrap(), version, "{backend}");
        assert_eq!(store.interactions_changed_at(post).await.unwrap(), None);

        // Likes do, and their collection pages.
        let mut tx = store.begin().await.unwrap();
        for (n, fan) in fans.iter().enumerate() {
            let like = interaction(InteractionKind::Like, fan.id, n + 1, true);
            tx.insert_interaction(&like).await.unwrap();
        }
        tx.commit().await.unwrap();
        assert!(store.site_version().await.unwrap() > version, "{backend}");
        assert!(store.interactions_changed_at(post).await.unwrap().is_some());
        let first = store
            .interaction_page(post, InteractionKind::Like, 2, 0)
            .await
            .unwrap();
        let second = store
            .interaction_page(post, InteractionKind::Like, 2, 2)
            .await
            .unwrap();
        assert_eq!(
            first,
            vec![fans[0].ap_id.to_string(), fans[1].ap_id.to_string()]
        );
        assert_eq!(second, vec![fans[2].ap_id.to_string()], "{backend}");

        // Approval shows the reply; a correction replaces its text; a deletion removes it.
        let version = store.site_version().await.unwrap();
        let id = store.held_replies_and_mentions(10).await.unwrap()[0].1.id;
        assert!(store.approve_reply(id).await.unwrap());
        assert!(!store.approve_reply(id + 1000).await.unwrap());
        assert!(store.site_version().await.unwrap() > version, "{backend}");
        assert_eq!(
            store
                .interaction_page(post, InteractionKind::Reply, 10, 0)
                .await
                .unwrap(),
            vec![url("notes/0".into()).to_string()]
        );
        let mut tx = store.begin().await.unwrap();
        let note = url("notes/0".into());
        assert!(
            tx.update_interaction_object(&note, fans[0].id, "<p>No</p>", None)
                .await
                .unwrap()
        );
        tx.commit().await.unwrap();
        let replies = store.approved_replies(post).await.unwrap();
        assert_eq!(
            replies[0].content.as_deref(),
            Some("<p>No</p>"),
            "{backend}"
        );
        let version = store.site_version().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        assert_eq!(
            tx.remove_interactions_with_object(&note, fans[0].id)
                .await
                .unwrap(),
            1
        );
        tx.commit().await.unwrap();
        assert!(store.site_version().await.unwrap() > version, "{backend}");
        let counts = store.interaction_counts(post).await.unwrap();
        assert_eq!((counts.likes, counts.replies), (3, 0), "{backend}");
        store.close().await;
        db.cleanup().await;
    }
}

/// The inbox's group commit of likes and boosts, on both backends: one call records a group,
/// each activity once (a second copy in the same group and a redelivery in a later one are
/// not recorded), nothing for a post that is not published or an actor nobody knows, and the
/// site version moves once per group.
#[tokio::test]
async fn reactions_are_recorded_in_groups_each_activity_once() {
    use broadside::{
        domain::PostState,
        federation::reactions::Reactions,
        store::interactions::{InteractionKind, NewReaction},
    };
    let url = |path: &str| Url::parse(&format!("https://peer.example/{path}")).unwrap();
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = open(&db).await;
        let (draft, rendered) = strike_news();
        let mut tx = store.begin().await.unwrap();
        let actor = tx.insert_actor(&new_actor("isg")).await.unwrap();
        let published = tx
            .insert_post(actor.id, None, &draft, &rendered, PostState::Published, &[])
            .await
            .unwrap();
        let draft_post = tx
            .insert_post(actor.id, None, &draft, &rendered, PostState::Draft, &[])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let fan = store.upsert_remote_actor(&new_remote("fan")).await.unwrap();
        let reaction = |kind, n: usize, actor: &Url, post_id| NewReaction {
            kind,
            activity_id: url(&format!("activities/{n}")),
            actor: actor.clone(),
            post_id,
        };
        let stranger = url("users/stranger");

        let version = store.site_version().await.unwrap();
        let group = [
            reaction(InteractionKind::Like, 1, &fan.ap_id, published),
            reaction(InteractionKind::Announce, 2, &fan.ap_id, published),
            reaction(InteractionKind::Like, 1, &fan.ap_id, published),
            reaction(InteractionKind::Like, 3, &fan.ap_id, draft_post),
            reaction(InteractionKind::Like, 4, &stranger, published),
            reaction(InteractionKind::Like, 5, &fan.ap_id, published + 1000),
        ];
        assert_eq!(
            store.record_reactions(&group).await.unwrap(),
            vec![true, true, false, false, false, false],
            "{backend}"
        );
        assert_eq!(
            store.site_version().await.unwrap(),
            version + 1,
            "{backend}"
        );
        assert!(
            store
                .interactions_changed_at(published)
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(
            store.interactions_changed_at(draft_post).await.unwrap(),
            None
        );
        let counts = store.interaction_counts(published).await.unwrap();
        assert_eq!((counts.likes, counts.announces), (1, 1), "{backend}");

        // A redelivery is not recorded again, even with its interaction taken back since;
        // a group with nothing new leaves the site version alone.
        let mut tx = store.begin().await.unwrap();
        tx.remove_interaction(&url("activities/1"), fan.id)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let version = store.site_version().await.unwrap();
        assert_eq!(
            store.record_reactions(&group[..1]).await.unwrap(),
            vec![false],
            "{backend}"
        );
        assert_eq!(store.site_version().await.unwrap(), version, "{backend}");
        assert_eq!(store.interaction_counts(published).await.unwrap().likes, 0);

        // Through the inbox's writer: fifty requests at once are all answered, in fewer
        // transactions than requests (one site version each).
        let reactions = std::sync::Arc::new(Reactions::start(store.clone()));
        let version = store.site_version().await.unwrap();
        let requests: Vec<_> = (100..150)
            .map(|n| {
                let (reactions, like) = (
                    reactions.clone(),
                    reaction(InteractionKind::Like, n, &fan.ap_id, published),
                );
                tokio::spawn(async move { reactions.record(like).await })
            })
            .collect();
        for request in requests {
            assert!(request.await.unwrap().unwrap(), "{backend}");
        }
        let groups = store.site_version().await.unwrap() - version;
        assert!((1..50).contains(&groups), "{backend}: {groups} groups");
        assert_eq!(store.interaction_counts(published).await.unwrap().likes, 50);

        // A database that is gone: the request gets an error, not a hang.
        store.close().await;
        let late = reaction(InteractionKind::Like, 200, &fan.ap_id, published);
        assert!(reactions.record(late).await.is_err(), "{backend}");
        db.cleanup().await;
    }
}

// Covers: the worker's protection against one host's backlog, in the store. A claim leaves
// the deliveries of hosts named busy alone; deliveries handed back (deferred) are not
// counted as attempts and are claimable again only when their moment comes; and a
// delivery's state reads back as operators see it.
#[tokio::test]
async fn claims_leave_busy_hosts_alone_and_deferred_deliveries_come_back_untried() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = open(&db).await;
        let mut tx = store.begin().await.unwrap();
        let activity = NewOutboxActivity {
            ap_id: Url::parse("https://isg.example/activities/busy").unwrap(),
            kind: "Create",
            actor_id: None,
            post_id: None,
            body: "{}".into(),
        };
        let stored = tx.insert_outbox_activity(&activity).await.unwrap();
        let inboxes: Vec<Url> = ["busy.example", "busy.example:8443", "calm.example"]
            .iter()
            .map(|host| Url::parse(&format!("https://{host}/inbox")).unwrap())
            .collect();
        tx.enqueue_deliveries(stored, &inboxes).await.unwrap();
        tx.commit().await.unwrap();

        // A host and the same name on another port are different hosts.
        let busy = vec!["busy.example".to_owned()];
        let claimed = store
            .claim_deliveries_except(10, 60_000, &busy)
            .await
            .unwrap();
        let mut hosts: Vec<_> = claimed.iter().map(|d| d.host.as_str()).collect();
        hosts.sort_unstable();
        assert_eq!(hosts, ["busy.example:8443", "calm.example"], "{backend}");

        let later = broadside::store::now_millis() + 60_000;
        let ids: Vec<i64> = claimed.iter().map(|d| d.id).collect();
        store.defer_deliveries(&ids, later).await.unwrap();
        let rest = store.claim_deliveries(10, 60_000).await.unwrap();
        assert_eq!(rest.len(), 1, "{backend}: only the busy host's, now it may");
        assert_eq!(rest[0].host, "busy.example");
        let deferred = store.deliveries_to_host("calm.example").await.unwrap();
        assert_eq!(
            (
                deferred[0].state.as_str(),
                deferred[0].attempts,
                deferred[0].locked_until
            ),
            ("queued", 0, later),
            "{backend}: handed back untried, claimable from then on"
        );
        assert_eq!(store.next_delivery_due().await.unwrap(), Some(later));
        store.close().await;
        db.cleanup().await;
    }
}
