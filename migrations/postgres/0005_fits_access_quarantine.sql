-- Audit records that could not be written even on their own: kept whole (as JSON text, which
-- escapes anything the database refuses) with the database's reason, so nothing is lost silently.
create table fits_access_quarantine (
    fits_access_quarantine_id bigserial primary key,
    created_at bigint not null,
    record text not null,
    reason text not null
);
