//! The HTTP server. Connections are served on one thread per core, each with a single-threaded
//! runtime of its own and its own handle on the listening socket, as nginx serves them with one
//! worker process per core: a connection stays on the thread that accepted it, and a page
//! answered from the cache is answered there, with no hand-off between threads.
//!
//! Only the front of the stack runs there: the request counter and the page cache's hits
//! ([`super::front`]). Everything else (routing, handlers, the database, federation) is handed
//! to the runtime that called [`serve`], where the delivery worker and the rest of the
//! process live, so no database connection or background task is ever tied to a connection
//! thread.

use std::{
    convert::Infallible,
    future::Future,
    io,
    net::SocketAddr,
    num::NonZeroUsize,
    pin::Pin,
    task::{Context, Poll},
    thread,
    time::Duration,
};

use axum::{
    Router,
    body::Body,
    extract::{ConnectInfo, Request},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{
    net::{TcpListener, TcpStream},
    runtime::Handle,
    sync::watch,
    task::JoinSet,
};
use tower::{Service, ServiceExt};

use super::error::{WebError, problem};

/// How long to wait before accepting again after an error that is not one connection's.
const ACCEPT_RETRY: Duration = Duration::from_secs(1);

/// How long a connection may take to send the head of its next request, from when the server
/// starts waiting for it. A client that trickles its headers, or sits idle between requests,
/// longer than this is disconnected, so stalled clients cannot hold connections for ever.
pub const REQUEST_HEAD_TIMEOUT: Duration = Duration::from_secs(30);

/// How the server runs.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Connection threads: the setting `http_threads`, one per core by default.
    pub threads: NonZeroUsize,
    /// How long a request head may take: [`REQUEST_HEAD_TIMEOUT`], shorter in tests.
    pub request_head: Duration,
    /// After shutdown, how long the requests under way may still take.
    pub grace: Duration,
}

/// Runs `app` (the routes behind the front) on the runtime given, for the connection threads.
#[derive(Clone)]
pub struct OnRuntime {
    runtime: Handle,
    app: Router,
}

impl OnRuntime {
    pub fn new(runtime: Handle, app: Router) -> Self {
        Self { runtime, app }
    }
}

impl Service<Request> for OnRuntime {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // Once spawned, the request is handled to the end even if its client goes away, so a
        // write it started is finished.
        let handled = self.runtime.spawn(self.app.clone().oneshot(request));
        Box::pin(async move {
            Ok(match handled.await {
                Ok(Ok(response)) => response,
                Ok(Err(never)) => match never {},
                // The runtime is shutting down and dropped the task before it ran.
                Err(dropped) if dropped.is_cancelled() => problem(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The server is shutting down; please try again.",
                ),
                Err(panicked) => {
                    WebError::Internal(format!("request handler panicked: {panicked}"))
                        .into_response()
                }
            })
        })
    }
}

/// Serves `front` on `listener` with `settings.threads` connection threads until `shutdown`
/// turns true or this future is dropped. Then no new connection is taken, the connections
/// open finish the request they are on, and any still open after the grace are closed.
pub async fn serve(
    listener: TcpListener,
    front: Router,
    settings: Settings,
    shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    let threads = settings.threads;
    // Dropped with this future, which the threads then take as the signal to stop as well.
    let (_serving, dropped) = watch::channel(());
    let listener = listener.into_std()?;
    // Each thread gets a handle on the one socket, the last one the original: none is kept
    // here, so the socket closes as soon as every thread has stopped accepting.
    let mut listeners = Vec::with_capacity(threads.get());
    for _ in 1..threads.get() {
        listeners.push(listener.try_clone()?);
    }
    listeners.push(listener);
    let mut running = Vec::with_capacity(threads.get());
    for (number, listener) in listeners.into_iter().enumerate() {
        let front = front.clone();
        let stop = stop_signal(shutdown.clone(), dropped.clone());
        let (done, ended) = tokio::sync::oneshot::channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        thread::Builder::new()
            .name(format!("http-{number}"))
            .spawn(move || {
                let served = runtime.block_on(accept_loop(listener, front, stop, settings));
                // The runtime is dropped here, ending connections still open past the grace.
                drop(runtime);
                let _ = done.send(served);
            })?;
        running.push(ended);
    }
    let mut result = Ok(());
    for ended in running {
        match ended.await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => result = Err(err),
            Err(_) => result = Err(io::Error::other("a connection thread panicked")),
        }
    }
    result
}

