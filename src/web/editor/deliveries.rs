//! `/editor/deliveries`: delivery health per remote host, for admins. The same tables feed
//! `/metrics`: what waits in the queue, attempts delivered and failed (counted per hour in
//! `delivery_stats`), whether the host is failing and since when, the last error, and a
//! small chart of the last 48 hours drawn as inline SVG on the server (no script needed).

use std::collections::HashMap;

use askama::Template;
use axum::response::Html;
use chrono::DateTime;

use super::{EditorError, EditorResult, Frame, forms::Editor};
use crate::store::{
    delivery_stats::{HOUR_MS, HostState, HostSummary, hour_of},
    now_millis,
};

/// Hosts listed, those in trouble first.
const SHOWN: i64 = 200;

/// The window of the counts in the table.
const WINDOW_MS: i64 = 7 * 24 * HOUR_MS;

/// Hours the chart covers, one bar each.
const CHART_HOURS: i64 = 48;

/// The chart's drawing area, in SVG units.
const BAR_WIDTH: i64 = 4;
const CHART_HEIGHT: i64 = 32;

/// Errors are cut to this many characters in the table.
const ERROR_SHOWN: usize = 200;

/// One bar of the chart: an hour's successes, with its failures stacked on top.
pub struct Bar {
    pub x: i64,
    pub ok_y: i64,
    pub ok_height: i64,
    pub fail_y: i64,
    pub fail_height: i64,
}

pub struct Chart {
    pub width: i64,
    pub height: i64,
    pub bars: Vec<Bar>,
    /// What the chart shows, for screen readers and as a tooltip.
    pub label: String,
}

pub struct HostRow {
    pub summary: HostSummary,
    pub failing_since: Option<String>,
    pub last_success: Option<String>,
    pub last_error: Option<(String, String)>,
    pub chart: Chart,
}

#[derive(Template)]
#[template(path = "editor/deliveries.html")]
struct DeliveriesPage {
    frame: Option<Frame>,
    queued: i64,
    delivered: i64,
    failed: i64,
    failing: i64,
    hosts: Vec<HostRow>,
    shown: i64,
}

pub async fn page(editor: Editor) -> EditorResult<Html<String>> {
    if !editor.user.may_administer() {
        return Err(EditorError::Forbidden(
            "only admins may read delivery health".into(),
        ));
    }
    let store = &editor.data.store;
    let now = now_millis();
    let summaries = store.host_summaries(now - WINDOW_MS, SHOWN).await?;
    let names: Vec<String> = summaries.iter().map(|s| s.host.clone()).collect();
    let mut states = store.host_states(&names).await?;
    let first_hour = hour_of(now) - (CHART_HOURS - 1) * HOUR_MS;
    let mut hourly = store.hourly_delivery_stats(&names, first_hour).await?;
    let hosts = summaries
        .into_iter()
        .map(|summary| {
            let state = states.remove(&summary.host).unwrap_or_default();
            let hours = hourly.remove(&summary.host).unwrap_or_default();
            row(summary, state, &hours, first_hour)
        })
        .collect();
    let totals = store.delivery_totals().await?;
    let page = DeliveriesPage {
        frame: Some(Frame::new(
            &editor.user,
            &editor.csrf,
            &store.list_actors().await?,
        )),
        queued: store.delivery_counts().await?.queued,
        delivered: totals.delivered,
        failed: totals.failed,
        failing: store.count_failing_hosts().await?,
        hosts,
        shown: SHOWN,
    };
    Ok(Html(page.render()?))
}

fn row(summary: HostSummary, state: HostState, hours: &[(i64, i64, i64)], first: i64) -> HostRow {
    let last_error = state.last_error.map(|(error, at)| {
        let shown: String = error.chars().take(ERROR_SHOWN).collect();
        let shown = if shown.len() < error.len() {
            format!("{shown}…")
        } else {
            shown
        };
        (shown, when(at))
    });
    HostRow {
        failing_since: state.failing_since.map(when),
        last_success: state.last_success_at.map(when),
        last_error,
        chart: chart(hours, first),
        summary,
    }
}

fn when(at: i64) -> String {
    DateTime::from_timestamp_millis(at)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// Bars for the hours from `first` on, scaled to the busiest hour; an hour without attempts
/// has no bar.
pub fn chart(hours: &[(i64, i64, i64)], first: i64) -> Chart {
    let last = first + CHART_HOURS * HOUR_MS;
    let by_hour: HashMap<i64, (i64, i64)> = hours
        .iter()
        .filter(|&&(hour, _, _)| hour >= first && hour < last)
        .map(|&(hour, delivered, failed)| (hour, (delivered, failed)))
        .collect();
    let peak = by_hour
        .values()
        .map(|&(delivered, failed)| delivered + failed)
        .max()
        .unwrap_or(0)
        .max(1);
    let scale = |n: i64| {
        if n == 0 {
            0
        } else {
            // At least one unit, so a single failure among thousands still shows.
            (n * CHART_HEIGHT / peak).max(1)
        }
    };
    let mut bars = Vec::new();
    let (mut delivered_sum, mut failed_sum) = (0, 0);
    for slot in 0..CHART_HOURS {
        let Some(&(delivered, failed)) = by_hour.get(&(first + slot * HOUR_MS)) else {
            continue;
        };
        delivered_sum += delivered;
        failed_sum += failed;
        let ok_height = scale(delivered);
        let fail_height = scale(failed).min(CHART_HEIGHT - ok_height);
        let ok_y = CHART_HEIGHT - ok_height;
        bars.push(Bar {
            x: slot * BAR_WIDTH,
            ok_y,
            ok_height,
            fail_y: ok_y - fail_height,
            fail_height,
        });
    }
    Chart {
        width: CHART_HOURS * BAR_WIDTH,
        height: CHART_HEIGHT,
        bars,
        label: format!(
            "Last {CHART_HOURS} hours: {delivered_sum} delivered, {failed_sum} failed attempts"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_busiest_hour_and_skip_empty_hours() {
        let first = 100 * HOUR_MS;
        let chart = chart(
            &[
                (first, 10, 0),
                (first + 2 * HOUR_MS, 3, 1),
                (first - HOUR_MS, 99, 99),
            ],
            first,
        );
        assert_eq!(chart.width, CHART_HOURS * BAR_WIDTH);
        assert_eq!(chart.bars.len(), 2);
        let busiest = &chart.bars[0];
        assert_eq!(
            (busiest.x, busiest.ok_height, busiest.fail_height),
            (0, 32, 0)
        );
        let mixed = &chart.bars[1];
        assert_eq!(mixed.x, 2 * BAR_WIDTH);
        assert_eq!((mixed.ok_height, mixed.fail_height), (9, 3));
        assert_eq!(mixed.fail_y + mixed.fail_height, mixed.ok_y);
        assert!(chart.label.contains("13 delivered, 1 failed"));
    }
}
