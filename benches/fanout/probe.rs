//! What the fan-out benchmark measures inside its own process without touching Broadside's
//! code: every SQL statement sqlx runs (from its `sqlx::query` tracing events, which carry
//! the statement and its execution time) and CPU time per thread (from `/proc/self/task`).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tracing::{
    Event, Level, Subscriber,
    field::{Field, Visit},
};
use tracing_subscriber::{
    Layer, filter::Targets, layer::Context, layer::SubscriberExt, util::SubscriberInitExt,
};

/// Statements seen since the last reset, keyed by their first words.
#[derive(Default)]
pub struct Statements {
    seen: Mutex<HashMap<String, StatementStats>>,
    /// When the delivery worker first and last claimed work since the last reset.
    claims: Mutex<Option<(Instant, Instant)>>,
}

/// The delivery worker's claim (`Store::claim_deliveries`), recognised by its first words.
const CLAIM: &str = "UPDATE deliveries SET locked_until = $1 WHERE id IN";

#[derive(Debug, Default, Clone, Copy)]
pub struct StatementStats {
    pub count: u64,
    /// Execution time as sqlx measured it (in the SQLite worker thread), which includes
    /// waiting for SQLite's write lock.
    pub busy: Duration,
    /// The longest single execution.
    pub longest: Duration,
    pub rows_returned: u64,
}

impl Statements {
    /// Installs the process-wide tracing subscriber: statements counted, and warnings from
    /// everything else printed to stderr.
    pub fn install() -> Arc<Self> {
        let statements = Arc::new(Self::default());
        tracing_subscriber::registry()
            .with(
                Counter(statements.clone())
                    .with_filter(Targets::new().with_target("sqlx::query", Level::DEBUG)),
            )
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_filter(Targets::new().with_default(Level::WARN)),
            )
            .init();
        statements
    }

    pub fn reset(&self) {
        self.seen.lock().expect("lock").clear();
        *self.claims.lock().expect("lock") = None;
    }

    /// When the worker first, and last, claimed deliveries since the last reset.
    pub fn claims(&self) -> Option<(Instant, Instant)> {
        *self.claims.lock().expect("lock")
    }

    /// Statements by count, most frequent first.
    pub fn snapshot(&self) -> Vec<(String, StatementStats)> {
        let mut all: Vec<_> = self
            .seen
            .lock()
            .expect("lock")
            .iter()
            .map(|(sql, stats)| (sql.clone(), *stats))
            .collect();
        all.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(&b.0)));
        all
    }

    /// How many statements containing `fragment` ran.
    pub fn count_containing(&self, fragment: &str) -> u64 {
        self.seen
            .lock()
            .expect("lock")
            .iter()
            .filter(|(sql, _)| sql.contains(fragment))
            .map(|(_, stats)| stats.count)
            .sum()
    }
}

struct Counter(Arc<Statements>);

#[derive(Default)]
struct Fields {
    summary: String,
    statement: String,
    elapsed: f64,
    rows_returned: u64,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "summary" => value.clone_into(&mut self.summary),
            "db.statement" => value.clone_into(&mut self.statement),
            _ => {}
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "rows_returned" {
            self.rows_returned = value;
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if field.name() == "elapsed_secs" {
            self.elapsed = value;
        }
    }

    fn record_debug(&mut self, _field: &Field, _value: &dyn std::fmt::Debug) {}
}

impl<S: Subscriber> Layer<S> for Counter {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        // sqlx leaves `db.statement` empty when the summary is the whole statement.
        let sql = if fields.statement.trim().is_empty() {
            fields.summary
        } else {
            fields.statement
        };
        let key: String = sql
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(72)
            .collect();
        if fields.rows_returned > 0 && key.starts_with(CLAIM) {
            let now = Instant::now();
            let mut claims = self.0.claims.lock().expect("lock");
            let first = claims.map_or(now, |(first, _)| first);
            *claims = Some((first, now));
        }
        let mut seen = self.0.seen.lock().expect("lock");
        let stats = seen.entry(key).or_default();
        let elapsed = Duration::try_from_secs_f64(fields.elapsed).unwrap_or_default();
        stats.count += 1;
        stats.busy += elapsed;
        stats.longest = stats.longest.max(elapsed);
        stats.rows_returned += fields.rows_returned;
    }
}

/// CPU time (user + system) used so far by each live thread of this process, by thread id.
pub fn thread_cpu() -> HashMap<u32, (String, Duration)> {
    let mut threads = HashMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return threads;
    };
    for task in tasks.flatten() {
        let Ok(tid) = task.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Some(entry) = std::fs::read_to_string(task.path().join("stat"))
            .ok()
            .and_then(|stat| parse_stat(&stat))
        {
            threads.insert(tid, entry);
        }
    }
    threads
}

/// CPU used between two [`thread_cpu`] snapshots, summed by thread name, largest first.
pub fn cpu_by_thread_name(
    before: &HashMap<u32, (String, Duration)>,
    after: &HashMap<u32, (String, Duration)>,
) -> Vec<(String, Duration)> {
    let mut by_name: HashMap<String, Duration> = HashMap::new();
    for (tid, (name, used)) in after {
        let earlier = before.get(tid).map_or(Duration::ZERO, |(_, d)| *d);
        *by_name.entry(name.clone()).or_default() += used.saturating_sub(earlier);
    }
    let mut all: Vec<_> = by_name.into_iter().filter(|(_, d)| !d.is_zero()).collect();
    all.sort_by_key(|entry| std::cmp::Reverse(entry.1));
    all
}

/// CPU time (user + system) of the whole process so far.
pub fn process_cpu() -> Duration {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| parse_stat(&stat))
        .map_or(Duration::ZERO, |(_, used)| used)
}

/// Name and utime + stime of a `/proc/.../stat` line; the kernel reports them in USER_HZ
/// ticks, which is 100 per second on Linux.
fn parse_stat(stat: &str) -> Option<(String, Duration)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_owned();
    let fields: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
    // After the name: state is field 3 of the line, utime field 14 and stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((name, Duration::from_millis((utime + stime) * 10)))
}
