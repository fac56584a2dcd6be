//! What the benchmarks share: the publishing account and the machine's state, printed with
//! every run. Each bench includes this file as `mod common` (`#[path]`), as the tests share
//! `tests/common`.
#![allow(dead_code)] // each benchmark uses its own subset

use broadside::{
    domain::{ActorKind, LocalActor, NewActor, Username, markdown},
    federation::keys,
    store::Store,
};

/// Creates the publishing account `isg`, as `broadside actor create isg` does.
pub async fn create_account(store: &Store) -> LocalActor {
    let pair = keys::generate().unwrap();
    let summary = "Statements from the benchmark.";
    let new = NewActor {
        username: Username::parse("isg").unwrap(),
        kind: ActorKind::Organization,
        name: "ISG".into(),
        summary_md: summary.into(),
        summary_html: markdown::render(summary),
        public_key_pem: pair.public_key_pem,
        private_key_pem: pair.private_key_pem,
    };
    let mut tx = store.begin().await.unwrap();
    let actor = tx.insert_actor(&new).await.unwrap();
    tx.commit().await.unwrap();
    actor
}

/// The cores this process may use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// The most resident memory this process has held so far (VmHWM), in MiB. The benches run
/// the server in their own process, so this is the server and its load generator together:
/// an upper bound on the server's own.
pub fn peak_memory_mib() -> f64 {
    own_memory_mib("VmHWM:")
}

/// The resident memory of this process now (VmRSS), in MiB.
#[allow(dead_code)] // not every bench reads it
pub fn memory_mib() -> f64 {
    own_memory_mib("VmRSS:")
}

fn own_memory_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The 1, 5 and 15 minute load averages: other work on the machine skews every figure.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}
