//! Nothing is lost under faults (issue #8, item 1): receivers that hang, trickle, fail or
//! ask us to wait; names that do not resolve and certificates nobody trusts; the CLI and the
//! server writing one SQLite file at once; PostgreSQL going away mid-run; a full disk under an
//! upload; SIGTERM in the middle of a delivery. (SIGKILL mid-fan-out is in tests/restart.rs.)
//!
//! Every receiver is on 127.0.0.1, and the server's limits are shortened through
//! `app::Tuning` so each fault shows within a second or two; outcomes are awaited with
//! `common::eventually`, never by sleeping.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod common;

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

use broadside::{
    app::Tuning,
    config::{DatabaseUrl, authority},
    domain::Role,
    federation::delivery::{self, Outgoing},
    store::{Store, deliveries::DeliveryState, now_millis},
};
use common::{
    Peer, TestDb, TestServer,
    binary::{Instance, broadside, serve},
    editor::{PNG, signed_in},
    eventually,
};
use reqwest::StatusCode;
use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::watch,
    task::AbortHandle,
};
use url::Url;

/// The server's limits for these tests: deliveries given `timeout` to answer, and half a
/// second at the test's end for sends still hanging.
fn tuning(timeout: Duration) -> Tuning {
    Tuning {
        delivery: delivery::Settings {
            request_timeout: timeout,
            shutdown_grace: Duration::from_millis(500),
        },
        resolver: None,
    }
}

async fn start(tuning: Tuning) -> TestServer {
    TestServer::start_with(TestDb::new("sqlite").await, None, tuning).await
}

/// Queues a Create signed by the instance actor to `inboxes`, as a use case does in its
/// transaction; committed through the server's own store handle, it wakes the worker at once.
async fn queue(server: &TestServer, store: &Store, inboxes: &[Url]) -> Url {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let ap_id = Url::parse(&server.url(&format!("/activities/fault-{n}"))).unwrap();
    let activity = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": ap_id,
        "type": "Create",
        "actor": server.url("/actor"),
        "object": {"type": "Note", "content": format!("Fault {n}")},
    });
    let mut tx = store.begin().await.unwrap();
    let outgoing = Outgoing {
        ap_id: &ap_id,
        kind: "Create",
        signer: None,
        post_id: None,
    };
    delivery::enqueue(&mut tx, outgoing, &activity, inboxes)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    ap_id
}

/// Waits until every delivery to `host` has been tried at least once, and returns them.
async fn tried(store: &Store, host: &str) -> Vec<DeliveryState> {
    eventually(
        &format!("the deliveries to {host} to be tried"),
        || async move {
            let rows = store.deliveries_to_host(host).await.unwrap();
            !rows.is_empty() && rows.iter().all(|row| row.attempts > 0)
        },
    )
    .await;
    store.deliveries_to_host(host).await.unwrap()
}

/// Asserts that `row` is queued again for about `wait` from now (it was written a moment
/// ago, so up to five seconds of that wait may have passed).
fn assert_retry_in(row: &DeliveryState, wait: Duration) {
    assert_eq!(row.state, "queued", "{row:?}");
    assert_eq!(row.locked_until, 0, "no worker holds it: {row:?}");
    let due_in = row.next_attempt_at - now_millis();
    let wait = i64::try_from(wait.as_millis()).unwrap();
    assert!(
        (wait - 5_000..=wait).contains(&due_in),
        "due in {due_in} ms, expected about {wait} ms: {row:?}"
    );
}

/// What a loopback receiver does with each request it reads.
#[derive(Clone)]
enum Behaviour {
    /// Accepts the connection and the request, and never answers.
    Hang,
    /// Answers 202, two bytes every half second: a whole answer would take 12 seconds.
    Trickle,
    /// Answers at once with this status line and headers (without the blank line).
    Answer(String),
    /// Answers 202 once the gate turns true.
    AnswerWhen(watch::Receiver<bool>),
}

/// A raw HTTP/1.1 server on 127.0.0.1 that behaves as told.
struct Receiver {
    addr: SocketAddr,
    requests: Arc<AtomicUsize>,
}

