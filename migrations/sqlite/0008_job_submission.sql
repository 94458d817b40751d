-- Idempotency keys of job submissions (IETF draft-ietf-httpapi-idempotency-key-header): the
-- first answer to a keyed POST /api/jobs or /api/jobs/batch, written in the transaction that
-- creates its jobs, so a client's retry after a lost answer or a server crash gets the same
-- jobs back instead of new ones. Kept 24 hours. Timestamps are unix milliseconds.
create table job_submission (
    owner text not null,
    idempotency_key text not null,
    request_hash text not null,
    response text not null,
    created_at bigint not null,
    primary key (owner, idempotency_key)
);
create index job_submission_created_idx on job_submission (created_at);
