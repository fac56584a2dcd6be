//! JSON-LD: every document Broadside serves or sends declares every term it uses, checked by
//! expanding it with pyld (tests/jsonld/check_terms.py). Runs when `BROADSIDE_JSONLD_PYTHON`
//! names a Python with bovine and pyld installed (`.ci/run` makes one); skipped locally
//! without it, and a failure in CI.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod common;

use std::process::Command;

use broadside::{
    domain::{Cosigner, Language, PostDraft, PostKind, translation::translation_draft},
    federation::{
        activities::{accept, add, create, delete, follow, update},
        publish, translations,
    },
};
use common::{Peer, TestServer};
use serde_json::Value;

fn python() -> Option<String> {
    match std::env::var("BROADSIDE_JSONLD_PYTHON") {
        Ok(python) => Some(python),
        Err(_) if std::env::var("CI").is_ok() => {
            panic!(
                "CI must set BROADSIDE_JSONLD_PYTHON: the JSON-LD check may not be skipped there"
            )
        }
        Err(_) => {
            eprintln!("skipped: set BROADSIDE_JSONLD_PYTHON to a Python with bovine installed");
            None
        }
    }
}

async fn fetch(url: &str) -> Value {
    reqwest::Client::new()
        .get(url)
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn every_document_declares_every_term_it_uses() {
    let Some(python) = python() else {
        return;
    };
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let store = server.store().await;
    let actor = store.actor_by_username("isg").await.unwrap().unwrap();
    let base = server.base.clone();
    let peer = Peer::start().await;
    let mention = broadside::domain::Mention {
        name: format!("@ally@{}", broadside::config::authority(&peer.origin)),
        href: peer.url("/users/ally"),
        inbox: peer.url("/users/ally/inbox"),
    };

    let statement = PostDraft::new(
        PostKind::Statement,
        Some("On the strike".into()),
        None,
        format!("We stand with the #strikers, with {}.", mention.name),
        Language::parse("es").unwrap(),
    )
    .unwrap();
    let rendered = publish::render(&statement, &base, vec![mention]);
    let article = publish::create_post(&store, &base, &actor, &statement, &rendered, &[], true)
        .await
        .unwrap();
    let news = PostDraft::new(
        PostKind::News,
        None,
        None,
        "March at noon.".into(),
        Language::parse("en").unwrap(),
    )
    .unwrap();
    let rendered = publish::render(&news, &base, Vec::new());
    let note = publish::create_post(&store, &base, &actor, &news, &rendered, &[], true)
        .await
        .unwrap();
    publish::set_pinned(&store, &base, &actor, &article, true)
        .await
        .unwrap();
    // A second language: the article and its Update carry nameMap, summaryMap, contentMap.
    let english = translation_draft(
        &article,
        Language::parse("en").unwrap(),
        Some("On the strike".into()),
        Some("We stand with them.".into()),
        "We stand with the strikers.".into(),
    )
    .unwrap();
    translations::put_translation(&store, &base, &actor, &article, &english)
        .await
        .unwrap();
    let retracted = publish::delete_post(&store, &base, &actor, &note)
        .await
        .unwrap();
    let article = store.post_by_id(article.id).await.unwrap().unwrap();
    // A joint statement: attributedTo is an array, a remote co-signer a Mention.
    server.create_actor("intl", false).await;
    let intl = store.actor_by_username("intl").await.unwrap().unwrap();
    let ally = common::add_follower(&store, intl.id, &peer, "ally", true).await;
    let rendered = publish::render(&news, &base, Vec::new());
    let joint = publish::create_joint(
        &store,
        &base,
        &actor,
        None,
        &news,
        &rendered,
        &[],
        publish::Intent::Publish,
        &[
            Cosigner::Local {
                id: intl.id,
                username: intl.username.clone(),
                name: intl.name.clone(),
            },
            Cosigner::Remote(Box::new(ally)),
        ],
    )
    .await
    .unwrap();

    let mut documents: Vec<(String, Value)> = Vec::new();
    for (name, path) in [
        ("actor", "/users/isg".to_owned()),
        ("instance-actor", "/actor".to_owned()),
        ("article", format!("/users/isg/posts/{}", article.id)),
        ("joint", format!("/users/isg/posts/{}", joint.id)),
        ("tombstone", format!("/users/isg/posts/{}", note.id)),
        ("followers", "/users/isg/followers".to_owned()),
        ("followers-page", "/users/isg/followers?page=1".to_owned()),
        ("outbox-page", "/users/isg/outbox?page=1".to_owned()),
        ("featured", "/users/isg/collections/featured".to_owned()),
    ] {
        documents.push((name.to_owned(), fetch(&server.url(&path)).await));
    }
    let (_, joint_document) = documents.iter().find(|(name, _)| name == "joint").unwrap();
    assert_eq!(
        joint_document["attributedTo"].as_array().map(Vec::len),
        Some(3),
        "the joint statement's document is among those checked: {joint_document}"
    );
    let (_, served) = documents
        .iter()
        .find(|(name, _)| name == "article")
        .unwrap();
    for map in ["nameMap", "summaryMap", "contentMap"] {
        assert_eq!(served[map].as_object().unwrap().len(), 2, "{map}: {served}");
    }
    let as_json = |value: &dyn erased::Serialize| value.to_json();
    let follow = follow::follow_remote(&base, &actor, &peer.url("/users/ally"), 1);
    documents.push((
        "create".into(),
        as_json(&create::create_post(&article, &actor, &base)),
    ));
    documents.push((
        "joint-create".into(),
        as_json(&create::create_post(&joint, &actor, &base)),
    ));
    documents.push((
        "update".into(),
        as_json(&update::update_post(&article, &actor, &base)),
    ));
    documents.push((
        "delete".into(),
        as_json(&delete::delete_post(&retracted, &actor, &base)),
    ));
    documents.push((
        "add".into(),
        as_json(&add::featured_change(&article, &actor, &base, true, 1)),
    ));
    documents.push((
        "accept".into(),
        as_json(&accept::accept_follow(&base, &actor, 1, &follow)),
    ));
    documents.push((
        "follow".into(),
        as_json(
            &activitypub_federation::protocol::context::WithContext::new_default(follow.clone()),
        ),
    ));

    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (name, document) in &documents {
        assert!(
            document.get("@context").is_some(),
            "{name} has no @context: {document}"
        );
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(&path, serde_json::to_vec_pretty(document).unwrap()).unwrap();
        paths.push(path);
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/jsonld/check_terms.py");
    let output = Command::new(&python)
        .arg(script)
        .args(&paths)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "undefined JSON-LD terms:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        report.lines().filter(|l| l.starts_with("OK ")).count(),
        documents.len(),
        "{report}"
    );
    server.stop().await;
}

/// Serializes the different activity types through one call site.
mod erased {
    pub trait Serialize {
        fn to_json(&self) -> serde_json::Value;
    }

    impl<T: serde::Serialize> Serialize for T {
        fn to_json(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap()
        }
    }
}
