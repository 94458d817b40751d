-- The event log's identity (its epoch): a random id made once per database. Real-time clients
-- keep (epoch, offset) pairs; offsets of a different epoch (a restored or recreated database)
-- cannot be resumed from, and the gateway answers them with an explicit `gap`.
create table event_stream (
    event_stream_id integer primary key,
    epoch text not null,
    created_at bigint not null
);
