//! The Cosmic Horizons server: start-up, HTTP API, job service, executor, outbox and store.

pub mod admin_cli;
pub mod archive;
pub mod auth;
pub mod cli;
pub mod executor;
pub mod gateway;
pub mod http;
pub mod jobs;
pub mod outbox;
pub mod regions;
pub mod settings;
pub mod startup;
pub mod state;
pub mod store;