impl Receiver {
    async fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let counted = requests.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(respond(stream, behaviour.clone(), counted.clone()));
            }
        });
        Self { addr, requests }
    }

    fn inbox(&self) -> Url {
        Url::parse(&format!("http://localhost:{}/inbox", self.addr.port())).unwrap()
    }

    fn host(&self) -> String {
        format!("localhost:{}", self.addr.port())
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

async fn respond(mut stream: TcpStream, behaviour: Behaviour, requests: Arc<AtomicUsize>) {
    if read_request(&mut stream).await.is_none() {
        return;
    }
    requests.fetch_add(1, Ordering::SeqCst);
    match behaviour {
        // Holding the stream open is the hang; the test's end drops it.
        Behaviour::Hang => std::future::pending::<()>().await,
        Behaviour::Trickle => {
            for bytes in b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n".chunks(2) {
                if stream.write_all(bytes).await.is_err() {
                    return;
                }
                // The trickle itself, not a wait for an outcome.
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        Behaviour::Answer(head) => {
            let answer = format!("{head}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            let _ = stream.write_all(answer.as_bytes()).await;
        }
        Behaviour::AnswerWhen(mut gate) => {
            let _ = gate.wait_for(|open| *open).await;
            let answer = "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            let _ = stream.write_all(answer.as_bytes()).await;
        }
    }
}

/// Reads one request, head and body, so an answer is not mistaken for a reset.
async fn read_request(stream: &mut TcpStream) -> Option<()> {
    let mut read = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        read.extend_from_slice(&chunk[..n]);
        if let Some(end) = read.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&read[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|value| value.trim().parse().ok())
                .unwrap_or(0);
            while read.len() < end + 4 + length {
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                read.extend_from_slice(&chunk[..n]);
            }
            return Some(());
        }
    }
}

// Covers: remote inboxes that hang (accept the connection, never answer) and so time out.
// Each send ends at the request timeout with the timeout recorded and a retry a minute
// later. The hanging host has 600 deliveries due, more than the worker's 512 slots, queued
// before one to another host: that one still goes out at once, because one host gets at
// most 8 sends at a time and 32 claimed (the rest are handed back for a moment).
#[tokio::test]
async fn a_hanging_inbox_times_out_into_a_retry_without_holding_up_other_hosts() {
    let server = start(tuning(Duration::from_secs(2))).await;
    let store = server.state.store.clone();
    let hanging = Receiver::start(Behaviour::Hang).await;
    let peer = Peer::start().await;
    let inboxes: Vec<Url> = (0..600)
        .map(|n| hanging.inbox().join(&format!("/users/u{n}/inbox")).unwrap())
        .collect();
    queue(&server, &store, &inboxes).await;
    let started = Instant::now();
    queue(&server, &store, &[peer.url("/inbox")]).await;

    peer.wait_for("Create").await;
    let rows = store.deliveries_to_host(&hanging.host()).await.unwrap();
    assert_eq!(rows.len(), 600);
    assert!(
        rows.iter().all(|row| row.attempts == 0),
        "the other host was served while the hanging one held its sends"
    );
    assert!(hanging.requests() <= 8, "at most eight at once to one host");

    eventually("the first hanging sends to time out", || {
        let (store, host) = (store.clone(), hanging.host());
        async move {
            let rows = store.deliveries_to_host(&host).await.unwrap();
            rows.iter().filter(|row| row.attempts > 0).count() >= 8
        }
    })
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "a 2 s timeout took {:?}",
        started.elapsed()
    );
    let rows = store.deliveries_to_host(&hanging.host()).await.unwrap();
    for row in rows.iter().filter(|row| row.attempts > 0) {
        assert_eq!(row.attempts, 1);
        assert_eq!(row.last_status, None);
        let error = row.last_error.as_deref().unwrap();
        assert!(error.starts_with("no answer within 2000 ms"), "{error}");
        assert_retry_in(row, Duration::from_secs(60));
    }
    assert!(
        store
            .host_failing_since(&hanging.host())
            .await
            .unwrap()
            .is_some(),
        "a host that does not answer is failing"
    );
    server.stop().await;
}

