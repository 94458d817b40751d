pub mod account;
pub mod admin;
pub mod job;
pub mod jobs;
pub mod login;
pub mod submit;
