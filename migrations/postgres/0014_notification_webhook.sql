-- Users' webhooks (issue 31): each notification of theirs is POSTed to each of their active
-- webhooks, signed per the Standard Webhooks specification with the webhook's secret (kept in
-- clear: signing needs it, and its owner may read it again to configure their receiver).
-- Deliveries go through `notification_delivery` with channel `webhook:<webhook id>` and the
-- URL as target; `response_status` records the receiver's HTTP status for the delivery log.
create table notification_webhook (
    notification_webhook_id text primary key,
    user_id text not null references app_user (user_id),
    url text not null,
    secret text not null,
    description text not null,
    created_at bigint not null,
    disabled_at bigint
);
create index notification_webhook_user_idx on notification_webhook (user_id);
alter table notification_delivery add column response_status integer;
