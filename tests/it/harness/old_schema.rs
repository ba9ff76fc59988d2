//! A database as an earlier release left it: the migrations up to a version, for upgrade tests
//! and the storage benchmark's baseline.

use crate::harness::process::repo_root;

/// Connects to `url` and applies `migrations/<backend_dir>` up to and including `version`.
pub async fn migrated_until(url: &str, backend_dir: &str, version: i64) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.expect("connect");
    let mut migrator =
        sqlx::migrate::Migrator::new(repo_root().join("migrations").join(backend_dir))
            .await
            .expect("read migrations");
    migrator.migrations = migrator
        .migrations
        .iter()
        .filter(|m| m.version <= version)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    migrator.run(&pool).await.expect("old schema");
    pool
}
