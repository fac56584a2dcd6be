//! Start-up, memory and stampede benchmark (issue #7, targets 2 and 5).
//!
//! `cargo bench --bench web` (options after `--`: `--posts N`, `--followers N`,
//! `--requests N`). Two parts:
//!
//! - **start-up and memory**: a SQLite database with 10,000 published posts and 100,000
//!   accepted followers is made through the store; then the release `broadside serve` binary
//!   is started on it as a separate process, and the time from spawning it to its first `200`
//!   from `/healthz` is measured, with its resident memory (VmRSS) idle and right after a
//!   stampede of 1,000 requests.
//! - **stampede**: 1,000 GETs of a post's JSON that nobody fetched yet, each on a new TCP
//!   connection, all started within one second, against a server running in this process,
//!   whose page cache counts renders: the target is exactly one render (one set of database
//!   reads) and a p99 latency of at most 250 ms.
//!
//! Everything stays on 127.0.0.1 and under `target/`. docs/BENCHMARKS.md has the figures.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a panic is the report

#[path = "../common/mod.rs"]
mod common;

use std::{
    net::SocketAddr,
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use broadside::{
    app::{self, AppState, Role},
    config::{Config, Overrides},
    domain::{FollowState, Language, LocalActor, PostDraft, PostKind, PostState},
    federation::publish,
    store::{Store, remote_actors::NewRemoteActor},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    sync::watch,
};
use url::Url;

use common::{cores, create_account, load_average};

const AP: &str = "application/activity+json";

struct Options {
    posts: usize,
    followers: usize,
    requests: usize,
}

impl Options {
    fn from_args() -> Self {
        let mut options = Self {
            posts: 10_000,
            followers: 100_000,
            requests: 1_000,
        };
        // Without --bench (`cargo test --benches`): a smoke run of the same steps.
        if !std::env::args().any(|arg| arg == "--bench") {
            options = Self {
                posts: 20,
                followers: 50,
                requests: 50,
            };
        }
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut number = |name: &str| -> usize {
                args.next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&n| n > 0)
                    .unwrap_or_else(|| panic!("{name} needs a positive number"))
            };
            match arg.as_str() {
                "--posts" => options.posts = number("--posts"),
                "--followers" => options.followers = number("--followers"),
                "--requests" => options.requests = number("--requests"),
                _ => {}
            }
        }
        options
    }
}

fn config(port: u16, db: &std::path::Path, data_dir: &std::path::Path) -> Config {
    Config::load(
        None,
        Overrides {
            base_url: Some(format!("http://localhost:{port}")),
            listen: Some(format!("127.0.0.1:{port}")),
            database_url: Some(format!("sqlite://{}", db.display())),
            data_dir: Some(data_dir.to_path_buf()),
            allow_private_networks: Some(true),
            log: Some("warn".into()),
            ..Overrides::default()
        },
    )
    .unwrap()
}

