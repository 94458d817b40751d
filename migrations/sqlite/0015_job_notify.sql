-- What a job's owner is told about for this job, chosen at submit (`notify`, as Slurm's
-- `--mail-type`): a JSON array of notification kinds, or null when their rules decide.
alter table job add column notify text;
