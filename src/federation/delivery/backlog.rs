//! How many deliveries the worker holds per host. One host gets at most [`PER_HOST`] sends
//! at once and [`HOST_BACKLOG`] claimed deliveries: the worker's claims leave a host with
//! that many alone, and hand back any more that one claim brings, so a host that hangs
//! with hundreds of deliveries due cannot take every slot.

use std::collections::HashMap;

/// How many deliveries go to one host at once, so one server is not flooded and one slow
/// server cannot take every slot for long.
pub(super) const PER_HOST: usize = 8;
/// How many deliveries to one host may be claimed at once: the [`PER_HOST`] being sent and
/// as many again three times over, waiting their turn. Claims leave a host with that many
/// alone, and any more one claim brings for it are handed back (`worker::defer`), so a host
/// that hangs holds 32 of the worker's slots, never all of them.
pub(super) const HOST_BACKLOG: usize = 4 * PER_HOST;

/// The deliveries this worker has claimed and not finished: by id, to hand them back at
/// shutdown, and counted by host, to keep one host's backlog from taking every slot.
#[derive(Default)]
pub(super) struct Claimed {
    hosts: HashMap<i64, String>,
    per_host: HashMap<String, usize>,
}

impl Claimed {
    pub(super) fn has_room_for(&self, host: &str) -> bool {
        self.per_host.get(host).copied().unwrap_or(0) < HOST_BACKLOG
    }

    /// Hosts with [`HOST_BACKLOG`] in hand, whose deliveries the next claim leaves alone.
    /// The claim gets them as one comma-separated text, and URL rules let a host name hold
    /// a comma: such a name is left out, so it cannot stand for other hosts (its excess is
    /// deferred after the claim instead).
    pub(super) fn busy_hosts(&self) -> Vec<String> {
        self.per_host
            .iter()
            .filter(|(host, count)| **count >= HOST_BACKLOG && !host.contains(','))
            .map(|(host, _)| host.clone())
            .collect()
    }

    pub(super) fn add(&mut self, id: i64, host: &str) {
        self.hosts.insert(id, host.to_owned());
        *self.per_host.entry(host.to_owned()).or_default() += 1;
    }

    /// Every delivery still claimed, to hand back.
    pub(super) fn into_ids(self) -> impl Iterator<Item = i64> {
        self.hosts.into_keys()
    }

    pub(super) fn finish(&mut self, id: i64) {
        let Some(host) = self.hosts.remove(&id) else {
            return;
        };
        if let Some(count) = self.per_host.get_mut(&host) {
            *count -= 1;
            if *count == 0 {
                self.per_host.remove(&host);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Covers: a host with a comma in its name (URLs allow it) never goes in the busy list
    // the claim searches, where it would stand for the hosts on either side of its comma.
    #[test]
    fn busy_hosts_are_those_with_a_full_backlog_and_no_comma() {
        let mut claimed = Claimed::default();
        for id in 0..32 {
            claimed.add(id, "busy.example");
            claimed.add(100 + id, "calm.example,busy.example");
        }
        claimed.add(200, "calm.example");
        assert_eq!(claimed.busy_hosts(), ["busy.example"]);
        assert!(!claimed.has_room_for("calm.example,busy.example"));
        claimed.finish(0);
        assert!(claimed.busy_hosts().is_empty());
        assert!(claimed.has_room_for("busy.example"));
    }
}
