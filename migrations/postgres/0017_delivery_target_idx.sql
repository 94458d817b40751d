-- The delivery worker follows one target's queue (`Store::next_delivery_on`).
create index notification_delivery_target_idx on notification_delivery (target, created_at);
