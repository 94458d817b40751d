-- The dispatcher's query (queued jobs of one executor, highest priority first, FIFO within a
-- priority) walks this index instead of sorting every queued job on each pick: with hundreds of
-- thousands of queued jobs the sort held the database for the whole write path.
create index job_queue_idx on job (status, executor, priority desc, queued_at, submitted_at);
