//! The Cosmic Horizons server: start-up, HTTP API, job service, executor, event bus and store.

pub mod admin_cli;
pub mod archive;
pub mod auth;
pub mod beneath;
pub mod bus;
pub mod cli;
pub mod clock;
pub mod executor;
pub mod gateway;
pub mod html;
pub mod http;
pub mod jobs;
pub mod notify;
pub mod regions;
pub mod settings;
pub mod startup;
pub mod state;
pub mod store;