// Covers: a remote inbox that trickles its answer (a few bytes a second). The whole answer
// would take twelve seconds; the send is cut off at the one-second request timeout and
// retried a minute later, with the timeout recorded.
#[tokio::test]
async fn a_trickling_inbox_is_cut_off_at_the_timeout_and_retried() {
    let server = start(tuning(Duration::from_secs(1))).await;
    let store = server.state.store.clone();
    let trickle = Receiver::start(Behaviour::Trickle).await;
    let started = Instant::now();
    queue(&server, &store, &[trickle.inbox()]).await;

    let rows = tried(&store, &trickle.host()).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(trickle.requests(), 1);
    let error = rows[0].last_error.as_deref().unwrap();
    assert!(error.starts_with("no answer within 1000 ms"), "{error}");
    assert_retry_in(&rows[0], Duration::from_secs(60));
    server.stop().await;
}

// Covers: an inbox whose server never accepts the connection: its accept queue is full, so
// the kernel drops our SYN and connecting itself times out, before any request is sent.
// The send ends at the request timeout, which includes connecting, and is retried a
// minute later with the timeout recorded. (reqwest's message does not say which phase
// timed out; that it is the connection rests on the full queue.)
#[tokio::test]
async fn an_inbox_that_never_accepts_the_connection_times_out_into_a_retry() {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
    let listener = socket.listen(0).unwrap(); // never accepted from
    let addr = listener.local_addr().unwrap();
    // Whatever fits in the queue fills it; a connection that does not fit never completes.
    let fillers: Vec<_> = (0..3)
        .map(|_| tokio::spawn(TcpStream::connect(addr)))
        .collect();
    let server = start(tuning(Duration::from_secs(1))).await;
    let store = server.state.store.clone();
    let host = format!("localhost:{}", addr.port());
    let started = Instant::now();
    queue(
        &server,
        &store,
        &[Url::parse(&format!("http://{host}/inbox")).unwrap()],
    )
    .await;

    let rows = tried(&store, &host).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let error = rows[0].last_error.as_deref().unwrap();
    assert!(error.starts_with("no answer within 1000 ms"), "{error}");
    assert_retry_in(&rows[0], Duration::from_secs(60));
    drop((listener, fillers));
    server.stop().await;
}

// Covers: a remote inbox answering 5xx. The delivery is retried on the schedule (a minute
// after the first failure) with the status and its sentence recorded, and the host is
// marked as failing.
#[tokio::test]
async fn a_server_error_is_retried_on_the_schedule_with_its_status_recorded() {
    let server = start(tuning(Duration::from_secs(2))).await;
    let store = server.state.store.clone();
    let failing =
        Receiver::start(Behaviour::Answer("HTTP/1.1 503 Service Unavailable".into())).await;
    queue(&server, &store, &[failing.inbox()]).await;

    let rows = tried(&store, &failing.host()).await;
    assert_eq!(rows[0].last_status, Some(503));
    assert_eq!(
        rows[0].last_error.as_deref(),
        Some("the inbox answered 503 Service Unavailable")
    );
    assert_retry_in(&rows[0], Duration::from_secs(60));
    assert!(
        store
            .host_failing_since(&failing.host())
            .await
            .unwrap()
            .is_some()
    );
    server.stop().await;
}

// Covers: a remote inbox answering 429 with Retry-After, in seconds and as an HTTP date.
// The retry waits as long as asked when that is longer than the schedule's next step, the
// schedule's step when the ask is shorter (never sooner than either), and at most a day
// however long the ask; the host is not marked failing (it answered).
#[tokio::test]
async fn too_many_requests_is_retried_when_retry_after_says_capped_at_a_day() {
    let server = start(tuning(Duration::from_secs(2))).await;
    let store = server.state.store.clone();
    let in_two_hours = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(7200));
    let cases = [
        ("Retry-After: 600".to_owned(), Duration::from_secs(600)),
        (
            format!("Retry-After: {in_two_hours}"),
            Duration::from_secs(7200),
        ),
        ("Retry-After: 5".to_owned(), Duration::from_secs(60)),
        (
            "Retry-After: 99999999".to_owned(),
            Duration::from_secs(24 * 3600),
        ),
    ];
    let mut receivers = Vec::new();
    for (header, wait) in cases {
        let head = format!("HTTP/1.1 429 Too Many Requests\r\n{header}");
        let receiver = Receiver::start(Behaviour::Answer(head)).await;
        queue(&server, &store, &[receiver.inbox()]).await;
        receivers.push((receiver, header, wait));
    }
    for (receiver, header, wait) in &receivers {
        let rows = tried(&store, &receiver.host()).await;
        assert_eq!(rows[0].last_status, Some(429), "{header}");
        assert_eq!(
            rows[0].last_error.as_deref(),
            Some("the inbox answered 429 Too Many Requests")
        );
        assert_retry_in(&rows[0], *wait);
        assert_eq!(
            store.host_failing_since(&receiver.host()).await.unwrap(),
            None,
            "{header}"
        );
    }
    server.stop().await;
}

