pub mod account;
pub mod admin;
pub mod job;
mod job_scheduler;
pub mod jobs;
pub mod login;
pub mod notifications;
pub mod submit;
mod submit_queue;
