//! Where document content is kept: content-addressed by SHA-256, so the hash on each
//! registration event identifies exactly one content, and any document can be checked against
//! the log. A directory under the data directory by default (`dondoc up`), a table of the
//! service's own database otherwise (PostgreSQL in production, so a database backup holds the
//! documents with their registrations).

use std::path::PathBuf;

use dondoc_eventsourcing::Database;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::handlers::error::ApiError;

/// Lowercase hex SHA-256 of `content`.
pub fn sha256_hex(content: &[u8]) -> String {
    hex::encode(Sha256::digest(content))
}

/// A content-addressed store of document content.
#[derive(Clone, Debug)]
pub enum BlobStore {
    /// One file per content under `root/<first two hex digits>/<hash>`.
    Directory(PathBuf),
    /// The `document_blobs` table of the service's database.
    Database(Database),
}

impl BlobStore {
    /// Prepares the store (the directory, or the table).
    pub async fn open(dir: Option<PathBuf>, db: Database) -> anyhow::Result<Self> {
        match dir {
            Some(root) => {
                std::fs::create_dir_all(&root)?;
                Ok(BlobStore::Directory(root))
            }
            None => {
                let ddl = format!(
                    "CREATE TABLE IF NOT EXISTS document_blobs (sha256 TEXT PRIMARY KEY, \
                     content {} NOT NULL)",
                    db.dialect().blob_type()
                );
                db.run_schema(&[ddl.as_str()]).await?;
                Ok(BlobStore::Database(db))
            }
        }
    }

    fn path(root: &std::path::Path, sha256: &str) -> PathBuf {
        root.join(&sha256[..2]).join(sha256)
    }

    /// Keeps `content` and returns its hash; the same content twice is kept once.
    pub async fn put(&self, content: &[u8]) -> Result<String, ApiError> {
        let sha256 = sha256_hex(content);
        match self {
            BlobStore::Directory(root) => {
                let path = Self::path(root, &sha256);
                if !path.exists() {
                    let dir = path.parent().unwrap_or(root);
                    std::fs::create_dir_all(dir).map_err(unavailable)?;
                    // Written aside and renamed, so a crash never leaves a partial file under
                    // a name that claims a hash.
                    let partial = dir.join(format!(".{sha256}.partial"));
                    std::fs::write(&partial, content).map_err(unavailable)?;
                    std::fs::rename(&partial, &path).map_err(unavailable)?;
                }
            }
            BlobStore::Database(db) => {
                sqlx::query(
                    "INSERT INTO document_blobs (sha256, content) VALUES ($1, $2) \
                     ON CONFLICT (sha256) DO NOTHING",
                )
                .bind(sha256.clone())
                .bind(content.to_vec())
                .execute(db.pool())
                .await
                .map_err(ApiError::from_sql)?;
            }
        }
        Ok(sha256)
    }

    /// The content kept under `sha256`, if any.
    pub async fn get(&self, sha256: &str) -> Result<Option<Vec<u8>>, ApiError> {
        if sha256.len() < 2 || !sha256.chars().all(|c| c.is_ascii_hexdigit()) {
            return Ok(None);
        }
        match self {
            BlobStore::Directory(root) => match std::fs::read(Self::path(root, sha256)) {
                Ok(content) => Ok(Some(content)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(unavailable(e)),
            },
            BlobStore::Database(db) => {
                let row = sqlx::query("SELECT content FROM document_blobs WHERE sha256 = $1")
                    .bind(sha256.to_owned())
                    .fetch_optional(db.pool())
                    .await
                    .map_err(ApiError::from_sql)?;
                row.map(|row| row.try_get::<Vec<u8>, _>("content"))
                    .transpose()
                    .map_err(ApiError::from_sql)
            }
        }
    }
}

fn unavailable(error: std::io::Error) -> ApiError {
    ApiError::Unavailable(format!("document store: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_directory_store_keeps_each_content_once_under_its_hash() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = BlobStore::Directory(dir.path().to_path_buf());

        let first = store.put("Công văn số 1".as_bytes()).await.expect("put");
        let again = store.put("Công văn số 1".as_bytes()).await.expect("put");
        let read = store.get(&first).await.expect("get");

        assert_eq!(first, again);
        assert_eq!(first, sha256_hex("Công văn số 1".as_bytes()));
        assert_eq!(read.as_deref(), Some("Công văn số 1".as_bytes()));
        assert!(dir.path().join(&first[..2]).join(&first).is_file());
        assert_eq!(
            store.get(&sha256_hex(b"never stored")).await.expect("get"),
            None
        );
        assert_eq!(store.get("../../etc/passwd").await.expect("get"), None);
    }
}
