//! A small keyed cache whose concurrent misses share one load. A fan-out starts hundreds of
//! sending tasks at once, all needing the same activity body and signing key; without this
//! each of them found the cache empty and read the database itself (up to 126 times).

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{Arc, Mutex, PoisonError},
};

use tokio::sync::OnceCell;

/// Values by key, each loaded at most once at a time. Bounded by starting over: when full,
/// the map is cleared before a new key goes in (a fan-out needs one entry at a time, and a
/// load in flight keeps its own cell, so clearing never makes a waiter load again).
pub struct SingleFlight<K, V> {
    cells: Mutex<HashMap<K, Arc<OnceCell<V>>>>,
    capacity: usize,
}

impl<K: Eq + Hash, V: Clone> SingleFlight<K, V> {
    pub fn new(capacity: usize) -> Self {
        Self {
            cells: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// The value for `key`, from `load` if nobody has loaded it yet. Callers that miss
    /// together wait for the first one's load. A failed load is not kept: the next caller
    /// (or the next waiter) tries again.
    pub async fn get_or_load<E, F, Fut>(&self, key: K, load: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        let cell = {
            // Nothing panics while the lock is held, so a poisoned map is still consistent.
            let mut cells = self.cells.lock().unwrap_or_else(PoisonError::into_inner);
            if cells.len() >= self.capacity && !cells.contains_key(&key) {
                cells.clear();
            }
            cells.entry(key).or_default().clone()
        };
        cell.get_or_try_init(load).await.cloned()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_misses_share_one_load() {
        let cache = Arc::new(SingleFlight::<i64, Arc<String>>::new(4));
        let loads = Arc::new(AtomicUsize::new(0));
        // The load cannot finish before every caller has asked for the value.
        let (release, released) = tokio::sync::watch::channel(false);
        let joined = Arc::new(tokio::sync::Barrier::new(65));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..64 {
            let (cache, loads, joined) = (cache.clone(), loads.clone(), joined.clone());
            let mut released = released.clone();
            tasks.spawn(async move {
                let asked = cache.get_or_load(7, || async move {
                    loads.fetch_add(1, Ordering::SeqCst);
                    let _ = released.wait_for(|go| *go).await;
                    Ok::<_, String>(Arc::new("body".to_owned()))
                });
                tokio::pin!(asked);
                // Poll once, so this caller is loading or waiting on the load, then wait.
                assert!(futures::poll!(&mut asked).is_pending());
                joined.wait().await;
                asked.await
            });
        }
        joined.wait().await;
        release.send(true).unwrap();
        while let Some(value) = tasks.join_next().await {
            assert_eq!(value.unwrap().unwrap().as_str(), "body");
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failed_load_is_tried_again_and_the_map_stays_bounded() {
        let cache = SingleFlight::<i64, i64>::new(2);
        let failed: Result<i64, &str> = cache.get_or_load(1, || async { Err("down") }).await;
        assert_eq!(failed, Err("down"));
        assert_eq!(
            cache.get_or_load(1, || async { Ok::<_, &str>(10) }).await,
            Ok(10)
        );
        assert_eq!(
            cache.get_or_load(1, || async { Ok::<_, &str>(99) }).await,
            Ok(10)
        );
        for key in 2..10 {
            cache
                .get_or_load(key, || async { Ok::<_, &str>(key) })
                .await
                .unwrap();
        }
        assert!(cache.cells.lock().unwrap().len() <= 2);
    }
}