/// Answers `localhost` with 127.0.0.1 and fails every other name, without a query.
struct LoopbackResolver;

impl reqwest::dns::Resolve for LoopbackResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let answer: Result<reqwest::dns::Addrs, Box<dyn std::error::Error + Send + Sync>> =
            if name.as_str() == "localhost" {
                Ok(Box::new(
                    vec![SocketAddr::from(([127, 0, 0, 1], 0))].into_iter(),
                ))
            } else {
                Err(format!("{} does not resolve", name.as_str()).into())
            };
        Box::pin(std::future::ready(answer))
    }
}

// Covers: a delivery to a name that does not resolve. The resolver seam (`app::Tuning`'s
// `resolver`) stands in for the system's, so no DNS query leaves the machine: it answers
// `localhost` and fails every other name. The delivery is retried on the schedule, with
// the DNS failure named in the recorded error; a delivery to a name that resolves goes out.
#[tokio::test]
async fn an_unresolvable_host_is_retried_with_the_dns_error_recorded() {
    let tuning = Tuning {
        resolver: Some(Arc::new(LoopbackResolver)),
        ..tuning(Duration::from_secs(2))
    };
    let server = start(tuning).await;
    let store = server.state.store.clone();
    let peer = Peer::start().await;
    let nowhere = Url::parse("http://nowhere.invalid/inbox").unwrap();
    queue(&server, &store, &[nowhere, peer.url("/inbox")]).await;

    peer.wait_for("Create").await;
    let rows = tried(&store, "nowhere.invalid").await;
    let error = rows[0].last_error.as_deref().unwrap();
    assert!(error.starts_with("cannot connect"), "{error}");
    assert!(error.contains("dns error"), "{error}");
    assert!(
        error.contains("nowhere.invalid does not resolve"),
        "{error}"
    );
    assert_retry_in(&rows[0], Duration::from_secs(60));
    server.stop().await;
}

/// A TLS server on 127.0.0.1 for `localhost` whose certificate signs itself, so no client
/// trusts it; counts the handshakes begun.
async fn untrusted_tls_server() -> (u16, Arc<AtomicUsize>) {
    use tokio_rustls::rustls::{
        self,
        pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
    };
    let certificates =
        CertificateDer::pem_slice_iter(include_bytes!("fixtures/tls/untrusted-cert.pem"))
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
    let key =
        PrivateKeyDer::from_pem_slice(include_bytes!("fixtures/tls/untrusted-key.pem")).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certificates, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let handshakes = Arc::new(AtomicUsize::new(0));
    let counted = handshakes.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            // The client gives up during the handshake; nothing more to do.
            tokio::spawn(async move { acceptor.accept(stream).await });
        }
    });
    (port, handshakes)
}

