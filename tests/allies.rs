//! Sister organizations: instances following each other, boosting each other's statements,
//! an International group account relaying its members, and the fediverse's likes, boosts
//! and replies arriving at our posts.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod common;

use broadside::{
    app::AppState,
    domain::{
        ActorKind, FollowState, Handle, Language, LocalActor, NewActor, Post, PostDraft, PostKind,
        Username,
    },
    federation::{boosts, follows, keys, publish, webfinger},
    store::{
        Store,
        boosts::{BoostRule, Member},
        interactions::InteractionKind,
    },
};
use common::{Peer, TestServer, eventually};
use reqwest::StatusCode;
use serde_json::json;
use url::Url;

/// An instance with one account, and a mock follower server for that account.
struct Instance {
    server: TestServer,
    store: Store,
    actor: LocalActor,
    follower: Peer,
}

async fn instance(username: &str, kind: ActorKind) -> Instance {
    let server = TestServer::start().await;
    let store = server.store().await;
    let pair = keys::generate().unwrap();
    let mut tx = store.begin().await.unwrap();
    let actor = tx
        .insert_actor(&NewActor {
            username: Username::parse(username).unwrap(),
            kind,
            name: username.to_uppercase(),
            summary_md: String::new(),
            summary_html: String::new(),
            public_key_pem: pair.public_key_pem,
            private_key_pem: pair.private_key_pem,
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let follower = Peer::start().await;
    add_follower(&store, &actor, &follower).await;
    Instance {
        server,
        store,
        actor,
        follower,
    }
}

async fn add_follower(store: &Store, actor: &LocalActor, peer: &Peer) {
    common::add_follower(store, actor.id, peer, "reader", true).await;
}

/// `from` follows `to`'s account by handle and waits for the Accept; returns it as remote.
async fn follow(from: &Instance, to: &Instance) -> broadside::domain::RemoteActor {
    let state = AppState::prepare(from.server.config.clone()).await.unwrap();
    let data = state.federation_config().await.unwrap().to_request_data();
    let handle = Handle::parse(&format!("{}@{}", to.actor.username, to.server.host())).unwrap();
    let remote = webfinger::resolve(&data, &handle).await.unwrap().0;
    follows::follow(&from.store, &from.server.base, &from.actor, &remote)
        .await
        .unwrap();
    eventually("the Accept", || {
        let (store, actor, remote) = (from.store.clone(), from.actor.id, remote.id);
        async move { store.following_state(actor, remote).await.unwrap() == Some(FollowState::Accepted) }
    })
    .await;
    remote
}

async fn publish_statement(instance: &Instance, title: &str, tags: &str) -> Post {
    let draft = PostDraft::new(
        PostKind::Statement,
        Some(title.into()),
        None,
        format!("Solidarity. {tags}"),
        Language::parse("en").unwrap(),
    )
    .unwrap();
    let rendered = publish::render(&draft, &instance.server.base, Vec::new());
    publish::create_post(
        &instance.store,
        &instance.server.base,
        &instance.actor,
        &draft,
        &rendered,
        &[],
        true,
    )
    .await
    .unwrap()
}

fn post_url(instance: &Instance, post: &Post) -> Url {
    Url::parse(&instance.server.url(&format!(
        "/users/{}/posts/{}",
        instance.actor.username, post.id
    )))
    .unwrap()
}

async fn announces_of(peer: &Peer, object: &Url) -> usize {
    peer.received()
        .iter()
        .filter(|r| r.activity["type"] == "Announce" && r.activity["object"] == object.as_str())
        .count()
}

#[tokio::test]
async fn sister_organizations_follow_boost_and_an_international_relays_them() {
    let a = instance("isg", ActorKind::Organization).await;
    let b = instance("ally", ActorKind::Organization).await;
    let c = instance("international", ActorKind::Group).await;

    // A and B follow each other.
    let a_seen_from_b = follow(&b, &a).await;
    follow(&a, &b).await;

    // The International (a group on C) has A and B as members: it follows them and boosts
    // every public top-level post of theirs (what `broadside group add` does).
    for member in [&a, &b] {
        let remote = follow(&c, member).await;
        c.store
            .add_group_member(c.actor.id, &Member::Remote(remote.id))
            .await
            .unwrap();
        c.store
            .set_boost_rule(c.actor.id, remote.id, Some(&BoostRule::All))
            .await
            .unwrap();
    }

    // A publishes: B keeps it (its network), and the International relays it.
    let a_post = publish_statement(&a, "From A", "#strike").await;
    let a_url = post_url(&a, &a_post);
    eventually("B to keep A's statement", || {
        let (store, url) = (b.store.clone(), a_url.clone());
        async move { store.remote_post(&url).await.unwrap().is_some() }
    })
    .await;
    let relay = c.follower.wait_for("Announce").await;
    assert_eq!(relay.activity["object"], a_url.as_str());
    assert_eq!(relay.activity["actor"], c.server.actor_url("international"));
    assert!(relay.signature_valid);

    // B boosts A's statement by hand: B's followers receive the Announce, and A is told.
    let boosted = boosts::Boosted {
        object: a_url.clone(),
        author: Some(a_seen_from_b.ap_id.clone()),
        author_inbox: Some(a_seen_from_b.delivery_inbox().clone()),
    };
    assert!(
        boosts::boost(&b.store, &b.server.base, &b.actor, &boosted)
            .await
            .unwrap()
    );
    assert!(
        !boosts::boost(&b.store, &b.server.base, &b.actor, &boosted)
            .await
            .unwrap(),
        "once"
    );
    eventually("B's followers to receive the boost", || {
        let (peer, url) = (b.follower.clone(), a_url.clone());
        async move { announces_of(&peer, &url).await == 1 }
    })
    .await;
    // A counts two boosts of its statement: the International's relay and B's.
    eventually("A to count B's boost", || {
        let (store, id) = (a.store.clone(), a_post.id);
        async move { store.interaction_counts(id).await.unwrap().announces == 2 }
    })
    .await;

    // B publishes: the International relays B too.
    let b_post = publish_statement(&b, "From B", "").await;
    let b_url = post_url(&b, &b_post);
    eventually("the International to relay B", || {
        let (peer, url) = (c.follower.clone(), b_url.clone());
        async move { announces_of(&peer, &url).await == 1 }
    })
    .await;

    // B takes its boost back: the Undo reaches its followers, and A's count goes down.
    assert!(
        boosts::unboost(&b.store, &b.server.base, &b.actor, &boosted)
            .await
            .unwrap()
    );
    let undo = b.follower.wait_for("Undo").await;
    assert_eq!(undo.activity["object"]["type"], "Announce");
    assert_eq!(undo.activity["object"]["object"], a_url.as_str());
    eventually("A to uncount B's boost", || {
        let (store, id) = (a.store.clone(), a_post.id);
        async move { store.interaction_counts(id).await.unwrap().announces == 1 }
    })
    .await;
    for instance in [a, b, c] {
        instance.server.stop().await;
    }
}

#[tokio::test]
async fn a_group_relays_its_local_members_and_rules_can_filter_by_hashtag() {
    let a = instance("isg", ActorKind::Organization).await;
    // A group on the same instance, with isg as a local member.
    let pair = keys::generate().unwrap();
    let mut tx = a.store.begin().await.unwrap();
    let group = tx
        .insert_actor(&NewActor {
            username: Username::parse("international").unwrap(),
            kind: ActorKind::Group,
            name: "International".into(),
            summary_md: String::new(),
            summary_html: String::new(),
            public_key_pem: pair.public_key_pem,
            private_key_pem: pair.private_key_pem,
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let group_reader = Peer::start().await;
    add_follower(&a.store, &group, &group_reader).await;
    a.store
        .add_group_member(group.id, &Member::Local(a.actor.id))
        .await
        .unwrap();

    let post = publish_statement(&a, "Local member", "").await;
    let relay = group_reader.wait_for("Announce").await;
    assert_eq!(relay.activity["object"], post_url(&a, &post).as_str());
    assert_eq!(relay.activity["actor"], a.server.actor_url("international"));

    // A hashtag rule boosts only posts carrying the tag.
    let b = instance("ally", ActorKind::Organization).await;
    let remote = follow(&a, &b).await;
    a.store
        .set_boost_rule(
            a.actor.id,
            remote.id,
            Some(&BoostRule::Tags(vec!["solidarity".into()])),
        )
        .await
        .unwrap();
    let untagged = publish_statement(&b, "No tag", "").await;
    let tagged = publish_statement(&b, "Tagged", "#Solidarity").await;
    let tagged_url = post_url(&b, &tagged);
    eventually("the tagged post to be boosted", || {
        let (peer, url) = (a.follower.clone(), tagged_url.clone());
        async move { announces_of(&peer, &url).await == 1 }
    })
    .await;
    assert_eq!(
        announces_of(&a.follower, &post_url(&b, &untagged)).await,
        0,
        "the rule filters"
    );
    a.server.stop().await;
    b.server.stop().await;
}

#[tokio::test]
async fn likes_boosts_and_replies_are_counted_and_taken_back() {
    let a = instance("isg", ActorKind::Organization).await;
    let post = publish_statement(&a, "Liked", "").await;
    let url = post_url(&a, &post);
    let peer = Peer::start().await;
    let fan = peer.add_actor("fan");
    let inbox = a.server.url("/inbox");

    let like = json!({"id": format!("{}/likes/1", fan.id), "type": "Like", "actor": fan.id, "object": url});
    let announce = json!({"id": format!("{}/announces/1", fan.id), "type": "Announce", "actor": fan.id, "object": url,
                          "to": ["https://www.w3.org/ns/activitystreams#Public"]});
    let reply_id = format!("{}/notes/1", fan.id);
    let reply = json!({
        "id": format!("{reply_id}/activity"), "type": "Create", "actor": fan.id,
        "object": {"id": reply_id, "type": "Note", "attributedTo": fan.id, "inReplyTo": url,
                   "content": "<p>Well said!<script>x</script></p>", "published": "2026-11-27T10:00:00Z",
                   "to": ["https://www.w3.org/ns/activitystreams#Public"]}
    });
    for activity in [&like, &announce, &reply] {
        assert_eq!(
            fan.post(&inbox, activity).await.status(),
            StatusCode::ACCEPTED,
            "{activity}"
        );
    }
    let counts = a.store.interaction_counts(post.id).await.unwrap();
    assert_eq!(
        (counts.likes, counts.announces, counts.replies),
        (1, 1, 0),
        "the reply is held"
    );
    let held = a.store.held_replies_and_mentions(10).await.unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(
        held[0].1.content.as_deref(),
        Some("<p>Well said!</p>"),
        "sanitized"
    );
    assert!(a.store.approve_reply(held[0].1.id).await.unwrap());
    assert_eq!(
        a.store.interaction_counts(post.id).await.unwrap().replies,
        1
    );
    assert_eq!(a.store.approved_replies(post.id).await.unwrap().len(), 1);
    assert_eq!(
        a.store
            .interaction_items(post.id, InteractionKind::Like)
            .await
            .unwrap(),
        vec![fan.id.to_string()]
    );

    // Undo(Like), Undo(Announce) and Delete of the reply take them back.
    let undo_like = json!({"id": format!("{}/likes/1/undo", fan.id), "type": "Undo", "actor": fan.id, "object": like});
    let undo_announce = json!({"id": format!("{}/announces/1/undo", fan.id), "type": "Undo", "actor": fan.id, "object": announce});
    let delete = json!({"id": format!("{reply_id}#delete"), "type": "Delete", "actor": fan.id,
                        "object": {"id": reply_id, "type": "Tombstone"}});
    for activity in [&undo_like, &undo_announce, &delete] {
        assert_eq!(
            fan.post(&inbox, activity).await.status(),
            StatusCode::ACCEPTED,
            "{activity}"
        );
    }
    let counts = a.store.interaction_counts(post.id).await.unwrap();
    assert_eq!((counts.likes, counts.announces, counts.replies), (0, 0, 0));

    // A like of something that is not ours, or of a missing post, is acknowledged and ignored.
    let stray = json!({"id": format!("{}/likes/2", fan.id), "type": "Like", "actor": fan.id,
                       "object": a.server.url("/users/isg/posts/999")});
    assert_eq!(
        fan.post(&inbox, &stray).await.status(),
        StatusCode::ACCEPTED
    );
    a.server.stop().await;
}

#[tokio::test]
async fn a_mention_of_our_account_is_listed() {
    let a = instance("isg", ActorKind::Organization).await;
    let peer = Peer::start().await;
    let stranger = peer.add_actor("stranger");
    let note_id = format!("{}/notes/9", stranger.id);
    let mention = json!({
        "id": format!("{note_id}/activity"), "type": "Create", "actor": stranger.id,
        "object": {"id": note_id, "type": "Note", "attributedTo": stranger.id,
                   "content": "<p>@isg what do you think?</p>",
                   "tag": [{"type": "Mention", "href": a.server.actor_url("isg"), "name": "@isg"}]}
    });
    assert_eq!(
        stranger
            .post(&a.server.url("/inbox"), &mention)
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    let listed = a.store.held_replies_and_mentions(10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].0, "mention");
    assert_eq!(listed[0].1.author_username, "stranger");
    a.server.stop().await;
}

/// Makes `instance`'s account follow `ally` (accepted), as after a Follow and its Accept.
async fn followed(instance: &Instance, ally: &Url) -> broadside::domain::RemoteActor {
    let state = AppState::prepare(instance.server.config.clone())
        .await
        .unwrap();
    let data = state.federation_config().await.unwrap().to_request_data();
    let remote = activitypub_federation::fetch::object_id::ObjectId::<
        broadside::federation::objects::remote_actor::ApRemoteActor,
    >::from(ally.clone())
    .dereference(&data)
    .await
    .unwrap()
    .0;
    let follow_id = format!("{}#follows/{}", instance.actor.username, remote.id);
    let mut tx = instance.store.begin().await.unwrap();
    tx.upsert_following(instance.actor.id, remote.id, &follow_id)
        .await
        .unwrap();
    assert!(tx.accept_following(remote.id, &follow_id).await.unwrap());
    tx.commit().await.unwrap();
    remote
}

/// A public Note by `author`, served by its peer at `/users/{name}/statuses/{n}`.
fn note_by(author: &common::RemoteTestActor, n: u32, text: &str) -> Url {
    let id = author
        .id
        .join(&format!("{}/statuses/{n}", author.id.path()))
        .unwrap();
    author.peer.serve(
        id.path(),
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": id, "type": "Note", "attributedTo": author.id,
            "content": format!("<p>{text}</p>"), "published": "2026-11-27T09:00:00Z",
            "to": ["https://www.w3.org/ns/activitystreams#Public"]
        }),
    );
    id
}

#[tokio::test]
async fn an_allys_boost_of_someone_elses_post_is_fetched_from_its_origin_and_kept() {
    let a = instance("isg", ActorKind::Organization).await;
    let peer = Peer::start().await;
    let ally = peer.add_actor("ally");
    let writer = peer.add_actor("writer");
    followed(&a, &ally.id).await;
    let inbox = a.server.url("/inbox");
    let note = note_by(&writer, 1, "From the writer's own server");

    // The Announce carries only the id; the content must come from the writer's server.
    let announce = json!({"id": format!("{}/announces/1", ally.id), "type": "Announce",
                          "actor": ally.id, "object": note,
                          "to": ["https://www.w3.org/ns/activitystreams#Public"]});
    assert_eq!(
        ally.post(&inbox, &announce).await.status(),
        StatusCode::ACCEPTED
    );
    let kept = a.store.remote_post(&note).await.unwrap().expect("kept");
    assert_eq!(kept.content, "<p>From the writer's own server</p>");
    assert_eq!(
        a.store.announcers_of(kept.id).await.unwrap(),
        vec![ally.id.clone()]
    );
    let timeline = a.store.network_timeline(10, 0).await.unwrap();
    assert!(timeline.iter().any(|p| p.ap_id == note), "in the Network");
    // The editors' list for the account shows it with who shared it; the public allies page
    // shows only the allies' own posts.
    let listed = a.store.ally_posts(a.actor.id, false, 10, 0).await.unwrap();
    let shared = listed
        .iter()
        .find(|p| p.post.ap_id == note)
        .expect("listed");
    assert_eq!(shared.shared_by.as_ref(), Some(&ally.id));
    let public = a.store.ally_posts(a.actor.id, true, 10, 0).await.unwrap();
    assert!(
        public.iter().all(|p| p.post.ap_id != note),
        "not on the allies page"
    );

    // A redelivery (a duplicate activity) is acknowledged and changes nothing.
    assert_eq!(
        ally.post(&inbox, &announce).await.status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(a.store.announcers_of(kept.id).await.unwrap().len(), 1);

    // Undo(Announce): the boost goes, and with it the post, whose author nobody follows.
    let undo = json!({"id": format!("{}/announces/1/undo", ally.id), "type": "Undo",
                      "actor": ally.id, "object": announce});
    assert_eq!(
        ally.post(&inbox, &undo).await.status(),
        StatusCode::ACCEPTED
    );
    assert!(a.store.remote_post(&note).await.unwrap().is_none());
    a.server.stop().await;
}

#[tokio::test]
async fn boosts_of_blocked_authors_and_boosts_by_strangers_are_dropped() {
    let a = instance("isg", ActorKind::Organization).await;
    let peer = Peer::start().await;
    let ally = peer.add_actor("ally");
    let stranger = peer.add_actor("stranger");
    let spammer = peer.add_actor("spammer");
    followed(&a, &ally.id).await;
    let inbox = a.server.url("/inbox");
    broadside::federation::moderation::block_actor(&a.store, &spammer.id)
        .await
        .unwrap();

    // An ally's boost of a blocked actor's post: acknowledged, nothing kept.
    let spam = note_by(&spammer, 1, "Spam");
    let announce = json!({"id": format!("{}/announces/2", ally.id), "type": "Announce",
                          "actor": ally.id, "object": spam});
    assert_eq!(
        ally.post(&inbox, &announce).await.status(),
        StatusCode::ACCEPTED
    );
    assert!(a.store.remote_post(&spam).await.unwrap().is_none());

    // A boost by an account nobody here follows: acknowledged, nothing kept.
    let note = note_by(&ally, 1, "The ally's own words");
    let by_stranger = json!({"id": format!("{}/announces/1", stranger.id), "type": "Announce",
                             "actor": stranger.id, "object": note});
    assert_eq!(
        stranger.post(&inbox, &by_stranger).await.status(),
        StatusCode::ACCEPTED
    );
    assert!(a.store.remote_post(&note).await.unwrap().is_none());

    // A post whose server answers with an object of another server is refused.
    let forged = ally.id.join("/users/ally/statuses/forged").unwrap();
    peer.serve(
        forged.path(),
        json!({"id": "https://elsewhere.example/notes/1", "type": "Note",
               "attributedTo": ally.id, "content": "forged",
               "to": ["https://www.w3.org/ns/activitystreams#Public"]}),
    );
    let announce = json!({"id": format!("{}/announces/3", ally.id), "type": "Announce",
                          "actor": ally.id, "object": forged});
    let status = ally.post(&inbox, &announce).await.status();
    assert!(status.is_client_error(), "{status}");
    assert!(a.store.remote_post(&forged).await.unwrap().is_none());
    a.server.stop().await;
}
