-- Who read which archive file: one row per FITS request that reached the proxy.
create table fits_access (
    fits_access_id bigserial primary key,
    occurred_at bigint not null,
    principal text not null,
    source text not null,
    path text not null,
    view text not null,
    status bigint not null,
    bytes bigint not null,
    cache text
);
create index fits_access_time_idx on fits_access (occurred_at);