// Covers: a delivery to a TLS server whose certificate is not trusted (self-signed, not in
// the system's roots nor BROADSIDE_EXTRA_CA_FILE). The handshake is refused, and the
// delivery retried on the schedule with the certificate problem in the recorded error.
#[tokio::test]
async fn an_untrusted_certificate_is_retried_with_the_tls_error_recorded() {
    let server = start(tuning(Duration::from_secs(2))).await;
    let store = server.state.store.clone();
    let (port, handshakes) = untrusted_tls_server().await;
    let inbox = Url::parse(&format!("https://localhost:{port}/inbox")).unwrap();
    queue(&server, &store, &[inbox]).await;

    let rows = tried(&store, &format!("localhost:{port}")).await;
    assert!(handshakes.load(Ordering::SeqCst) >= 1);
    let error = rows[0].last_error.as_deref().unwrap();
    assert!(error.contains("invalid peer certificate"), "{error}");
    assert!(error.contains("UnknownIssuer"), "{error}");
    assert_retry_in(&rows[0], Duration::from_secs(60));
    server.stop().await;
}

// Covers: SQLite busy. The CLI (the real binary, another process) publishes twice and
// creates an account while the server is writing the same file: the fan-out of the first
// post being recorded, and an inbox burst of follows (each stored and answered with a
// queued Accept). Every command succeeds, every follow is accepted, every post reaches
// every follower, and nothing is given up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_and_a_busy_server_write_the_sqlite_file_at_once() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let store = server.state.store.clone();
    let actor = store.actor_by_username("isg").await.unwrap().unwrap();
    let mut followers = Vec::new();
    for _ in 0..20 {
        let peer = Peer::start().await;
        common::add_follower(&store, actor.id, &peer, "follower", true).await;
        followers.push(peer);
    }
    let crowd = Peer::start().await;
    let newcomers: Vec<_> = (0..8)
        .map(|n| crowd.add_actor(&format!("newcomer{n}")))
        .collect();
    let publish = ["post", "publish", "--actor", "isg", "--kind", "news"];

    let first = common::cli(&server, &[&publish[..], &["--body", "First."][..]].concat()).await;
    assert!(first.is_ok(), "{first:?}");
    // The fan-out of the first post is under way; everything else at once.
    let inbox = server.url("/inbox");
    let target = server.actor_url("isg");
    let burst = futures::future::join_all(newcomers.iter().map(|newcomer| {
        let (inbox, follow) = (inbox.clone(), newcomer.follow(&target));
        async move { newcomer.post(&inbox, &follow).await.status() }
    }));
    let publish_second = [&publish[..], &["--body", "Second."][..]].concat();
    let (second, created, statuses) = tokio::join!(
        common::cli(&server, &publish_second),
        common::cli(&server, &["actor", "create", "other", "--name", "Other"]),
        burst,
    );
    assert!(second.is_ok(), "{second:?}");
    assert!(created.is_ok(), "{created:?}");
    assert!(
        statuses.iter().all(|status| status.is_success()),
        "{statuses:?}"
    );

    eventually("both posts to reach every follower", || {
        let followers = followers.clone();
        async move {
            followers.iter().all(|peer| {
                peer.received()
                    .iter()
                    .filter(|r| r.activity["type"] == "Create")
                    .count()
                    == 2
            })
        }
    })
    .await;
    let follows = newcomers.len();
    eventually("every newcomer's follow to be accepted", || {
        let crowd = crowd.clone();
        async move {
            crowd
                .received()
                .iter()
                .filter(|r| r.activity["type"] == "Accept")
                .count()
                == follows
        }
    })
    .await;
    assert_eq!(store.delivery_counts().await.unwrap().failed, 0);
    server.stop().await;
}

/// A TCP proxy on 127.0.0.1 in front of PostgreSQL that can cut every connection through
/// it and refuse new ones, as a database restart does, and let them through again.
struct Proxy {
    addr: SocketAddr,
    open: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Proxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let open = Arc::new(AtomicBool::new(true));
        let connections: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let (gate, tasks) = (open.clone(), connections.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !gate.load(Ordering::SeqCst) {
                    continue; // dropped: refused
                }
                let upstream = upstream.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                tasks.lock().unwrap().push(task.abort_handle());
            }
        });
        Self {
            addr,
            open,
            connections,
        }
    }

    fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

