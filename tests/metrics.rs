//! Delivery health: `/metrics` (Prometheus text) and the admins' page `/editor/deliveries`,
//! after a post is delivered to one mock peer and fails at another; who may read each.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod common;

use broadside::{
    domain::{Language, PostDraft, PostKind, Role},
    federation::publish,
    store::Store,
};
use common::{Peer, TestServer, add_follower, api_token, editor, eventually};
use reqwest::{StatusCode, header};

async fn metrics(server: &TestServer) -> String {
    let response = reqwest::get(server.url("/metrics")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    response.text().await.unwrap()
}

/// Case: one delivery succeeds (peer `up`) and one fails with 503 (peer `down`, retried
/// later): `/metrics` shows the queue depth, the totals and each host's figures; the admins'
/// page lists both hosts with the failing one's error and a chart, and is 403 for an editor;
/// `/metrics` is refused to a proxied request without a token, and to an editor's token.
#[tokio::test]
async fn metrics_and_the_delivery_page_show_a_success_and_a_failure_per_host() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let store = server.store().await;
    let actor = store.actor_by_username("isg").await.unwrap().unwrap();
    let up = Peer::start().await;
    let down = Peer::start().await;
    down.script_inbox(vec![StatusCode::SERVICE_UNAVAILABLE]);
    add_follower(&store, actor.id, &up, "alice", false).await;
    add_follower(&store, actor.id, &down, "bob", false).await;
    let up_host = format!("localhost:{}", up.origin.port().unwrap());
    let down_host = format!("localhost:{}", down.origin.port().unwrap());

    let text = metrics(&server).await;
    assert!(
        text.contains("broadside_delivery_queue_depth 0\n"),
        "{text}"
    );
    assert!(text.contains("broadside_deliveries_total{outcome=\"delivered\"} 0\n"));

    let draft = PostDraft::new(
        PostKind::News,
        None,
        None,
        "Delivered here, refused there.".into(),
        Language::parse("en").unwrap(),
    )
    .unwrap();
    let rendered = publish::render(&draft, &server.base, Vec::new());
    publish::create_post(&store, &server.base, &actor, &draft, &rendered, &[], true)
        .await
        .unwrap();
    up.wait_for("Create").await;
    eventually("the success and the failure to be counted", || {
        let server = &server;
        async move {
            let text = metrics(server).await;
            text.contains("broadside_deliveries_total{outcome=\"delivered\"} 1\n")
                && text.contains("broadside_deliveries_total{outcome=\"failed\"} 1\n")
        }
    })
    .await;

    let text = metrics(&server).await;
    for expected in [
        // The failed delivery waits for its retry.
        "broadside_delivery_queue_depth 1\n".to_owned(),
        "broadside_delivery_hosts_failing 1\n".to_owned(),
        format!("broadside_host_delivery_queue_depth{{host=\"{down_host}\"}} 1\n"),
        format!("broadside_host_delivery_queue_depth{{host=\"{up_host}\"}} 0\n"),
        format!("broadside_host_deliveries_total{{host=\"{up_host}\",outcome=\"delivered\"}} 1\n"),
        format!("broadside_host_deliveries_total{{host=\"{up_host}\",outcome=\"failed\"}} 0\n"),
        format!("broadside_host_deliveries_total{{host=\"{down_host}\",outcome=\"failed\"}} 1\n"),
        "# TYPE broadside_deliveries_total counter\n".to_owned(),
    ] {
        assert!(text.contains(&expected), "{expected} missing from\n{text}");
    }
    assert!(text.contains("broadside_http_requests_total{status=\"2xx\"} "));
    // Every sample line is `name{labels} integer`.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (_, value) = line.rsplit_once(' ').unwrap();
        value.parse::<i64>().unwrap();
    }

    // Who may read /metrics: through a proxy only with an admin's token.
    let admin_token = api_token(
        &store,
        "admin@example.org",
        Role::Admin,
        &[actor.username.as_str()],
    )
    .await;
    let editor_token = api_token(
        &store,
        "editor@example.org",
        Role::Editor,
        &[actor.username.as_str()],
    )
    .await;
    let client = reqwest::Client::new();
    let proxied = |token: Option<&str>| {
        let mut request = client
            .get(server.url("/metrics"))
            .header("X-Forwarded-For", "203.0.113.9");
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    assert_eq!(proxied(None).await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(
        proxied(Some(&editor_token)).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        proxied(Some("not-a-token")).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let response = proxied(Some(&admin_token)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains(&down_host));

    // The admins' page: both hosts, the failure's error, the chart.
    let (admin, _) = editor::sign_in(&server, "admin@example.org").await;
    let response = admin
        .get(server.url("/editor/deliveries"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(
        page.contains(&up_host) && page.contains(&down_host),
        "{page}"
    );
    assert!(page.contains("503"), "the last error is shown: {page}");
    assert!(page.contains("<svg") && page.contains("1 delivered, 0 failed attempts"));
    assert!(page.contains("0 delivered, 1 failed attempts"));
    let (editor, _) = editor::sign_in(&server, "editor@example.org").await;
    let response = editor
        .get(server.url("/editor/deliveries"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    store.close().await;
    server.stop().await;
}

/// Case: the delivery counters on both databases (PostgreSQL when
/// `BROADSIDE_TEST_POSTGRES_URL` is set): every way an outcome is recorded counts it per host
/// and hour, and the summaries, hourly rows, host states and totals read them back.
#[tokio::test]
async fn delivery_counters_are_written_with_each_outcome_on_both_databases() {
    use broadside::store::{
        deliveries::{Delivered, NewOutboxActivity},
        delivery_stats::{HOUR_MS, hour_of},
        now_millis,
    };
    use url::Url;

    for backend in common::backends() {
        let db = common::TestDb::new(backend).await;
        let store = Store::connect(&db.url).await.unwrap();
        store.migrate().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let activity = tx
            .insert_outbox_activity(&NewOutboxActivity {
                ap_id: Url::parse("https://isg.example/users/isg/posts/1/activity").unwrap(),
                kind: "Create",
                actor_id: None,
                post_id: None,
                body: "{}".into(),
            })
            .await
            .unwrap();
        let inboxes: Vec<Url> = [
            "a.example/inbox",
            "a.example/users/x/inbox",
            "b.example/inbox",
        ]
        .iter()
        .map(|i| Url::parse(&format!("https://{i}")).unwrap())
        .collect();
        tx.enqueue_deliveries(activity, &inboxes).await.unwrap();
        tx.commit().await.unwrap();
        let mut claimed = store.claim_deliveries(10, 60_000).await.unwrap();
        claimed.sort_by_key(|d| d.id);
        // a.example: two successes in one batch; b.example: a retry, then a failure.
        store
            .record_delivered(&[
                Delivered {
                    id: claimed[0].id,
                    status: 202,
                    recovered_host: None,
                },
                Delivered {
                    id: claimed[1].id,
                    status: 202,
                    recovered_host: None,
                },
            ])
            .await
            .unwrap();
        store.record_host_failure("b.example").await.unwrap();
        store
            .schedule_retry(claimed[2].id, now_millis(), Some(503), "unavailable")
            .await
            .unwrap();
        store
            .mark_failed(claimed[2].id, Some(410), "gone")
            .await
            .unwrap();

        let totals = store.delivery_totals().await.unwrap();
        assert_eq!((totals.delivered, totals.failed), (2, 2), "{backend}");
        let since = now_millis() - HOUR_MS;
        let hosts = store.host_summaries(since, 10).await.unwrap();
        let names: Vec<&str> = hosts.iter().map(|h| h.host.as_str()).collect();
        assert_eq!(
            names,
            ["b.example", "a.example"],
            "{backend}: failures first"
        );
        assert_eq!(
            (hosts[0].queued, hosts[0].failed, hosts[0].recent_failed),
            (0, 2, 2),
            "{backend}"
        );
        assert_eq!(
            (hosts[1].delivered, hosts[1].recent_delivered),
            (2, 2),
            "{backend}"
        );
        assert_eq!(store.count_failing_hosts().await.unwrap(), 1, "{backend}");
        let all: Vec<String> = names.iter().map(|h| (*h).to_owned()).collect();
        let hourly = store
            .hourly_delivery_stats(&all, hour_of(since))
            .await
            .unwrap();
        // One row per hour (two, if the test ran across an hour's turn).
        let a: (i64, i64) = hourly["a.example"]
            .iter()
            .fold((0, 0), |(d, f), &(_, delivered, failed)| {
                (d + delivered, f + failed)
            });
        assert_eq!(a, (2, 0), "{backend}: {hourly:?}");
        let states = store.host_states(&all).await.unwrap();
        let b = &states["b.example"];
        assert!(b.failing_since.is_some(), "{backend}");
        assert_eq!(b.last_error.as_ref().unwrap().0, "gone", "{backend}");
        assert!(
            states
                .get("a.example")
                .is_none_or(|a| a.last_error.is_none())
        );
        // Pruning folds old hours into totals; nothing here is old, so totals stay.
        store.prune_deliveries(0).await.unwrap();
        let again = store.delivery_totals().await.unwrap();
        assert_eq!(again, totals, "{backend}");
        store.close().await;
        db.cleanup().await;
    }
}
