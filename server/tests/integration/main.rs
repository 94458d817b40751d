//! Integration tests of the server, in one test binary (each file under `tests/` would link
//! the whole server again: eight binaries cost minutes of linking and gigabytes of disk).
//! The real server runs on port 0 against SQLite and PostgreSQL (see `common`).

#[macro_use]
mod common;

mod api;
mod archive;
mod auth;
mod bench_notify;
mod bus;
mod cli;
mod email;
mod fits_meta;
mod kafka;
mod notification_scopes;
mod notifications;
mod rabbitmq;
mod regions;
mod site;
mod slurm;
mod store_contract;
mod webhooks;
