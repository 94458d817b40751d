-- Accounts, projects and credentials. Secrets (refresh tokens, API tokens, login links) are
-- stored as SHA-256 hashes of high-entropy random values; passwords as argon2id PHC strings.
-- Timestamps are unix milliseconds; booleans are 0/1 bigints so both backends share queries.
create table app_user (
    user_id text primary key,
    username text not null unique,
    password_hash text,
    role text not null,
    disabled bigint not null,
    created_at bigint not null,
    updated_at bigint not null
);

create table project (
    project_id text primary key,
    name text not null unique,
    public bigint not null,
    created_at bigint not null,
    updated_at bigint not null
);

create table project_member (
    project_id text not null references project (project_id),
    user_id text not null references app_user (user_id),
    role text not null,
    created_at bigint not null,
    primary key (project_id, user_id)
);
create index project_member_user_idx on project_member (user_id);

-- A browser session: one refresh-token family. Each refresh rotates `refresh_hash`; the
-- previous hash stays valid for a short grace period (concurrent tabs), a later reuse revokes
-- the whole session.
create table user_session (
    user_session_id text primary key,
    user_id text not null references app_user (user_id),
    refresh_hash text not null unique,
    previous_hash text,
    rotated_at bigint,
    created_at bigint not null,
    expires_at bigint not null,
    revoked_at bigint
);
create index user_session_user_idx on user_session (user_id);

create table api_token (
    api_token_id text primary key,
    user_id text not null references app_user (user_id),
    name text not null,
    secret_hash text not null,
    scopes text not null,
    project text,
    created_at bigint not null,
    expires_at bigint,
    last_used_at bigint,
    revoked_at bigint
);
create index api_token_user_idx on api_token (user_id);

-- One-time sign-in links (the first start prints one for `admin`).
create table login_link (
    login_link_id text primary key,
    user_id text not null references app_user (user_id),
    secret_hash text not null,
    created_at bigint not null,
    expires_at bigint not null,
    used_at bigint
);

-- Security events: sign-ins, failed sign-ins, sign-outs, token creation and revocation,
-- account changes.
create table auth_event (
    auth_event_id bigserial primary key,
    occurred_at bigint not null,
    event_type text not null,
    username text not null,
    actor text not null,
    client text not null,
    detail text not null
);
create index auth_event_time_idx on auth_event (occurred_at);
