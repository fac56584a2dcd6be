//! The editor in a real browser: headless Chromium (Debian's `/usr/bin/chromium`, driven by
//! `tests/browser/editor.mjs` with playwright-core) goes from the setup link to a published,
//! corrected and retracted statement, while a mock fediverse server follows the account and
//! must receive the Create, Update and Delete. Screenshots land in `target/screenshots/`.
//!
//! Needs `BROADSIDE_BROWSER_DIR`: a folder with `node_modules/playwright-core` (`.ci/run`
//! makes it with `npm ci` from `tests/browser/`). Without it the test is skipped, and fails
//! when `CI` is set. `BROADSIDE_BROWSER_NODE` names the node binary (default `node`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod common;

use std::{path::PathBuf, process::Stdio, time::Duration};

use broadside::domain::credentials;
use common::{Peer, TestServer};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    process::Command,
    time::timeout,
};

fn browser_dir() -> Option<PathBuf> {
    match std::env::var("BROADSIDE_BROWSER_DIR") {
        Ok(dir) => Some(PathBuf::from(dir)),
        Err(_) if std::env::var("CI").is_ok() => {
            panic!("CI must set BROADSIDE_BROWSER_DIR: the browser test runs there")
        }
        Err(_) => None,
    }
}

#[tokio::test]
async fn an_editor_publishes_corrects_and_retracts_in_chromium() {
    let Some(dir) = browser_dir() else {
        eprintln!("skipped: set BROADSIDE_BROWSER_DIR (see .ci/run) to run the browser test");
        return;
    };
    let server = TestServer::start().await;
    let store = server.store().await;
    let token = credentials::generate_token();
    store
        .replace_setup_token(&credentials::token_hash(&token))
        .await
        .unwrap();
    let peer = Peer::start().await;
    let alice = peer.add_actor("alice");
    let shots: PathBuf = [env!("CARGO_MANIFEST_DIR"), "target", "screenshots"]
        .iter()
        .collect();
    let script: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "browser", "editor.mjs"]
        .iter()
        .collect();
    let node = std::env::var("BROADSIDE_BROWSER_NODE").unwrap_or_else(|_| "node".into());
    let mut child = Command::new(node)
        .arg(&script)
        .env("BROADSIDE_BROWSER_DIR", &dir)
        .env("BASE", server.base.as_str())
        .env("SETUP", server.url(&format!("/setup?token={token}")))
        .env("SHOTS", &shots)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next = async || {
        timeout(Duration::from_secs(90), lines.next_line())
            .await
            .expect("the browser script answers within 90 s")
            .unwrap()
            .expect("the browser script ended early; see its output above")
    };

    // The admin and the account exist now: the follower follows, and is accepted.
    assert_eq!(next().await, "READY");
    let inbox = server.url("/users/isg/inbox");
    let response = alice
        .post(&inbox, &alice.follow(&server.actor_url("isg")))
        .await;
    assert!(response.status().is_success(), "{}", response.status());
    peer.wait_for("Accept").await;
    stdin.write_all(b"GO\n").await.unwrap();

    let published = next().await;
    let url = published.strip_prefix("PUBLISHED ").expect(&published);
    let create = peer.wait_for("Create").await;
    assert!(create.signature_valid);
    assert_eq!(create.activity["object"]["id"], url);
    assert_eq!(
        create.activity["object"]["name"],
        "We stand with the strikers"
    );

    assert_eq!(next().await, "EDITED");
    let update = peer.wait_for("Update").await;
    assert!(
        update.activity["object"]["content"]
            .as_str()
            .unwrap()
            .contains("fair pay and safety")
    );
    assert_eq!(next().await, "DONE");
    let delete = peer.wait_for("Delete").await;
    assert_eq!(delete.activity["object"]["id"], url);
    let status = timeout(Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "the browser script failed: {status}");
    for name in [
        "dashboard.png",
        "writing-with-preview.png",
        "public-post.png",
        "retracted.png",
    ] {
        assert!(shots.join(name).is_file(), "screenshot {name}");
    }
    server.stop().await;
}
