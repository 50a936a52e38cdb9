//! Taking notices to people outside the service: on NATS, one subject per recipient, for
//! gateways (SMS, chat, the city's portal); and by e-mail through SMTP. Both read the
//! notifications read model from where they stopped, so a restart neither loses nor (beyond
//! the at-least-once of any network delivery) repeats a notice.

pub mod mailer;
pub mod publisher;

use dondoc_eventsourcing::Database;
use sqlx::Row;

/// Where each delivery loop has got to in the notifications read model.
pub(crate) const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS escalation_delivery_checkpoints (
        name TEXT PRIMARY KEY,
        position BIGINT NOT NULL
    )",
];

pub(crate) async fn checkpoint(db: &Database, name: &str) -> Result<u64, sqlx::Error> {
    let row = sqlx::query("SELECT position FROM escalation_delivery_checkpoints WHERE name = $1")
        .bind(name.to_owned())
        .fetch_optional(db.pool())
        .await?;
    Ok(row
        .map(|r| r.try_get::<i64, _>("position"))
        .transpose()?
        .map_or(0, |p| u64::try_from(p).unwrap_or(0)))
}

pub(crate) async fn save_checkpoint(
    db: &Database,
    name: &str,
    position: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO escalation_delivery_checkpoints (name, position) VALUES ($1, $2) \
         ON CONFLICT (name) DO UPDATE SET position = excluded.position",
    )
    .bind(name.to_owned())
    .bind(i64::try_from(position).unwrap_or(i64::MAX))
    .execute(db.pool())
    .await?;
    Ok(())
}
