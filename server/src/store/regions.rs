//! Viewer regions per image: one JSON region set per row, saved with an optimistic `version`
//! check so a save based on an old copy is refused instead of overwriting newer work.

use ch_regions::RegionSet;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;
use tracing::instrument;

use super::{Result, Store, StoreError, from_millis, to_millis};

/// The stored region set of one image.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageRegions {
    pub image: String,
    pub owner: String,
    pub set: RegionSet,
    /// 1 after the first save, +1 per save.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn from_row(row: &AnyRow) -> Result<ImageRegions> {
    let image: String = row.try_get("image")?;
    let json: String = row.try_get("regions")?;
    let set = serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("regions of '{image}': {e}")))?;
    Ok(ImageRegions {
        owner: row.try_get("owner")?,
        set,
        version: row.try_get("version")?,
        created_at: from_millis(row.try_get("created_at")?)?,
        updated_at: from_millis(row.try_get("updated_at")?)?,
        image,
    })
}

const SELECT_SQL: &str = "select image, owner, regions, version, created_at, updated_at from image_region";

impl Store {
    /// The regions of `image`; `None` when none were ever saved.
    #[instrument(skip(self), err)]
    pub async fn get_regions(&self, image: &str) -> Result<Option<ImageRegions>> {
        let row = sqlx::query(&format!("{SELECT_SQL} where image = $1"))
            .bind(image.to_owned())
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Replaces the regions of `image` if they are still at `expected_version` (0: none saved
    /// yet) and returns what was stored, at `expected_version + 1`. A stale version answers
    /// [`StoreError::StaleRegions`] with the current one.
    #[instrument(skip(self, set), fields(regions = set.regions.len()), err(level = "debug"))]
    pub async fn save_regions(
        &self,
        image: &str,
        owner: &str,
        set: &RegionSet,
        expected_version: i64,
        now: DateTime<Utc>,
    ) -> Result<ImageRegions> {
        let json = serde_json::to_string(set).map_err(|e| StoreError::Corrupt(format!("regions: {e}")))?;
        let version = expected_version
            .checked_add(1)
            .ok_or_else(|| StoreError::Corrupt(format!("version {expected_version}")))?;
        let mut tx = self.pool.begin().await?;
        let done = if expected_version == 0 {
            sqlx::query(
                "insert into image_region (image, owner, regions, version, created_at, updated_at) \
                 values ($1, $2, $3, $4, $5, $6) on conflict (image) do nothing",
            )
            .bind(image.to_owned())
            .bind(owner.to_owned())
            .bind(json)
            .bind(version)
            .bind(to_millis(now))
            .bind(to_millis(now))
            .execute(&mut *tx)
            .await?
        } else {
            sqlx::query(
                "update image_region set owner = $1, regions = $2, version = $3, updated_at = $4 \
                 where image = $5 and version = $6",
            )
            .bind(owner.to_owned())
            .bind(json)
            .bind(version)
            .bind(to_millis(now))
            .bind(image.to_owned())
            .bind(expected_version)
            .execute(&mut *tx)
            .await?
        };
        let row = sqlx::query(&format!("{SELECT_SQL} where image = $1"))
            .bind(image.to_owned())
            .fetch_optional(&mut *tx)
            .await?;
        let stored = row.as_ref().map(from_row).transpose()?;
        if done.rows_affected() != 1 {
            return Err(StoreError::StaleRegions {
                image: image.to_owned(),
                current: stored.map_or(0, |s| s.version),
            });
        }
        tx.commit().await?;
        stored.ok_or_else(|| StoreError::Corrupt(format!("regions of '{image}' not returned")))
    }
}