// Covers: PostgreSQL restarted mid-run. The shared cluster is not touched: the server reaches
// its database through a proxy, which cuts every connection and refuses new ones until
// `/healthz` reports the loss, while another process queues a delivery directly, and a
// receiver answers a delivery sent before the cut. Let through again, the server answers
// again, records that success (not sending it twice) and sends what was queued. Runs when
// BROADSIDE_TEST_POSTGRES_URL is set.
#[tokio::test]
async fn the_server_reconnects_after_postgres_goes_away_and_delivers_the_queue() {
    if !common::backends().contains(&"postgres") {
        eprintln!("skipped: BROADSIDE_TEST_POSTGRES_URL is not set");
        return;
    }
    let db = TestDb::new("postgres").await;
    let direct = Url::parse(db.url.as_str()).unwrap();
    let upstream = format!(
        "{}:{}",
        direct.host_str().unwrap(),
        direct.port().unwrap_or(5432)
    );
    let proxy = Proxy::start(upstream).await;
    let mut proxied = direct.clone();
    proxied.set_host(Some("127.0.0.1")).unwrap();
    proxied.set_port(Some(proxy.addr.port())).unwrap();
    let proxied = DatabaseUrl::parse(proxied.as_str()).unwrap();
    let another_process = Store::connect(&db.url).await.unwrap();
    let server = TestServer::start_with(db, Some(proxied), tuning(Duration::from_secs(2))).await;
    server.create_actor("isg", false).await;
    let actor = another_process
        .actor_by_username("isg")
        .await
        .unwrap()
        .unwrap();
    let peer = Peer::start().await;
    common::add_follower(&another_process, actor.id, &peer, "follower", true).await;
    let before = queue(&server, &server.state.store, &[peer.url("/inbox")]).await;
    eventually("the first delivery", || {
        let (peer, id) = (peer.clone(), before.clone());
        async move {
            peer.received()
                .iter()
                .any(|r| r.activity["id"] == id.as_str())
        }
    })
    .await;
    // A delivery whose receiver answers only once the database is gone: its success must
    // be recorded when the database is back, not sent again when its lease runs out.
    let (open, gate) = watch::channel(false);
    let late = Receiver::start(Behaviour::AnswerWhen(gate)).await;
    queue(&server, &server.state.store, &[late.inbox()]).await;
    eventually("the late receiver to have the request", || {
        let requests = late.requests();
        async move { requests == 1 }
    })
    .await;

    proxy.cut();
    open.send(true).unwrap();
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let healthy = || {
        let (client, health) = (impatient.clone(), server.url("/healthz"));
        async move {
            client
                .get(&health)
                .send()
                .await
                .is_ok_and(|r| r.status() == StatusCode::OK)
        }
    };
    eventually("/healthz to report the database gone", || {
        let answer = healthy();
        async move { !answer.await }
    })
    .await;
    let during = queue(&server, &another_process, &[peer.url("/inbox")]).await;

    proxy.restore();
    eventually("/healthz to answer again", healthy).await;
    eventually("the delivery queued during the outage", || {
        let (peer, id) = (peer.clone(), during.clone());
        async move {
            peer.received()
                .iter()
                .any(|r| r.activity["id"] == id.as_str())
        }
    })
    .await;
    eventually("the late success to be recorded", || {
        let (store, host) = (another_process.clone(), late.host());
        async move { store.deliveries_to_host(&host).await.unwrap()[0].state == "delivered" }
    })
    .await;
    assert_eq!(late.requests(), 1, "recorded, not sent again");
    another_process.close().await;
    server.stop().await;
}

