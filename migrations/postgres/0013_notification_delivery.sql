-- Deliveries of notifications beyond the inbox (e-mail today). Written in the transaction that
-- saves the notification (an outbox of its own), so a notification is never e-mailed before it
-- exists nor lost when the SMTP server is away: the delivery worker retries with backoff, keeps
-- each address's messages in order, and after its last attempt marks the row `dead`.
-- `status`: `pending` (to send at `next_attempt_at`), `digest` (held by the per-user hourly
-- limit, sent together at `next_attempt_at`), `sent`, `dead`. `claimed_until`: a worker's
-- lease on the row (several instances share the table).
create table notification_delivery (
    notification_delivery_id text primary key,
    notification_id text not null references notification (notification_id),
    user_id text not null references app_user (user_id),
    channel text not null,
    target text not null,
    status text not null,
    attempts integer not null,
    next_attempt_at bigint not null,
    claimed_until bigint,
    last_error text,
    latency_ms bigint,
    sent_at bigint,
    created_at bigint not null,
    unique (notification_id, channel)
);
create index notification_delivery_due_idx on notification_delivery (status, created_at);
create index notification_delivery_user_idx on notification_delivery (user_id, channel, sent_at);
