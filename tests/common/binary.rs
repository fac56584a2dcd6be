//! The real `broadside` binary run as a separate process on a folder of its own, for tests
//! that must kill it (SIGKILL, SIGTERM) and start it again on the same database.

use std::process::{Child, Command, Stdio};

use reqwest::StatusCode;

use super::eventually;

/// A running `broadside serve`, killed when dropped.
pub struct Server {
    pub child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary, set up to use `dir` (its SQLite file and data) and to serve on `port`.
pub fn broadside(dir: &std::path::Path, port: u16) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_broadside"));
    command
        .current_dir(dir)
        .env("BROADSIDE_BASE_URL", format!("http://localhost:{port}"))
        .env("BROADSIDE_LISTEN", format!("127.0.0.1:{port}"))
        .env(
            "BROADSIDE_DATABASE_URL",
            format!("sqlite://{}/broadside.db", dir.display()),
        )
        .env("BROADSIDE_DATA_DIR", dir.join("data"))
        .env("BROADSIDE_ALLOW_PRIVATE_NETWORKS", "true")
        .env("BROADSIDE_LOG", "warn");
    command
}

/// Starts `broadside serve` with `extra` arguments and waits until it answers.
pub async fn serve(dir: &std::path::Path, port: u16, extra: &[&str]) -> Server {
    let child = broadside(dir, port)
        .arg("serve")
        .args(extra)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server { child };
    let url = format!("http://127.0.0.1:{port}/healthz");
    eventually("the server to answer", || {
        let url = url.clone();
        async move {
            reqwest::get(&url)
                .await
                .is_ok_and(|r| r.status() == StatusCode::OK)
        }
    })
    .await;
    server
}

/// A loopback port nobody listens on at the moment.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A folder for the binary with the account `isg` created by its CLI, the port it is to
/// serve on, and the database opened as another process would open it.
pub struct Instance {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub store: broadside::store::Store,
    pub isg: broadside::domain::LocalActor,
}

impl Instance {
    pub async fn with_isg() -> Self {
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
        let url = format!("sqlite://{}/broadside.db", dir.path().display());
        let store =
            broadside::store::Store::connect(&broadside::config::DatabaseUrl::parse(&url).unwrap())
                .await
                .unwrap();
        let isg = store.actor_by_username("isg").await.unwrap().unwrap();
        Self {
            dir,
            port,
            store,
            isg,
        }
    }
}
