-- How far each durable relay has got in the event log: the offset of the last event its sink
-- acknowledged (a broker, a notifier: sinks that must not miss an event). A relay that starts
-- resumes after it, so what was committed while it was down is delivered; an event delivered
-- but not yet acknowledged when the relay died is delivered again (at least once).
create table relay_cursor (
    relay_name text primary key,
    event_offset bigint not null,
    updated_at bigint not null
);
