//! Fan-out benchmark (issue #3, targets in #7): one statement published to 10,000 followers on
//! 1,000 shared inboxes must become exactly 1,000 signed POSTs.
//!
//! `cargo bench --bench fanout` (options after `--`: `--runs N`, `--hosts N`,
//! `--followers-per-host N`, `--latency-ms N`, `--from-cli`). Broadside runs in this process
//! (`app::run_prepared`, `Role::All`) on a SQLite database under `target/tmp`; 1,000
//! receivers listen on 127.0.0.1, each its own host `localhost:PORT`, and verify every
//! signature. Each scenario (receivers answering at once,
//! then after 250 ms) runs on a fresh server and database. Results go to stdout; nothing is
//! written outside `target/`. See docs/BENCHMARKS.md for what each figure means.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a panic is the report

#[path = "../common/mod.rs"]
mod common;

mod probe;
mod receivers;

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use broadside::{
    app::{self, AppState, Role},
    config::{Config, DatabaseUrl},
    domain::{FollowState, Language, LocalActor, PostDraft, PostKind},
    federation::publish,
    store::{Store, deliveries::DeliveryCounts, now_millis, remote_actors::NewRemoteActor},
};
use sqlx::Connection;
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};
use url::Url;

use common::{cores, create_account, load_average, memory_mib, peak_memory_mib};

use probe::{StatementStats, Statements};
use receivers::{Receivers, Seen};

/// No run may take longer than this from publish to the last delivery recorded.
const RUN_LIMIT: Duration = Duration::from_secs(120);

struct Options {
    runs: usize,
    hosts: usize,
    followers_per_host: usize,
    /// Receiver latencies to run, one scenario each.
    latencies: Vec<Duration>,
    /// Publish through a store handle of our own, as the CLI (another process) does, so the
    /// worker finds the post by polling; by default the post is published through the
    /// server's own handle, as the API and the editor do, and its commit wakes the worker.
    from_cli: bool,
}

impl Options {
    fn from_args() -> Self {
        let mut options = Self {
            runs: 5,
            hosts: 1_000,
            followers_per_host: 10,
            latencies: vec![Duration::ZERO, Duration::from_millis(250)],
            from_cli: false,
        };
        // `cargo bench` passes --bench; without it (`cargo test --benches`) a small smoke
        // run checks that everything still fits together, in seconds even unoptimised.
        if !std::env::args().any(|arg| arg == "--bench") {
            options.runs = 1;
            options.hosts = 20;
            options.followers_per_host = 2;
            options.latencies = vec![Duration::ZERO];
        }
        let mut explicit_latency = false;
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut number = |name: &str| -> usize {
                args.next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&n| n > 0)
                    .unwrap_or_else(|| panic!("{name} needs a positive number"))
            };
            match arg.as_str() {
                "--runs" => options.runs = number("--runs").min(20),
                "--hosts" => options.hosts = number("--hosts").min(5_000),
                "--followers-per-host" => {
                    options.followers_per_host = number("--followers-per-host").min(100);
                }
                "--latency-ms" => {
                    if !explicit_latency {
                        options.latencies.clear();
                        explicit_latency = true;
                    }
                    let ms = args
                        .next()
                        .and_then(|v| v.parse::<u64>().ok())
                        .expect("--latency-ms needs a number");
                    options.latencies.push(Duration::from_millis(ms.min(5_000)));
                }
                "--from-cli" => options.from_cli = true,
                // A filter word may follow --bench; there is nothing to filter here.
                _ => {}
            }
        }
        options
    }
}

