-- Jobs, their event log (the outbox) and process samples. Timestamps are unix milliseconds
-- so both backends share one query set.
create table job (
    job_id text primary key,
    version integer not null,
    name text not null,
    owner text not null,
    project text not null,
    agent text not null,
    executor text not null,
    target_system text not null,
    command text not null,
    nodes integer not null,
    cpus integer not null,
    memory_gb real not null,
    gpus integer not null,
    max_runtime_minutes integer not null,
    priority integer not null,
    estimated_cost_usd real not null,
    status text not null,
    progress integer not null,
    correlation_id text not null,
    submitted_at integer not null,
    queued_at integer,
    started_at integer,
    finished_at integer,
    updated_at integer not null,
    exit_code integer,
    error_code text,
    error_message text,
    retry_count integer not null,
    max_retries integer not null,
    result_location text
);
create index job_status_idx on job (status, priority, queued_at);
create index job_submitted_idx on job (submitted_at);

create table job_event (
    job_event_offset integer primary key autoincrement,
    event_id text not null unique,
    event_type text not null,
    schema_version integer not null,
    occurred_at integer not null,
    correlation_id text not null,
    causation_id text,
    job_id text not null references job (job_id),
    actor text not null,
    payload text not null
);
create index job_event_job_idx on job_event (job_id, job_event_offset);

create table job_metric (
    job_metric_id integer primary key autoincrement,
    job_id text not null references job (job_id),
    sampled_at integer not null,
    cpu_percent real not null,
    memory_bytes integer not null
);
create index job_metric_job_idx on job_metric (job_id, sampled_at);
