//! Nothing is lost on a crash: the real binary is killed with SIGKILL while an Accept is in
//! flight, restarted, and the Accept still arrives.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod common;

use common::{
    Peer,
    binary::{Instance, broadside, free_port, serve},
    eventually,
};
use reqwest::StatusCode;

#[tokio::test]
async fn an_accept_in_flight_survives_sigkill_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let created = broadside(dir.path(), port)
        .args(["actor", "create", "isg", "--name", "ISG"])
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&created.stdout).trim(),
        format!("http://localhost:{port}/users/isg")
    );

    let peer = Peer::start().await;
    let alice = peer.add_actor("alice");
    peer.hang_inbox(1); // the first delivery stalls, so the crash comes mid-send

    let mut server = serve(dir.path(), port, &[]).await;
    let actor = format!("http://localhost:{port}/users/isg");
    let response = alice
        .post(
            &format!("http://localhost:{port}/inbox"),
            &alice.follow(&actor),
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    peer.wait_for("Accept").await;

    server.child.kill().unwrap(); // SIGKILL: no chance to clean up
    server.child.wait().unwrap();
    let _server = serve(dir.path(), port, &[]).await;

    eventually("the Accept to be delivered again after the restart", || {
        let peer = peer.clone();
        async move {
            peer.received()
                .iter()
                .filter(|r| r.activity["type"] == "Accept")
                .count()
                >= 2
        }
    })
    .await;
    let accepts: Vec<_> = peer
        .received()
        .into_iter()
        .filter(|r| r.activity["type"] == "Accept")
        .collect();
    assert!(accepts.iter().all(|r| r.signature_valid));
    assert_eq!(
        accepts[0].activity["id"], accepts[1].activity["id"],
        "the same activity, redelivered"
    );

    let listed = broadside(dir.path(), port)
        .args(["follower", "list", "--actor", "isg"])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains(&format!("accepted\t{}", alice.id)),
        "{listed}"
    );
}

#[tokio::test]
async fn a_fan_out_killed_midway_reaches_every_inbox_after_restart() {
    // Thirty servers follow isg; a third of them stall on the first delivery, so the crash
    // comes with some deliveries done, some in flight and some not yet started.
    let Instance {
        dir,
        port,
        store,
        isg: actor,
    } = Instance::with_isg().await;
    let mut peers = Vec::new();
    for n in 0..30 {
        let peer = Peer::start().await;
        if n % 3 == 0 {
            peer.hang_inbox(1);
        }
        common::add_follower(&store, actor.id, &peer, "follower", true).await;
        peers.push(peer);
    }

    let mut server = serve(dir.path(), port, &[]).await;
    let published = broadside(dir.path(), port)
        .args([
            "post",
            "publish",
            "--actor",
            "isg",
            "--kind",
            "statement",
            "--title",
            "Crash",
            "--body",
            "Nothing is lost.",
        ])
        .output()
        .unwrap();
    assert!(
        published.status.success(),
        "{}",
        String::from_utf8_lossy(&published.stderr)
    );
    let post_url = String::from_utf8_lossy(&published.stdout)
        .lines()
        .last()
        .unwrap()
        .to_owned();

    eventually("the stalled servers to be reached before the crash", || {
        let peers = peers.clone();
        async move { peers.iter().step_by(3).all(|p| !p.received().is_empty()) }
    })
    .await;
    // The kill must come mid-fan-out: the stalled servers' deliveries are claimed and still
    // unanswered, so they are in the queue under a lease the dead process held.
    let before = store.delivery_counts().await.unwrap();
    assert!(before.queued >= 10, "{before:?}");
    server.child.kill().unwrap(); // SIGKILL in the middle of the fan-out
    server.child.wait().unwrap();
    let _server = serve(dir.path(), port, &[]).await;

    eventually("every follower's server to receive the Create", || {
        let peers = peers.clone();
        async move {
            peers
                .iter()
                .all(|p| p.received().iter().any(|r| r.activity["type"] == "Create"))
        }
    })
    .await;
    // And the queue agrees: every delivery done, none given up.
    eventually("the queue to record every delivery", || {
        let store = store.clone();
        async move {
            let counts = store.delivery_counts().await.unwrap();
            counts.queued == 0 && counts.failed == 0 && counts.delivered == 30
        }
    })
    .await;
    for peer in &peers {
        for received in peer.received() {
            assert!(received.signature_valid, "{}", peer.origin);
            assert_eq!(received.activity["object"]["id"], post_url.as_str());
        }
    }
    store.close().await;
}

#[tokio::test]
async fn a_post_scheduled_while_the_server_was_down_is_published_once_it_is_back() {
    use broadside::{
        domain::{Language, PostDraft, PostKind},
        federation::publish,
    };

    let Instance {
        dir,
        port,
        store,
        isg: actor,
    } = Instance::with_isg().await;
    let peer = Peer::start().await;
    common::add_follower(&store, actor.id, &peer, "follower", false).await;

    // Scheduled for a moment that passes while no server runs.
    let base = url::Url::parse(&format!("http://localhost:{port}")).unwrap();
    let draft = PostDraft::new(
        PostKind::News,
        None,
        None,
        "Due while down.".into(),
        Language::parse("en").unwrap(),
    )
    .unwrap();
    let rendered = publish::render(&draft, &base, Vec::new());
    let at = chrono::Utc::now() - chrono::Duration::seconds(5);
    publish::create(
        &store,
        &base,
        &actor,
        None,
        &draft,
        &rendered,
        &[],
        publish::Intent::Schedule(at),
    )
    .await
    .unwrap();

    let _server = serve(dir.path(), port, &[]).await;
    let create = peer.wait_for("Create").await;
    assert!(create.signature_valid);
    assert!(
        create.activity["object"]["content"]
            .as_str()
            .unwrap()
            .contains("Due while down.")
    );
    store.close().await;
}
