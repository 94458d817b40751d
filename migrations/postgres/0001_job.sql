-- Jobs, their event log (the outbox) and process samples. Timestamps are unix milliseconds (bigint)
-- so both backends share one query set.
create table job (
    job_id text primary key,
    version bigint not null,
    name text not null,
    owner text not null,
    project text not null,
    agent text not null,
    executor text not null,
    target_system text not null,
    command text not null,
    nodes bigint not null,
    cpus bigint not null,
    memory_gb double precision not null,
    gpus bigint not null,
    max_runtime_minutes bigint not null,
    priority bigint not null,
    estimated_cost_usd double precision not null,
    status text not null,
    progress bigint not null,
    correlation_id text not null,
    submitted_at bigint not null,
    queued_at bigint,
    started_at bigint,
    finished_at bigint,
    updated_at bigint not null,
    exit_code bigint,
    error_code text,
    error_message text,
    retry_count bigint not null,
    max_retries bigint not null,
    result_location text
);
create index job_status_idx on job (status, priority, queued_at);
create index job_submitted_idx on job (submitted_at);

create table job_event (
    job_event_offset bigserial primary key,
    event_id text not null unique,
    event_type text not null,
    schema_version bigint not null,
    occurred_at bigint not null,
    correlation_id text not null,
    causation_id text,
    job_id text not null references job (job_id),
    actor text not null,
    payload text not null
);
create index job_event_job_idx on job_event (job_id, job_event_offset);

create table job_metric (
    job_metric_id bigserial primary key,
    job_id text not null references job (job_id),
    sampled_at bigint not null,
    cpu_percent double precision not null,
    memory_bytes bigint not null
);
create index job_metric_job_idx on job_metric (job_id, sampled_at);
