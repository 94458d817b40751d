pub mod job;
pub mod jobs;
pub mod submit;