/// Broadside running in this process, as `broadside serve` runs it.
struct Server {
    base: Url,
    /// The running server's state: publishing through its store is publishing in-process.
    state: AppState,
    db_path: std::path::PathBuf,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

impl Server {
    async fn start() -> Self {
        let scratch = env!("CARGO_TARGET_TMPDIR");
        let db_dir = tempfile::tempdir_in(scratch).unwrap();
        let data_dir = tempfile::tempdir_in(scratch).unwrap();
        let db_path = db_dir.path().join("broadside.db");
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let config = Config {
            base_url: Url::parse(&format!("http://localhost:{}", addr.port())).unwrap(),
            listen: addr,
            database: DatabaseUrl::parse(&format!("sqlite://{}", db_path.display())).unwrap(),
            data_dir: data_dir.path().to_path_buf(),
            allow_private_networks: true,
            extra_ca_pem: None,
            log: "warn".into(),
            api_requests_per_minute: broadside::config::DEFAULT_API_REQUESTS_PER_MINUTE,
            authorized_fetch: false,
            http_threads: broadside::config::cores(),
        };
        let (stop, shutdown) = watch::channel(false);
        let state = AppState::prepare(config.clone()).await.unwrap();
        let run_state = state.clone();
        let task = tokio::spawn(async move {
            app::run_prepared(run_state, Role::All, Some(listener), shutdown)
                .await
                .unwrap();
        });
        let server = Self {
            base: config.base_url.clone(),
            state,
            db_path,
            stop,
            task,
            _dirs: (db_dir, data_dir),
        };
        let client = reqwest::Client::new();
        let health = format!("{}healthz", server.base);
        for _ in 0..400 {
            if let Ok(response) = client.get(&health).send().await
                && response.status().is_success()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the server did not answer /healthz within 10 s");
    }

    async fn stop(self) {
        let _ = self.stop.send(true);
        // The worker drains for at most 10 s; a hang here must not hang the benchmark.
        let _ = tokio::time::timeout(Duration::from_secs(20), self.task).await;
    }

    /// When the last delivery was recorded as finished (Unix ms), read from the database.
    async fn last_recorded(&self) -> Option<i64> {
        let url = format!("sqlite://{}?mode=ro", self.db_path.display());
        let mut conn = sqlx::AnyConnection::connect(&url).await.ok()?;
        let last: Option<i64> =
            sqlx::query_scalar("SELECT MAX(updated_at) FROM deliveries WHERE state <> 'queued'")
                .fetch_one(&mut conn)
                .await
                .ok()?;
        let _ = conn.close().await;
        last
    }
}

/// `per_host` accepted followers on each receiver, all with the receiver's shared inbox, as
/// tests/publishing.rs adds them. The remote actors go in one statement each (the store has
/// no transactional upsert for them); the follows go in one transaction.
async fn add_followers(store: &Store, actor: &LocalActor, ports: &[u16], per_host: usize) {
    let mut remote_ids = Vec::with_capacity(ports.len() * per_host);
    for port in ports {
        let origin = Url::parse(&format!("http://localhost:{port}")).unwrap();
        let shared_inbox = origin.join("/inbox").unwrap();
        for n in 0..per_host {
            let id = origin.join(&format!("/users/f{n}")).unwrap();
            let remote = store
                .upsert_remote_actor(&NewRemoteActor {
                    ap_id: id.clone(),
                    actor_type: "Person".into(),
                    username: format!("f{n}"),
                    host: broadside::config::authority(&id),
                    name: None,
                    inbox: origin.join(&format!("/users/f{n}/inbox")).unwrap(),
                    shared_inbox: Some(shared_inbox.clone()),
                    url: None,
                    public_key_id: format!("{id}#main-key"),
                    public_key_pem: "unused".into(),
                })
                .await
                .unwrap();
            remote_ids.push((remote.id, format!("{id}/follow")));
        }
    }
    let mut tx = store.begin().await.unwrap();
    for (remote_id, follow_id) in &remote_ids {
        tx.upsert_follower(actor.id, *remote_id, follow_id, FollowState::Accepted)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
}

/// One scenario's measurements.
struct RunResult {
    latency: Duration,
    followers: usize,
    hosts: usize,
    setup: Duration,
    /// `publish::create_post`: the post, the stored activity and one delivery row per inbox,
    /// in one transaction.
    publish: Duration,
    /// From the publish commit to the worker's first claim: the commit wakes the worker when
    /// the post is published in-process; with `--from-cli` the worker finds it on its next
    /// poll.
    pickup: Option<Duration>,
    /// From publish to the last delivery recorded as finished in the database.
    end_to_end: Option<Duration>,
    counts: DeliveryCounts,
    seen: Seen,
    body_loads: u64,
    cpu: Duration,
    cpu_by_thread: Vec<(String, Duration)>,
    statements: Vec<(String, StatementStats)>,
    /// This process's resident memory with the receivers listening, before the server starts.
    receivers_mib: f64,
}

impl RunResult {
    /// From the first claim to the last delivery recorded: the sending itself.
    fn sending(&self) -> Option<Duration> {
        Some(
            self.end_to_end?
                .saturating_sub(self.publish)
                .saturating_sub(self.pickup?),
        )
    }

    /// Publish to last delivery recorded, less the pickup: the fan-out itself.
    fn woken(&self) -> Option<Duration> {
        Some(self.publish + self.sending()?)
    }
}

async fn run_once(options: &Options, latency: Duration, statements: &Statements) -> RunResult {
    let receivers = Receivers::start(options.hosts, latency).await;
    let receivers_mib = memory_mib();
    let server = Server::start().await;
    let store = if options.from_cli {
        app::open_store(&server.state.config).await.unwrap()
    } else {
        server.state.store.clone()
    };
    let actor = create_account(&store).await;
    let setup_started = Instant::now();
    add_followers(&store, &actor, &receivers.ports, options.followers_per_host).await;
    let setup = setup_started.elapsed();
    let followers = store
        .count_followers(actor.id, FollowState::Accepted)
        .await
        .unwrap();
    assert_eq!(
        usize::try_from(followers).unwrap(),
        options.hosts * options.followers_per_host
    );

    let draft = PostDraft::new(
        PostKind::Statement,
        Some("On the benchmark".into()),
        None,
        "We publish to **every** follower, once per server.\n\nThe rest of the statement \
         follows here, long enough to look like one."
            .into(),
        Language::parse("en").unwrap(),
    )
    .unwrap();
    let rendered = publish::render(&draft, &server.base, Vec::new());

    statements.reset();
    perf_control("enable");
    let threads_before = probe::thread_cpu();
    let cpu_before = probe::process_cpu();
    let started = Instant::now();
    let started_ms = now_millis();
    publish::create_post(&store, &server.base, &actor, &draft, &rendered, &[], true)
        .await
        .unwrap();
    let publish = started.elapsed();

    let all_answered = receivers.wait_all_answered(RUN_LIMIT).await;
    let mut counts = store.delivery_counts().await.unwrap();
    let hosts = i64::try_from(options.hosts).unwrap();
    for _ in 0..2_000 {
        if counts.delivered + counts.failed >= hosts {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        counts = store.delivery_counts().await.unwrap();
    }
    let cpu = probe::process_cpu().saturating_sub(cpu_before);
    let cpu_by_thread = probe::cpu_by_thread_name(&threads_before, &probe::thread_cpu());
    perf_control("disable");
    if !all_answered {
        eprintln!("fanout: not every receiver was reached within {RUN_LIMIT:?}");
    }
    let end_to_end = server
        .last_recorded()
        .await
        .map(|last| Duration::from_millis(u64::try_from(last - started_ms).unwrap_or_default()));
    let pickup = statements
        .claims()
        .map(|(first, _)| first.saturating_duration_since(started + publish));
    let result = RunResult {
        latency,
        followers: options.hosts * options.followers_per_host,
        hosts: options.hosts,
        setup,
        publish,
        pickup,
        end_to_end,
        counts,
        seen: receivers.seen(started),
        body_loads: statements.count_containing("FROM outbox_activities WHERE id"),
        cpu,
        cpu_by_thread,
        statements: statements.snapshot(),
        receivers_mib,
    };
    if options.from_cli {
        store.close().await;
    }
    server.stop().await;
    receivers.stop();
    result
}

/// With `FANOUT_PERF_CTL=FIFO`, tells `perf record --control=fifo:FIFO -D -1` to sample only
/// the fan-out itself, not the setup (see docs/BENCHMARKS.md).
fn perf_control(command: &str) {
    if let Ok(path) = std::env::var("FANOUT_PERF_CTL") {
        use std::io::Write;
        let mut fifo = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("FANOUT_PERF_CTL={path}: {e}"));
        fifo.write_all(format!("{command}\n").as_bytes()).unwrap();
    }
}

fn ms(duration: Duration) -> String {
    format!("{:.0}", duration.as_secs_f64() * 1000.0)
}

fn ms_or_dash(duration: Option<Duration>) -> String {
    duration.map_or_else(|| "-".into(), ms)
}

fn per_second(count: i64, duration: Option<Duration>) -> String {
    match duration {
        Some(d) if !d.is_zero() => format!("{:.0}", count as f64 / d.as_secs_f64()),
        _ => "-".into(),
    }
}

fn print_runs(results: &[RunResult]) {
    println!(
        "| receivers | run | publish ms | pickup ms | sending ms | end-to-end ms | \
         e2e less pickup ms | deliveries/s e2e | deliveries/s less pickup | \
         first POST ms | last answer ms | POSTs | delivered | failed | sig ok/refused | \
         body loads | key fetches | CPU s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut index = 0;
    let mut previous = None;
    for r in results {
        index = if previous == Some(r.latency) {
            index + 1
        } else {
            1
        };
        previous = Some(r.latency);
        println!(
            "| +{} ms | {index} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {}/{} | \
             {} | {} | {:.2} |",
            r.latency.as_millis(),
            ms(r.publish),
            ms_or_dash(r.pickup),
            ms_or_dash(r.sending()),
            ms_or_dash(r.end_to_end),
            ms_or_dash(r.woken()),
            per_second(r.counts.delivered, r.end_to_end),
            per_second(r.counts.delivered, r.woken()),
            ms_or_dash(r.seen.first_arrival),
            ms_or_dash(r.seen.last_answer),
            r.seen.posts,
            r.counts.delivered,
            r.counts.failed,
            r.seen.accepted,
            r.seen.refused,
            r.body_loads,
            r.seen.key_fetches,
            r.cpu.as_secs_f64(),
        );
    }
}

fn median(mut values: Vec<Duration>) -> Option<Duration> {
    values.sort();
    values.get(values.len() / 2).copied()
}

fn print_summary(results: &[RunResult]) {
    let mut latencies: Vec<Duration> = results.iter().map(|r| r.latency).collect();
    latencies.dedup();
    println!();
    println!(
        "| receivers | runs | median end-to-end ms | median less pickup ms | \
         deliveries/s (e2e / less pickup) | slowest e2e ms | \
         exactly one verified POST per inbox | body loads per run |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for latency in latencies {
        let runs: Vec<&RunResult> = results.iter().filter(|r| r.latency == latency).collect();
        let e2e = median(runs.iter().filter_map(|r| r.end_to_end).collect());
        let woken = median(runs.iter().filter_map(|r| r.woken()).collect());
        let slowest = runs.iter().filter_map(|r| r.end_to_end).max();
        let delivered = runs.first().map_or(0, |r| i64::try_from(r.hosts).unwrap());
        let exact = runs.iter().all(|r| {
            r.seen.posts == r.hosts
                && r.seen.missed_hosts == 0
                && r.seen.duplicate_hosts == 0
                && r.seen.accepted == r.hosts
                && r.seen.other_bodies == 0
                && r.counts.delivered == i64::try_from(r.hosts).unwrap()
        });
        let loads: Vec<String> = runs.iter().map(|r| r.body_loads.to_string()).collect();
        println!(
            "| +{} ms | {} | {} | {} | {} / {} | {} | {} | {} |",
            latency.as_millis(),
            runs.len(),
            ms_or_dash(e2e),
            ms_or_dash(woken),
            per_second(delivered, e2e),
            per_second(delivered, woken),
            ms_or_dash(slowest),
            if exact { "yes" } else { "NO" },
            loads.join(", "),
        );
    }
}

fn print_details(r: &RunResult) {
    println!();
    println!(
        "Last run, receivers +{} ms: {} followers on {} hosts (inserted in {} ms); \
         receivers spent {} ms verifying RSA signatures; process CPU {:.2} s, nearly all \
         of it in the {} ms of publish and sending ({:.0}% of {} cores then).",
        r.latency.as_millis(),
        r.followers,
        r.hosts,
        ms(r.setup),
        ms(r.seen.verify_cpu),
        r.cpu.as_secs_f64(),
        ms_or_dash(r.woken()),
        r.woken().map_or(0.0, |busy| 100.0 * r.cpu.as_secs_f64()
            / (cores() as f64 * busy.as_secs_f64().max(0.001))),
        cores(),
    );
    if let Some(reason) = &r.seen.first_refusal {
        println!("First refusal by a receiver: {reason}");
    }
    println!();
    println!("| thread | CPU ms |");
    println!("|---|---|");
    for (name, used) in r.cpu_by_thread.iter().take(6) {
        println!("| {name} | {} |", ms(*used));
    }
    println!();
    println!("| SQL statement (first words) | count | rows returned | busy ms | longest ms |");
    println!("|---|---|---|---|---|");
    for (sql, stats) in r.statements.iter().take(12) {
        println!(
            "| `{}` | {} | {} | {:.1} | {:.1} |",
            sql.replace('|', "\\|"),
            stats.count,
            stats.rows_returned,
            stats.busy.as_secs_f64() * 1000.0,
            stats.longest.as_secs_f64() * 1000.0
        );
    }
}

#[tokio::main]
async fn main() {
    let options = Options::from_args();
    let statements = Statements::install();
    println!(
        "fanout: 1 post, {} followers on {} shared inboxes, {} run(s) per scenario, \
         published {}; load average {}",
        options.hosts * options.followers_per_host,
        options.hosts,
        options.runs,
        if options.from_cli {
            "from another store handle, as the CLI does (the worker polls)"
        } else {
            "in-process, as the API does (the commit wakes the worker)"
        },
        load_average(),
    );
    let mut results = Vec::new();
    for &latency in &options.latencies {
        for run in 1..=options.runs {
            eprintln!("fanout: receivers +{} ms, run {run}", latency.as_millis());
            results.push(run_once(&options, latency, &statements).await);
        }
        if let Some(last) = results.last() {
            print_details(last);
        }
    }
    println!();
    print_runs(&results);
    print_summary(&results);
    println!();
    println!("load average at the end: {}", load_average());
    // The server runs in this process beside its receivers: their memory before the first
    // server starts, taken from the peak of both, bounds the server's own.
    let receivers = results.first().map_or(0.0, |r| r.receivers_mib);
    println!(
        "memory: peak of the server and its receivers together (VmHWM) {:.1} MiB; the \
         receivers alone, listening, before the first server started: {receivers:.1} MiB",
        peak_memory_mib()
    );
}
