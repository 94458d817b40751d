//! The Cosmic Horizons server: start-up, HTTP API, job service, executor, outbox and store.

pub mod archive;
pub mod cli;
pub mod executor;
pub mod http;
pub mod jobs;
pub mod outbox;
pub mod settings;
pub mod startup;
pub mod state;
pub mod store;
