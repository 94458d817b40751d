//! The event bus: how committed events leave the event log. Every job change is saved with its
//! event in one transaction (`jobs::Lifecycle`, the `job_event` log in `store/events.rs` — a
//! transactional outbox); a [`CommitSignal`] then wakes one relay per sink ([`run_relay`]),
//! which reads the log after its cursor and hands the events to its [`EventSink`] in offset
//! order, a batch at a time, moving on only once the sink acknowledged the batch.
//!
//! Sinks today: the real-time gateway's hub (`gateway::hub`), whose clients keep their own
//! position and resume from the log, and the executors' cancel sink (`jobs::cancel`), which acts
//! on what happens while it runs; both start at the newest offset ([`Cursor::From`]). A sink
//! that must not miss an event — a Kafka or RabbitMQ producer, a notifier — runs with a cursor
//! saved in the database ([`Cursor::Saved`]): restarted after downtime (a deploy, a kill -9), it
//! delivers what was committed meanwhile, at least once.
//!
//! Brokers: [`amqp::RabbitMqSink`] relays the log to RabbitMQ when `[brokers.rabbitmq]` is
//! set, [`kafka::KafkaSink`] to Kafka topics when `[brokers.kafka]` is; each runs its own relay
//! with its own saved cursor and lease, so each broker gets every event whatever the other
//! one's state.
//!
//! With several instances on one PostgreSQL database, `NOTIFY` carries commits to every
//! instance ([`listen_for_commits`]); the in-process [`CommitSignal`] does it within one.

pub mod amqp;
pub mod kafka;
mod listen;
mod relay;
mod signal;
mod sink;

pub use listen::listen_for_commits;
pub use relay::{Cursor, run_relay};
pub use signal::CommitSignal;
pub use sink::EventSink;
