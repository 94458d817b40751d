//! The submit form's queue insight for systems with a batch scheduler (Slurm): how busy the
//! system's partition is and when a job with the resources typed would start if submitted
//! now, or the scheduler's refusal of it — asked in the browser only, 400 ms after the last
//! change (the server caches answers for 10 s), so typing is not a stream of queries.

use ch_domain::{QueueInsight, ResourceRequest};
use chrono::{DateTime, Utc};
use leptos::prelude::*;

use crate::api::{UiError, get_system_queue};

/// What the panel shows once the scheduler answered.
#[component]
pub fn QueuePanel(system: Signal<Option<String>>, resources: Signal<Option<ResourceRequest>>) -> impl IntoView {
    let generation = StoredValue::new(0_u64);
    let answer = LocalResource::new(move || {
        let system = system.get();
        let resources = resources.get();
        let mine = generation.get_value() + 1;
        generation.set_value(mine);
        async move {
            let (system, resources) = (system?, resources?);
            #[cfg(feature = "hydrate")]
            crate::timer::sleep_ms(400).await;
            // Superseded by a later change while waiting (that one asks), or the form is gone.
            if generation.try_get_value() != Some(mine) {
                return None;
            }
            Some(get_system_queue(system, resources).await)
        }
    });
    move || {
        system.get()?;
        let shown = match answer.get().flatten()? {
            Ok(q) => describe(&q),
            Err(UiError::Invalid { .. }) => return None,
            Err(e) => format!("The queue could not be read: {e}"),
        };
        Some(view! { <p class="queue muted" data-testid="queue" aria-live="polite">{shown}</p> })
    }
}

/// `Queue on cluster (partition debug): 3 pending, 2 running. A job like this would start
/// right away.`
fn describe(q: &QueueInsight) -> String {
    let partition = q
        .partition
        .as_deref()
        .map_or_else(String::new, |p| format!(" (partition {p})"));
    let head = format!(
        "Queue on {}{partition}: {} pending, {} running.",
        q.system, q.pending, q.running
    );
    let tail = match (&q.refusal, q.estimated_start) {
        (Some(why), _) => format!(" The scheduler would refuse a job like this: {why}"),
        (None, Some(at)) => format!(" A job like this would start {}.", when(at, q.read_at)),
        (None, None) => " The scheduler gave no start time.".into(),
    };
    head + &tail
}

/// `right away`, `in about 12 min (14:05 UTC)`, `in about 3 h (2026-12-08 02:00 UTC)`.
fn when(at: DateTime<Utc>, asked: DateTime<Utc>) -> String {
    let wait = (at - asked).num_seconds();
    if wait <= 60 {
        return "right away".into();
    }
    let minutes = (wait + 59) / 60;
    if minutes < 120 {
        format!("in about {minutes} min ({} UTC)", at.format("%H:%M"))
    } else {
        format!(
            "in about {} h ({} UTC)",
            (minutes + 30) / 60,
            at.format("%Y-%m-%d %H:%M")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insight(start_in: Option<i64>, refusal: Option<&str>) -> QueueInsight {
        let read_at = DateTime::parse_from_rfc3339("2026-12-07T20:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        QueueInsight {
            system: "cluster".into(),
            scheduler: "slurm".into(),
            partition: Some("debug".into()),
            pending: 3,
            running: 2,
            estimated_start: start_in.map(|s| read_at + chrono::Duration::seconds(s)),
            refusal: refusal.map(str::to_owned),
            read_at,
        }
    }

    #[test]
    fn the_queue_in_words() {
        assert_eq!(
            describe(&insight(Some(0), None)),
            "Queue on cluster (partition debug): 3 pending, 2 running. A job like this would start right away."
        );
        assert!(describe(&insight(Some(12 * 60), None)).ends_with("start in about 12 min (20:12 UTC)."));
        assert!(describe(&insight(Some(3 * 3600), None)).ends_with("in about 3 h (2026-12-07 23:00 UTC)."));
        assert!(
            describe(&insight(None, Some("Requested node configuration is not available")))
                .ends_with("refuse a job like this: Requested node configuration is not available")
        );
        assert!(describe(&insight(None, None)).ends_with("gave no start time."));
    }
}
