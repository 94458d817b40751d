-- Notification rules beyond one's own jobs, and when e-mail may come (issue 31).
-- `email_digest`: off | hourly | daily; `quiet_start`/`quiet_end`: HH:MM local time in
-- `time_zone` (IANA), both null without quiet hours.
alter table notification_rule add column email_digest text not null default 'off';
alter table notification_rule add column quiet_start text;
alter table notification_rule add column quiet_end text;
alter table notification_rule add column time_zone text not null default 'UTC';

-- Watched projects and jobs (`ch_domain::Watch`): exactly one of `project` and `job_id` is
-- set; `kinds` is a JSON array of kind names (empty: muted). The notifier finds the watchers of
-- a job event's project and job through the two indexes.
create table notification_watch (
    user_id text not null references app_user (user_id),
    project text,
    job_id text,
    kinds text not null,
    position integer not null,
    primary key (user_id, position)
);
create index notification_watch_project_idx on notification_watch (project);
create index notification_watch_job_idx on notification_watch (job_id);