/// `posts` published statements (written directly, so nothing is queued for delivery), in
/// transactions of 1,000; returns the last one's id.
async fn add_posts(store: &Store, base: &Url, actor: &LocalActor, posts: usize) -> i64 {
    let mut last = 0;
    for chunk in (0..posts).collect::<Vec<_>>().chunks(1_000) {
        let mut tx = store.begin().await.unwrap();
        for n in chunk {
            let draft = PostDraft::new(
                PostKind::Statement,
                Some(format!("Statement {n}")),
                None,
                format!(
                    "The text of statement {n}, with a #hashtag and a [link](https://example.org/)."
                ),
                Language::parse("en").unwrap(),
            )
            .unwrap();
            let rendered = publish::render(&draft, base, Vec::new());
            last = tx
                .insert_post(actor.id, None, &draft, &rendered, PostState::Published, &[])
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
    }
    last
}

/// `followers` accepted followers on 1,000 hosts.
async fn add_followers(store: &Store, actor: &LocalActor, followers: usize) {
    let mut remote_ids = Vec::with_capacity(followers);
    for n in 0..followers {
        let host = format!("localhost:{}", 20_000 + n % 1_000);
        let id = Url::parse(&format!("http://{host}/users/f{n}")).unwrap();
        let remote = store
            .upsert_remote_actor(&NewRemoteActor {
                ap_id: id.clone(),
                actor_type: "Person".into(),
                username: format!("f{n}"),
                host: host.clone(),
                name: None,
                inbox: Url::parse(&format!("{id}/inbox")).unwrap(),
                shared_inbox: Some(Url::parse(&format!("http://{host}/inbox")).unwrap()),
                url: None,
                public_key_id: format!("{id}#main-key"),
                public_key_pem: "unused".into(),
            })
            .await
            .unwrap();
        remote_ids.push(remote.id);
    }
    for chunk in remote_ids.chunks(10_000) {
        let mut tx = store.begin().await.unwrap();
        for remote_id in chunk {
            tx.upsert_follower(
                actor.id,
                *remote_id,
                &format!("follow/{remote_id}"),
                FollowState::Accepted,
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    }
}

/// Resident memory of a process, in MiB, from /proc.
fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Stampede {
    ok: usize,
    p50: Duration,
    p99: Duration,
    spread: Duration,
}

/// `requests` GETs of `url`, each on its own new connection, all started together. The
/// requests are written by hand on raw TCP connections, so that the client's own cost (an
/// HTTP client with its TLS set-up per connection) does not count as the server's latency.
async fn stampede(url: &str, requests: usize) -> Stampede {
    let url = Url::parse(url).unwrap();
    let addr = format!("127.0.0.1:{}", url.port().unwrap());
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nAccept: {AP}\r\nConnection: close\r\n\r\n",
        url.path(),
        broadside::config::authority(&url)
    );
    let start = Arc::new(tokio::sync::Barrier::new(requests));
    let tasks: Vec<_> = (0..requests)
        .map(|_| {
            let (addr, request, start) = (addr.clone(), request.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                let sent = Instant::now();
                let ok = async {
                    let mut stream = tokio::net::TcpStream::connect(&addr).await?;
                    stream.write_all(request.as_bytes()).await?;
                    let mut response = Vec::new();
                    stream.read_to_end(&mut response).await?;
                    Ok::<_, std::io::Error>(response.starts_with(b"HTTP/1.1 200"))
                }
                .await
                .unwrap_or(false);
                (ok, sent, sent.elapsed())
            })
        })
        .collect();
    let mut results = Vec::with_capacity(requests);
    for task in tasks {
        results.push(task.await.unwrap());
    }
    let first = results.iter().map(|r| r.1).min().unwrap();
    let last = results.iter().map(|r| r.1).max().unwrap();
    let mut latencies: Vec<Duration> = results.iter().map(|r| r.2).collect();
    latencies.sort();
    let at = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    Stampede {
        ok: results.iter().filter(|r| r.0).count(),
        p50: at(0.5),
        p99: at(0.99),
        spread: last - first,
    }
}

async fn wait_healthy(url: &str, child: &mut Child, started: Instant) -> Duration {
    let client = reqwest::Client::new();
    loop {
        if let Ok(response) = client.get(url).send().await
            && response.status().is_success()
        {
            return started.elapsed();
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("broadside serve exited: {status}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no /healthz in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// The release binary on a full database: time to healthy, and memory.
async fn startup_and_memory(options: &Options) {
    let scratch = env!("CARGO_TARGET_TMPDIR");
    let dir = tempfile::tempdir_in(scratch).unwrap();
    let db = dir.path().join("broadside.db");
    let port = free_port();
    let config = config(port, &db, dir.path());
    let filling = Instant::now();
    let state = AppState::prepare(config.clone()).await.unwrap();
    let actor = create_account(&state.store).await;
    let last = add_posts(&state.store, &config.base_url, &actor, options.posts).await;
    add_followers(&state.store, &actor, options.followers).await;
    state.store.close().await;
    let filling = filling.elapsed();

    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_broadside"))
        .arg("serve")
        .env("BROADSIDE_BASE_URL", config.base_url.as_str())
        .env("BROADSIDE_LISTEN", config.listen.to_string())
        .env(
            "BROADSIDE_DATABASE_URL",
            format!("sqlite://{}", db.display()),
        )
        .env("BROADSIDE_DATA_DIR", dir.path())
        .env("BROADSIDE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let healthy = wait_healthy(&format!("{}healthz", config.base_url), &mut child, started).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = rss_mib(child.id());
    let url = format!("{}users/isg/posts/{last}", config.base_url);
    let load = stampede(&url, options.requests).await;
    let loaded = rss_mib(child.id());
    let _ = child.kill();
    let _ = child.wait();

    println!("\n## start-up and memory (release binary, separate process)\n");
    println!(
        "database: {} posts, {} accepted followers ({:.1} s to make)",
        options.posts,
        options.followers,
        filling.as_secs_f64()
    );
    println!(
        "| spawn → /healthz 200 | RSS idle | RSS after {} new-connection GETs ({} ok) |",
        options.requests, load.ok
    );
    println!("|---|---|---|");
    println!(
        "| {} ms | {idle:.1} MiB | {loaded:.1} MiB |",
        healthy.as_millis()
    );
}

/// A never-fetched post, hit by a stampede: one render, and the latencies.
async fn stampede_in_process(options: &Options) {
    let scratch = env!("CARGO_TARGET_TMPDIR");
    let dir = tempfile::tempdir_in(scratch).unwrap();
    // As `broadside serve` binds.
    let listener = app::listen(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = config(port, &dir.path().join("broadside.db"), dir.path());
    let state = AppState::prepare(config.clone()).await.unwrap();
    let actor = create_account(&state.store).await;
    let last = add_posts(&state.store, &config.base_url, &actor, 1).await;
    let (stop, shutdown) = watch::channel(false);
    let run_state = state.clone();
    let task = tokio::spawn(async move {
        app::run_prepared(run_state, Role::All, Some(listener), shutdown)
            .await
            .unwrap();
    });
    let healthz = format!("{}healthz", config.base_url);
    while !reqwest::get(&healthz)
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let url = format!("{}users/isg/posts/{last}", config.base_url);
    let before = state.public_cache.renders();
    let result = stampede(&url, options.requests).await;
    let renders = state.public_cache.renders() - before;
    let _ = stop.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(20), task).await;

    println!("\n## stampede: a post nobody fetched yet\n");
    println!(
        "{} GETs of the post's JSON, each on a new connection, started within {} ms",
        options.requests,
        result.spread.as_millis()
    );
    println!("| answered 200 | renders | p50 ms | p99 ms |");
    println!("|---|---|---|---|");
    println!(
        "| {} | {renders} | {:.1} | {:.1} |",
        result.ok,
        result.p50.as_secs_f64() * 1e3,
        result.p99.as_secs_f64() * 1e3
    );
    assert_eq!(result.ok, options.requests, "every request answered");
    assert_eq!(renders, 1, "exactly one render");
}

#[tokio::main]
async fn main() {
    let options = Options::from_args();
    println!(
        "# web benchmark: {} cores, load average {}",
        cores(),
        load_average()
    );
    stampede_in_process(&options).await;
    startup_and_memory(&options).await;
}