// Covers: a full disk under an upload, through the editor. No file system is mounted: the
// test writes through /dev/full, whose every write fails with ENOSPC. Uploads are written
// to a temporary name (`.upload-SHA256-PID`) and renamed into place; the test makes that
// name a link to /dev/full. The editor answers with a sentence saying the server has no
// room (the form kept, 422), the media folder is left empty (the link removed, no partial
// file, no image), and no post was saved.
#[tokio::test]
async fn a_full_disk_under_an_upload_gives_a_clear_error_and_leaves_nothing_behind() {
    if !std::path::Path::new("/dev/full").exists() {
        eprintln!("skipped: no /dev/full on this system");
        return;
    }
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let (browser, csrf) = signed_in(&server, "editor", Role::Editor, &["isg"]).await;
    let media = broadside::media::media_dir(&server.config.data_dir);
    std::fs::create_dir_all(&media).unwrap();
    let digest: String = {
        use sha2::{Digest, Sha256};
        Sha256::digest(PNG)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let temporary = media.join(format!(".upload-{digest}-{}", std::process::id()));
    std::os::unix::fs::symlink("/dev/full", &temporary).unwrap();

    let mut form = reqwest::multipart::Form::new();
    for (name, value) in [
        ("csrf", csrf.as_str()),
        ("actor", "isg"),
        ("kind", "statement"),
        ("lang", "en"),
        ("title", "On the strike"),
        ("summary", "We stand with them."),
        ("body", "Full text."),
        ("alt", "A dot"),
        ("action", "publish"),
    ] {
        form = form.text(name, value.to_owned());
    }
    let form = form.part(
        "image_file",
        reqwest::multipart::Part::bytes(PNG).file_name("dot.png"),
    );
    let response = browser
        .post(server.url("/editor/posts"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("the server has no room left to store the image"),
        "{page}"
    );
    assert!(
        !page.contains("os error"),
        "no system error text reaches the browser"
    );

    let left: Vec<_> = std::fs::read_dir(&media)
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left in the media folder: {left:?}");
    assert!(server.state.store.all_posts(None).await.unwrap().is_empty());
    server.stop().await;
}

// Covers: SIGTERM while a delivery hangs. The real binary runs with a one-second grace; the
// receiver never answers, and a client holds a request open, its body unsent. On SIGTERM
// the process exits cleanly within the grace (plus the moment shutdown takes), the
// delivery is back in the queue untried (not failed, no attempt counted, no lease held),
// and the next start delivers it, once.
#[tokio::test]
async fn sigterm_hands_a_hanging_delivery_back_and_the_next_start_sends_it_once() {
    let Instance {
        dir,
        port,
        store,
        isg: actor,
    } = Instance::with_isg().await;
    let peer = Peer::start().await;
    peer.hang_inbox(1);
    common::add_follower(&store, actor.id, &peer, "follower", true).await;

    let mut server = serve(dir.path(), port, &["--shutdown-grace", "1"]).await;
    let mut publish = broadside(dir.path(), port);
    publish.args([
        "post", "publish", "--actor", "isg", "--kind", "news", "--body", "Drained.",
    ]);
    let published = tokio::process::Command::from(publish)
        .output()
        .await
        .unwrap();
    assert!(published.status.success());
    peer.wait_for("Create").await; // reached, and left hanging
    // And a client that sent a request's head and holds back its body: the server must
    // not wait for it past the grace either.
    let mut slow_client = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let head = format!(
        "POST /inbox HTTP/1.1\r\nHost: localhost:{port}\r\n\
         Content-Type: application/activity+json\r\nContent-Length: 1000\r\n\r\n{{"
    );
    slow_client.write_all(head.as_bytes()).await.unwrap();

    let terminated = Instant::now();
    let pid = server.child.id().to_string();
    let kill = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(kill.success());
    eventually("the server to exit", || {
        let exited = server.child.try_wait().unwrap().is_some();
        async move { exited }
    })
    .await;
    assert!(server.child.wait().unwrap().success(), "a clean exit");
    drop(slow_client);
    assert!(
        terminated.elapsed() < Duration::from_secs(5),
        "exited after {:?} with a 1 s grace",
        terminated.elapsed()
    );

    let rows = store
        .deliveries_to_host(&authority(&peer.origin))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(
        (row.state.as_str(), row.attempts, row.locked_until),
        ("queued", 0, 0),
        "{row:?}"
    );
    assert_eq!(row.last_error, None);

    let _server = serve(dir.path(), port, &[]).await;
    let host = authority(&peer.origin);
    eventually("the delivery to be sent again and recorded", || {
        let (store, host) = (store.clone(), host.clone());
        async move { store.deliveries_to_host(&host).await.unwrap()[0].state == "delivered" }
    })
    .await;
    let creates = peer
        .received()
        .into_iter()
        .filter(|r| r.activity["type"] == "Create")
        .count();
    assert_eq!(creates, 2, "the hung send, then the one after the restart");
    store.close().await;
}
