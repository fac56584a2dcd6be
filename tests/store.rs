//! The store on both backends: SQLite always, PostgreSQL when BROADSIDE_TEST_POSTGRES_URL is
//! set (CI sets it; there a missing server fails the run).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod common;

use broadside::{
    domain::{ActorKind, FollowState, NewActor, Username},
    store::{Store, StoreError, deliveries::NewOutboxActivity, remote_actors::NewRemoteActor},
};
use common::{TestDb, backends};
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
