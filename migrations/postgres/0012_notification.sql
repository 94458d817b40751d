-- Notifications (issue 31). A notification is made from one committed job event, at most once
-- per user and source event (`unique (user_id, source_event_id)`), so the notifier's relay may
-- deliver an event again after a crash without a second notification. Each change of a
-- notification is itself an event in the log (`notification.sent/read/unread/dismissed`),
-- addressed to one user: `job_event.recipient_id` names them, job timelines leave such events
-- out, and the gateway carries them on `user:{id}:notifications` alone.
alter table job_event add column recipient_id text;
create index job_event_recipient_idx on job_event (recipient_id, job_event_offset);

create table notification (
    notification_id text primary key,
    user_id text not null references app_user (user_id),
    source_event_id text not null,
    kind text not null,
    job_id text not null references job (job_id),
    title text not null,
    body text not null,
    created_at bigint not null,
    read_at bigint,
    dismissed_at bigint,
    unique (user_id, source_event_id)
);
create index notification_user_idx on notification (user_id, created_at);

-- A user's own rules (`ch_domain::NotificationRules`); users without a row get the defaults.
-- `kinds` is a JSON array of kind names.
create table notification_rule (
    user_id text primary key references app_user (user_id),
    kinds text not null,
    in_app integer not null,
    email text,
    updated_at bigint not null
);
