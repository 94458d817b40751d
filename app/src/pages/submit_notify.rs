//! The submit form's "Notify me" choice: the owner's notification rules (the default), or
//! this job's own kinds (`SubmitJob::notify`, like Slurm's `--mail-type`).

use ch_domain::NotificationKind;
use leptos::prelude::*;

/// `choice`: `None` while the user's rules decide, else the kinds chosen for this job.
#[component]
pub fn NotifyChoice(choice: RwSignal<Option<Vec<NotificationKind>>>) -> impl IntoView {
    // The kinds ticked, kept while switching back and forth.
    let ticked = RwSignal::new(vec![
        NotificationKind::Completed,
        NotificationKind::Failed,
        NotificationKind::TimedOut,
    ]);
    let own = move || choice.with(Option::is_some);
    // Ticking changes this job's choice while it has its own.
    Effect::new(move |_| {
        let kinds = ticked.get();
        if choice.with_untracked(Option::is_some) {
            choice.set(Some(kinds));
        }
    });
    view! {
        <fieldset data-testid="notify-choice">
            <legend>"Notify me"</legend>
            <label class="check">
                <input type="radio" name="notify-mode" checked=true data-testid="notify-rules"
                    on:change=move |_| choice.set(None) />
                " as my "<a href="/notifications">"notification rules"</a>" say"
            </label>
            <label class="check">
                <input type="radio" name="notify-mode" data-testid="notify-own"
                    on:change=move |_| choice.set(Some(ticked.get_untracked())) />
                " for this job, when:"
            </label>
            <div class="row" hidden=move || !own()>{super::notification_rules::kind_boxes(ticked)}</div>
        </fieldset>
    }
}
