-- The Slurm executor's own record of the jobs it handed to Slurm: the Slurm job id (`sbatch
-- --parsable`), the last state and reason Slurm gave (squeue's %T/%r, sacct's State), and
-- whether Slurm is done with it. A row is made before `sbatch` runs (slurm_job_id null until
-- it answers), so a server that stops in between finds the job by its name on restart. A
-- retry deletes the row and submits again. Timestamps are unix milliseconds.
create table slurm_job (
    job_id text primary key,
    slurm_job_id bigint,
    slurm_state text not null,
    slurm_reason text not null,
    finished bigint not null,
    created_at bigint not null,
    updated_at bigint not null
);
create index slurm_job_active_idx on slurm_job (finished);