/// Ready when `shutdown` turns true or the [`serve`] call that made `dropped` is gone.
async fn stop_signal(mut shutdown: watch::Receiver<bool>, mut dropped: watch::Receiver<()>) {
    tokio::select! {
        _ = shutdown.wait_for(|stop| *stop) => {}
        // Never sent to: this ends only when the sender is dropped.
        _ = dropped.changed() => {}
    }
}

async fn accept_loop(
    listener: std::net::TcpListener,
    front: Router,
    stop: impl Future<Output = ()>,
    settings: Settings,
) -> io::Result<()> {
    let listener = TcpListener::from_std(listener)?;
    let (closing, close) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut stop => break,
            // Reap finished connections so the set does not grow with every one served.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        match accepted {
            Ok((stream, peer)) => {
                let front = front.clone();
                let close = close.clone();
                connections.spawn(connection(
                    stream,
                    peer,
                    front,
                    close,
                    settings.request_head,
                ));
            }
            Err(err) if is_per_connection(&err) => {}
            Err(err) => {
                // Out of file descriptors, most likely: connections closing will free some.
                tracing::error!(error = %err, "cannot accept connections");
                tokio::select! {
                    () = tokio::time::sleep(ACCEPT_RETRY) => {}
                    () = &mut stop => break,
                }
            }
        }
    }
    drop(listener);
    let _ = closing.send(true);
    let finished = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(settings.grace, finished)
        .await
        .is_err()
    {
        tracing::warn!("requests still open after the shutdown grace; not waiting for them");
    }
    Ok(())
}

