//! CPU and memory samples of running jobs.

use ch_domain::MetricSample;
use sqlx::Row;
use uuid::Uuid;

use super::{Result, Store, from_millis, to_millis};

impl Store {
    pub async fn add_metric(&self, job_id: Uuid, s: &MetricSample) -> Result<()> {
        sqlx::query("insert into job_metric (job_id, sampled_at, cpu_percent, memory_bytes) values ($1, $2, $3, $4)")
            .bind(job_id.to_string())
            .bind(to_millis(s.sampled_at))
            .bind(s.cpu_percent)
            .bind(s.memory_bytes)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn metrics_for_job(&self, job_id: Uuid) -> Result<Vec<MetricSample>> {
        let rows = sqlx::query(
            "select sampled_at, cpu_percent, memory_bytes from job_metric where job_id = $1 order by sampled_at",
        )
        .bind(job_id.to_string())
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(MetricSample {
                    sampled_at: from_millis(r.try_get("sampled_at")?)?,
                    cpu_percent: r.try_get("cpu_percent")?,
                    memory_bytes: r.try_get("memory_bytes")?,
                })
            })
            .collect()
    }
}
