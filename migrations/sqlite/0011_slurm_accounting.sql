-- What Slurm's accounting (`sacct`) recorded of a job once it ended: elapsed and CPU time,
-- peak memory and the allocated TRES, as the JSON of `ch_domain::Accounting`. Null until the
-- executor has read it (accounting trails the controller; a job cancelled here is read in a
-- later round).
alter table slurm_job add column accounting text;
