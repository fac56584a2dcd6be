//! The JSON API end to end: bearer tokens, every role's permissions and denials, problem
//! details for every error, publishing that reaches followers, and an OpenAPI document that
//! describes exactly the routes that exist.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod common;

use broadside::{
    domain::{FollowState, Role},
    store::{Store, remote_actors::NewRemoteActor},
};
use common::{Peer, TestServer};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

struct Api {
    server: TestServer,
    store: Store,
    client: reqwest::Client,
}

impl Api {
    async fn start() -> Self {
        let server = TestServer::start().await;
        server.create_actor("isg", false).await;
        server.create_actor("other", false).await;
        let store = server.store().await;
        Self {
            server,
            store,
            client: reqwest::Client::new(),
        }
    }

    /// A user of `role` working for `actors`, and an API token for it.
    async fn token(&self, login: &str, role: Role, actors: &[&str]) -> String {
        common::api_token(&self.store, login, role, actors).await
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value, header::HeaderMap) {
        let mut request = self.client.request(method, self.server.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::Null),
            headers,
        )
    }
}

fn statement() -> Value {
    json!({"actor": "isg", "kind": "statement", "title": "On the strike", "summary": "We stand with them.",
           "lang": "en", "body": "Full **text**.", "draft": false})
}

fn assert_problem(
    status: StatusCode,
    expected: StatusCode,
    body: &Value,
    headers: &header::HeaderMap,
) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    assert_eq!(body["status"], expected.as_u16());
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn an_editor_publishes_with_a_token_and_followers_receive_it() {
    let api = Api::start().await;
    let editor = api.token("ed", Role::Editor, &["isg"]).await;
    let peer = Peer::start().await;
    let follower = peer.url("/users/f");
    let remote = api
        .store
        .upsert_remote_actor(&NewRemoteActor {
            ap_id: follower.clone(),
            actor_type: "Person".into(),
            username: "f".into(),
            host: broadside::config::authority(&follower),
            name: None,
            inbox: peer.url("/users/f/inbox"),
            shared_inbox: None,
            url: None,
            public_key_id: format!("{follower}#main-key"),
            public_key_pem: "unused".into(),
        })
        .await
        .unwrap();
    let isg = api.store.actor_by_username("isg").await.unwrap().unwrap();
    let mut tx = api.store.begin().await.unwrap();
    tx.upsert_follower(isg.id, remote.id, "f", FollowState::Accepted)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let (status, post, _) = api
        .call(
            Method::POST,
            "/api/v1/posts",
            Some(&editor),
            Some(statement()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    assert_eq!(post["state"], "published");
    let ap_id = post["ap_id"].as_str().unwrap();
    assert!(ap_id.starts_with(&api.server.actor_url("isg")));
    assert_eq!(post["url"], post["ap_id"]);
    let create = peer.wait_for("Create").await;
    assert_eq!(create.activity["object"]["id"], ap_id);

    let path = format!("/api/v1/posts/{}", post["id"]);
    let (status, shown, _) = api.call(Method::GET, &path, Some(&editor), None).await;
    assert_eq!(
        (status, &shown["title"]),
        (StatusCode::OK, &json!("On the strike"))
    );
    let (status, list, _) = api
        .call(
            Method::GET,
            "/api/v1/posts?state=published",
            Some(&editor),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);

    let (status, changed, _) = api
        .call(
            Method::PATCH,
            &path,
            Some(&editor),
            Some(json!({"title": "On the strike (corrected)"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert!(changed["edited_at"].is_string());
    let update = peer.wait_for("Update").await;
    assert_eq!(
        update.activity["object"]["name"],
        "On the strike (corrected)"
    );

    let (status, _, _) = api.call(Method::DELETE, &path, Some(&editor), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    peer.wait_for("Delete").await;
    let (_, gone, _) = api.call(Method::GET, &path, Some(&editor), None).await;
    assert_eq!(gone["state"], "deleted");
    let log = api.store.audit_log(10).await.unwrap();
    assert!(
        log.iter()
            .any(|e| e.action == "post.published" && e.login.as_deref() == Some("ed"))
    );
    assert!(log.iter().any(|e| e.action == "post.delete"));
    api.server.stop().await;
}

#[tokio::test]
async fn an_author_writes_for_review_but_cannot_publish() {
    let api = Api::start().await;
    let author = api.token("au", Role::Author, &["isg"]).await;
    let editor = api.token("ed", Role::Editor, &["isg"]).await;

    // Publishing directly is refused (403), whatever the route.
    let (status, body, headers) = api
        .call(
            Method::POST,
            "/api/v1/posts",
            Some(&author),
            Some(statement()),
        )
        .await;
    assert_problem(status, StatusCode::FORBIDDEN, &body, &headers);
    let mut scheduled = statement();
    scheduled["schedule_at"] = json!("2099-01-01T00:00:00Z");
    let (status, body, headers) = api
        .call(
            Method::POST,
            "/api/v1/posts",
            Some(&author),
            Some(scheduled),
        )
        .await;
    assert_problem(status, StatusCode::FORBIDDEN, &body, &headers);

    let mut for_review = statement();
    for_review["review"] = json!(true);
    let (status, post, _) = api
        .call(
            Method::POST,
            "/api/v1/posts",
            Some(&author),
            Some(for_review),
        )
        .await;
    assert_eq!(
        (status, &post["state"]),
        (StatusCode::CREATED, &json!("review"))
    );
    let path = format!("/api/v1/posts/{}", post["id"]);

    // The author may still change the text, but not publish, pin or retract it for others.
    let (status, _, _) = api
        .call(
            Method::PATCH,
            &path,
            Some(&author),
            Some(json!({"body": "Better text."})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    for patch in [json!({"state": "published"}), json!({"pinned": true})] {
        let (status, body, headers) = api
            .call(Method::PATCH, &path, Some(&author), Some(patch))
            .await;
        assert_problem(status, StatusCode::FORBIDDEN, &body, &headers);
    }

    // The editor approves and publishes it; then the author may not retract it.
    let (status, published, _) = api
        .call(
            Method::PATCH,
            &path,
            Some(&editor),
            Some(json!({"state": "published"})),
        )
        .await;
    assert_eq!(
        (status, &published["state"]),
        (StatusCode::OK, &json!("published"))
    );
    let (status, body, headers) = api.call(Method::DELETE, &path, Some(&author), None).await;
    assert_problem(status, StatusCode::FORBIDDEN, &body, &headers);
    let (status, body, headers) = api
        .call(
            Method::PATCH,
            &path,
            Some(&author),
            Some(json!({"title": "Mine now"})),
        )
        .await;
    assert_problem(status, StatusCode::FORBIDDEN, &body, &headers);
    api.server.stop().await;
}

#[tokio::test]
async fn accounts_one_does_not_work_for_are_invisible() {
    let api = Api::start().await;
    let editor = api.token("ed", Role::Editor, &["isg"]).await;
    let admin = api.token("root", Role::Admin, &[]).await;
    let mut other = statement();
    other["actor"] = json!("other");
    let (status, body, _) = api
        .call(
            Method::POST,
            "/api/v1/posts",
            Some(&editor),
            Some(other.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, post, _) = api
        .call(Method::POST, "/api/v1/posts", Some(&admin), Some(other))
        .await;
    assert_eq!(status, StatusCode::CREATED, "admins work for every account");
    let path = format!("/api/v1/posts/{}", post["id"]);
    for method in [Method::GET, Method::DELETE] {
        let (status, body, headers) = api.call(method, &path, Some(&editor), None).await;
        assert_problem(status, StatusCode::NOT_FOUND, &body, &headers);
    }
    let (_, list, _) = api
        .call(Method::GET, "/api/v1/posts", Some(&editor), None)
        .await;
    assert!(list.as_array().unwrap().is_empty());
    api.server.stop().await;
}

#[tokio::test]
async fn missing_or_wrong_tokens_get_401_and_bad_bodies_a_problem() {
    let api = Api::start().await;
    let editor = api.token("ed", Role::Editor, &["isg"]).await;
    for token in [None, Some("bst_wrong"), Some("")] {
        let (status, body, headers) = api
            .call(Method::POST, "/api/v1/posts", token, Some(statement()))
            .await;
        assert_problem(status, StatusCode::UNAUTHORIZED, &body, &headers);
        assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
    }

    // Malformed JSON (400), JSON of the wrong shape (422), a statement without a title (422).
    let response = api
        .client
        .post(api.server.url("/api/v1/posts"))
        .bearer_auth(&editor)
        .header(header::CONTENT_TYPE, "application/json")
        .body("{\"actor\": ")
        .send()
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body: Value = response.json().await.unwrap();
    assert_problem(status, StatusCode::BAD_REQUEST, &body, &headers);
    let (status, body, headers) = api
        .call(
            Method::POST,
            "/api/v1/posts",
            Some(&editor),
            Some(json!({"actor": "isg"})),
        )
        .await;
    assert_problem(status, StatusCode::UNPROCESSABLE_ENTITY, &body, &headers);
    let mut untitled = statement();
    untitled["title"] = Value::Null;
    let (status, body, headers) = api
        .call(Method::POST, "/api/v1/posts", Some(&editor), Some(untitled))
        .await;
    assert_problem(status, StatusCode::UNPROCESSABLE_ENTITY, &body, &headers);
    assert!(body["detail"].as_str().unwrap().contains("title"));
    let (status, body, headers) = api
        .call(
            Method::PATCH,
            "/api/v1/posts/1",
            Some(&editor),
            Some(json!({"state": "famous"})),
        )
        .await;
    assert!(
        status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::NOT_FOUND,
        "{status}"
    );
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "application/problem+json",
        "{body}"
    );
    api.server.stop().await;
}

/// Covers the translations API: an editor adds and removes a version of a published post
/// (followers receive an Update each time) and the post lists its versions; an author may
/// not change a published post's versions (403, as for correcting it); a version in the
/// post's own language is refused (422) and removing one it lacks is 404, all problem+json.
#[tokio::test]
async fn translations_are_put_listed_and_removed_with_the_rules_of_editing() {
    let api = Api::start().await;
    let editor = api.token("ed", Role::Editor, &["isg"]).await;
    let author = api.token("au", Role::Author, &["isg"]).await;
    let peer = Peer::start().await;
    let isg = api.store.actor_by_username("isg").await.unwrap().unwrap();
    common::add_follower(&api.store, isg.id, &peer, "f", false).await;
    let (_, post, _) = api
        .call(
            Method::POST,
            "/api/v1/posts",
            Some(&editor),
            Some(statement()),
        )
        .await;
    peer.wait_for("Create").await;
    let path = format!("/api/v1/posts/{}/translations/es", post["id"]);
    let spanish = json!({"title": "Sobre la huelga", "body": "Texto **completo**."});

    let (status, body, headers) = api
        .call(Method::PUT, &path, Some(&author), Some(spanish.clone()))
        .await;
    assert_problem(status, StatusCode::FORBIDDEN, &body, &headers);
    let own = format!("/api/v1/posts/{}/translations/en", post["id"]);
    let (status, body, headers) = api
        .call(Method::PUT, &own, Some(&editor), Some(spanish.clone()))
        .await;
    assert_problem(status, StatusCode::UNPROCESSABLE_ENTITY, &body, &headers);

    let (status, saved, _) = api
        .call(Method::PUT, &path, Some(&editor), Some(spanish))
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let update = peer.wait_for("Update").await;
    assert_eq!(
        update.activity["object"]["nameMap"]["es"],
        "Sobre la huelga"
    );
    let shown = api
        .call(
            Method::GET,
            &format!("/api/v1/posts/{}", post["id"]),
            Some(&editor),
            None,
        )
        .await
        .1;
    assert_eq!(shown["translations"][0]["lang"], "es");
    assert_eq!(shown["translations"][0]["title"], "Sobre la huelga");
    assert_eq!(
        shown["translations"][0]["html"],
        "<p>Texto <strong>completo</strong>.</p>\n"
    );
    assert_eq!(
        shown["translations"][0]["url"],
        format!("{}/es", post["ap_id"].as_str().unwrap())
    );

    let (status, _, _) = api.call(Method::DELETE, &path, Some(&editor), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    common::eventually("the Update of the removal", || async {
        peer.received()
            .iter()
            .filter(|r| r.activity["type"] == "Update")
            .count()
            == 2
    })
    .await;
    let (status, body, headers) = api.call(Method::DELETE, &path, Some(&editor), None).await;
    assert_problem(status, StatusCode::NOT_FOUND, &body, &headers);
    assert_eq!(body["detail"], "This post has no version in `es`.");
    api.server.stop().await;
}

#[tokio::test]
async fn the_openapi_document_describes_exactly_the_routes() {
    let api = Api::start().await;
    let (status, document, _) = api
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    assert_eq!(document["info"]["title"], "Broadside API");
    assert!(document["components"]["securitySchemes"]["token"].is_object());

    // Every $ref points at a schema that exists.
    let text = document.to_string();
    for piece in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = piece.split('"').next().unwrap();
        assert!(
            document["components"]["schemas"][name].is_object(),
            "dangling $ref to {name}"
        );
    }

    // Every documented operation exists: without a token it answers 401, not 404 or 405.
    let paths = document["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let concrete = path.replace("{id}", "1").replace("{lang}", "es");
            let (status, _, _) = api
                .call(method.clone(), &concrete, None, Some(json!({})))
                .await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} is documented but not routed"
            );
            operations += 1;
        }
    }
    assert_eq!(
        operations, 7,
        "POST/GET /api/v1/posts, GET/PATCH/DELETE /api/v1/posts/{{id}} and PUT/DELETE \
         /api/v1/posts/{{id}}/translations/{{lang}}"
    );
    // And the routes that exist are documented: a method the document lacks is not routed.
    let (status, _, _) = api.call(Method::PUT, "/api/v1/posts/1", None, None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    api.server.stop().await;
}
