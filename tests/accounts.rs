//! The organization's people on the command line: users with roles and accounts, generated
//! or given passwords (argon2id), API tokens stored as hashes, password resets.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use std::{
    io::Write,
    path::Path,
    process::{Command, Output, Stdio},
};

use broadside::{
    config::DatabaseUrl,
    domain::{Login, Role, credentials},
    store::Store,
};

fn broadside(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_broadside"))
        .current_dir(dir)
        .env(
            "BROADSIDE_DATABASE_URL",
            format!("sqlite://{}/b.db", dir.display()),
        )
        .env("BROADSIDE_DATA_DIR", dir.join("data"))
        .env("BROADSIDE_LOG", "warn")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

async fn store(dir: &Path) -> Store {
    Store::connect(&DatabaseUrl::parse(&format!("sqlite://{}/b.db", dir.display())).unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn users_are_created_with_roles_and_hashed_passwords() {
    let dir = tempfile::tempdir().unwrap();
    stdout(&broadside(
        dir.path(),
        &["actor", "create", "isg", "--name", "ISG"],
        None,
    ));

    let generated = stdout(&broadside(
        dir.path(),
        &[
            "user", "create", "Ana", "--role", "editor", "--actor", "isg",
        ],
        None,
    ));
    assert!(
        generated.chars().count() >= 20,
        "a generated password is printed once: {generated}"
    );
    stdout(&broadside(
        dir.path(),
        &[
            "user",
            "create",
            "root",
            "--role",
            "admin",
            "--password-stdin",
        ],
        Some("a long enough secret\n"),
    ));

    let store = store(dir.path()).await;
    let ana = store
        .credentials(&Login::parse("ana").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ana.user.role, Role::Editor);
    assert_eq!(ana.user.actor_ids.len(), 1);
    assert!(
        ana.password_hash.starts_with("$argon2id$"),
        "never stored in clear"
    );
    assert!(credentials::verify_password(&generated, &ana.password_hash));
    let root = store
        .credentials(&Login::parse("root").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(credentials::verify_password(
        "a long enough secret",
        &root.password_hash
    ));

    let listed = stdout(&broadside(dir.path(), &["user", "list"], None));
    assert!(listed.contains("ana\teditor\tisg"), "{listed}");

    // Errors are sentences on stderr with a failing status.
    let duplicate = broadside(
        dir.path(),
        &[
            "user", "create", "ana", "--role", "author", "--actor", "isg",
        ],
        None,
    );
    assert!(!duplicate.status.success());
    assert!(String::from_utf8_lossy(&duplicate.stderr).contains("already exists"));
    let no_account = broadside(
        dir.path(),
        &["user", "create", "bo", "--role", "author"],
        None,
    );
    assert!(String::from_utf8_lossy(&no_account.stderr).contains("--actor"));
    let short = broadside(
        dir.path(),
        &[
            "user",
            "create",
            "cy",
            "--role",
            "admin",
            "--password-stdin",
        ],
        Some("short"),
    );
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least"));
    let bad_role = broadside(
        dir.path(),
        &["user", "create", "dee", "--role", "boss"],
        None,
    );
    assert!(String::from_utf8_lossy(&bad_role.stderr).contains("not a role"));
}

#[tokio::test]
async fn a_token_is_shown_once_and_stored_as_a_hash() {
    let dir = tempfile::tempdir().unwrap();
    stdout(&broadside(
        dir.path(),
        &["user", "create", "root", "--role", "admin"],
        None,
    ));
    let token = stdout(&broadside(
        dir.path(),
        &["token", "create", "root", "--label", "website"],
        None,
    ));
    assert!(token.starts_with("bst_"));
    let store = store(dir.path()).await;
    let user = store
        .user_by_token_hash(&credentials::token_hash(&token))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.login.as_str(), "root");
    assert!(
        store
            .user_by_token_hash(&credentials::token_hash("bst_guess"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store.user_by_token_hash(&token).await.unwrap().is_none(),
        "the clear token is not what is stored"
    );
    let log = store.audit_log(10).await.unwrap();
    assert!(
        log.iter()
            .any(|e| e.action == "token.create" && e.subject == "root")
    );
}

#[tokio::test]
async fn resetting_a_password_ends_the_users_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let old = stdout(&broadside(
        dir.path(),
        &["user", "create", "root", "--role", "admin"],
        None,
    ));
    let store = store(dir.path()).await;
    let root = store
        .credentials(&Login::parse("root").unwrap())
        .await
        .unwrap()
        .unwrap();
    let far = broadside::store::now_millis() + 3_600_000;
    store
        .create_session("session-hash", root.user.id, "csrf", far)
        .await
        .unwrap();
    assert!(store.session("session-hash").await.unwrap().is_some());

    let new = stdout(&broadside(
        dir.path(),
        &["user", "reset-password", "root"],
        None,
    ));
    let root = store
        .credentials(&Login::parse("root").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(credentials::verify_password(&new, &root.password_hash));
    assert!(!credentials::verify_password(&old, &root.password_hash));
    assert!(
        store.session("session-hash").await.unwrap().is_none(),
        "signed out everywhere"
    );
}