/// Errors of one connection that went away before it was accepted.
fn is_per_connection(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    front: Router,
    mut close: watch::Receiver<bool>,
    request_head: Duration,
) {
    // Answers are written whole at once; waiting to merge them with the next only delays.
    let _ = stream.set_nodelay(true);
    let service = hyper::service::service_fn(move |request: hyper::Request<_>| {
        let mut request = request.map(Body::new);
        // Read by the editor's sign-in throttle and the metrics endpoint's loopback check.
        request.extensions_mut().insert(ConnectInfo(peer));
        front.clone().oneshot(request)
    });
    let served = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(request_head)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(served);
    let closing = async move {
        let _ = close.wait_for(|close| *close).await;
    };
    let result = tokio::select! {
        result = served.as_mut() => result,
        () = closing => {
            served.as_mut().graceful_shutdown();
            served.await
        }
    };
    if let Err(err) = result {
        tracing::trace!(error = %err, %peer, "connection ended with an error");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::routing::get;
    use tokio::{
        io::{AsyncReadExt, AsyncWriteExt},
        sync::Notify,
    };

    use super::*;

    const GRACE: Duration = Duration::from_millis(200);
    const REQUEST_HEAD: Duration = Duration::from_secs(1);

    fn thread_name() -> String {
        thread::current().name().unwrap_or_default().to_owned()
    }

    /// A front with one route of its own, in front of `app` run on the test's runtime.
    fn front_of(app: Router) -> Router {
        Router::new()
            .route("/front", get(|| async { thread_name() }))
            .fallback_service(OnRuntime::new(Handle::current(), app))
    }

    struct Running {
        address: SocketAddr,
        stop: watch::Sender<bool>,
        served: tokio::task::JoinHandle<io::Result<()>>,
    }

    async fn start(app: Router) -> Running {
        let listener = crate::app::listen(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, shutdown) = watch::channel(false);
        let settings = Settings {
            threads: NonZeroUsize::new(2).unwrap(),
            request_head: REQUEST_HEAD,
            grace: GRACE,
        };
        let served = tokio::spawn(serve(listener, front_of(app), settings, shutdown));
        Running {
            address,
            stop,
            served,
        }
    }

    async fn get_text(address: SocketAddr, path: &str) -> (StatusCode, String) {
        let response = reqwest::get(format!("http://{address}{path}"))
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    /// The listening socket is closed once every connection thread has stopped.
    async fn refused(address: SocketAddr) -> bool {
        TcpStream::connect(address).await.is_err()
    }

    #[tokio::test]
    async fn the_front_answers_on_connection_threads_and_the_app_on_the_callers_runtime() {
        let test_thread = thread_name();
        let app = Router::new().route("/app", get(|| async { thread_name() }));
        let server = start(app).await;
        let (status, front) = get_text(server.address, "/front").await;
        assert_eq!(status, StatusCode::OK);
        assert!(front.starts_with("http-"), "front answered on {front}");
        let (status, app) = get_text(server.address, "/app").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(app, test_thread);
        server.stop.send(true).unwrap();
        server.served.await.unwrap().unwrap();
        assert!(refused(server.address).await);
    }

    /// A bug in a handler: the client gets a 500 instead of a dropped connection, and the
    /// server goes on serving.
    #[tokio::test]
    async fn a_handler_that_panics_gets_500_and_the_server_goes_on() {
        async fn buggy() -> &'static str {
            panic!("a bug in a handler")
        }
        let app = Router::new().route("/app", get(buggy));
        let server = start(app).await;
        let (status, body) = get_text(server.address, "/app").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(body.contains("Something went wrong on our side"), "{body}");
        assert_eq!(get_text(server.address, "/front").await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn on_shutdown_a_request_under_way_finishes_and_no_new_connection_is_taken() {
        let (arrived, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        let app = Router::new().route(
            "/slow",
            get({
                let (arrived, release) = (arrived.clone(), release.clone());
                || async move {
                    arrived.notify_one();
                    release.notified().await;
                    "finished"
                }
            }),
        );
        let server = start(app).await;
        let request = tokio::spawn(get_text(server.address, "/slow"));
        arrived.notified().await;
        server.stop.send(true).unwrap();
        release.notify_one();
        assert_eq!(
            request.await.unwrap(),
            (StatusCode::OK, "finished".to_owned())
        );
        server.served.await.unwrap().unwrap();
        assert!(refused(server.address).await);
    }

    /// A client that never finishes its request (slowloris) cannot hold the process past
    /// the grace.
    #[tokio::test]
    async fn a_connection_still_open_after_the_grace_is_closed() {
        let server = start(Router::new()).await;
        let mut stalled = TcpStream::connect(server.address).await.unwrap();
        stalled.write_all(b"GET /front HTTP/1.1\r\n").await.unwrap();
        // The request is answered only once complete, so this one is in hand on a thread.
        assert_eq!(get_text(server.address, "/front").await.0, StatusCode::OK);
        server.stop.send(true).unwrap();
        let stopped = tokio::time::timeout(Duration::from_secs(10), server.served).await;
        stopped
            .expect("still serving past the grace")
            .unwrap()
            .unwrap();
        let mut rest = Vec::new();
        let closed = stalled.read_to_end(&mut rest).await;
        assert!(closed.is_err() || rest.is_empty(), "got {rest:?}");
    }

    /// A client that trickles its request head (slowloris) is cut off once the head has
    /// taken longer than the limit, while the server goes on serving.
    #[tokio::test]
    async fn a_request_head_that_never_ends_is_cut_off() {
        let server = start(Router::new()).await;
        let mut stalled = TcpStream::connect(server.address).await.unwrap();
        stalled.write_all(b"GET /front HTTP/1.1\r\n").await.unwrap();
        let mut answer = Vec::new();
        let cut = tokio::time::timeout(Duration::from_secs(10), stalled.read_to_end(&mut answer));
        cut.await
            .expect("still connected well past the limit")
            .unwrap();
        // Closed without an answer: what came was never a request.
        assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
        assert_eq!(get_text(server.address, "/front").await.0, StatusCode::OK);
    }

    /// If whoever awaits [`serve`] goes away without a shutdown (a test that ends, a task
    /// aborted), the connection threads stop too instead of serving forever.
    #[tokio::test]
    async fn dropping_serve_stops_the_connection_threads() {
        let server = start(Router::new()).await;
        assert_eq!(get_text(server.address, "/front").await.0, StatusCode::OK);
        server.served.abort();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !refused(server.address).await {
            assert!(tokio::time::Instant::now() < deadline, "still listening");
            tokio::task::yield_now().await;
        }
    }
}
