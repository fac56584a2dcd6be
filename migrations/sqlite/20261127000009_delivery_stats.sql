-- Delivery attempts per remote host and hour, for the delivery health page and /metrics.
-- Written in the same transaction as the outcome it counts (store::deliveries). Hours older
-- than 30 days are folded into the host's row with hour_at = 0, so totals never go down.
CREATE TABLE delivery_stats (
    host      TEXT NOT NULL,
    -- Start of the hour, Unix ms; 0 for everything older than the hours kept.
    hour_at   INTEGER NOT NULL,
    delivered INTEGER NOT NULL DEFAULT 0,
    -- Failed attempts, whether they will be retried or not.
    failed    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (host, hour_at)
);
CREATE INDEX delivery_stats_hour_idx ON delivery_stats (hour_at);
