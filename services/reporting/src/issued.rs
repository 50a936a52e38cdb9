//! Reports the Office has issued: each is entered in the progress service's outgoing register
//! (which numbers it, keeps the HTML and records its SHA-256 in a hash-chained log) and kept
//! here with its figures as they were, so an issued report never changes — not when later
//! events arrive for its period, nor when the read models are rebuilt (this table belongs to
//! no projection, so a rebuild never empties it).

use dondoc_eventsourcing::Database;
use dondoc_proto::v1 as pb;
use prost::Message as _;
use sqlx::Row;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS issued_reports_v1 (
    request_id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL UNIQUE,
    number_label TEXT NOT NULL,
    issued_on TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    issued_by TEXT NOT NULL,
    report TEXT NOT NULL
)";

pub async fn create_table(db: &Database) -> Result<(), sqlx::Error> {
    // Under the schema lock: replicas starting together on a fresh database would otherwise
    // race on the catalog and one would fail to start (`IF NOT EXISTS` is not atomic).
    db.run_schema(&[SCHEMA]).await
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(raw: &str) -> Option<Vec<u8>> {
    (0..raw.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(raw.get(i..i + 2)?, 16).ok())
        .collect()
}

fn from_row(r: &sqlx::any::AnyRow) -> Result<pb::IssuedReport, sqlx::Error> {
    let raw: String = r.try_get("report")?;
    let report = unhex(&raw)
        .and_then(|bytes| pb::PeriodicReport::decode(bytes.as_slice()).ok())
        .ok_or_else(|| sqlx::Error::Protocol("a stored issued report is unreadable".into()))?;
    Ok(pb::IssuedReport {
        document_id: r.try_get("document_id")?,
        number_label: r.try_get("number_label")?,
        title: report.title.clone(),
        from: report.from.clone(),
        to: report.to.clone(),
        issued_on: r.try_get("issued_on")?,
        sha256: r.try_get("sha256")?,
        issued_by: r.try_get("issued_by")?,
        report: Some(report),
    })
}

/// The report issued under `request_id`, if any.
pub async fn find(
    db: &Database,
    request_id: &str,
) -> Result<Option<pb::IssuedReport>, sqlx::Error> {
    sqlx::query("SELECT * FROM issued_reports_v1 WHERE request_id = $1")
        .bind(request_id.to_owned())
        .fetch_optional(db.pool())
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Keeps an issued report; a retry of the same request keeps the first.
pub async fn insert(
    db: &Database,
    request_id: &str,
    issued: &pb::IssuedReport,
) -> Result<(), sqlx::Error> {
    let report = issued
        .report
        .as_ref()
        .map(|r| hex(&r.encode_to_vec()))
        .unwrap_or_default();
    sqlx::query(
        "INSERT INTO issued_reports_v1 (request_id, document_id, number_label, issued_on, \
         sha256, issued_by, report) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (request_id) DO NOTHING",
    )
    .bind(request_id.to_owned())
    .bind(issued.document_id.clone())
    .bind(issued.number_label.clone())
    .bind(issued.issued_on.clone())
    .bind(issued.sha256.clone())
    .bind(issued.issued_by.clone())
    .bind(report)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Every issued report, newest first.
pub async fn list(db: &Database) -> Result<Vec<pb::IssuedReport>, sqlx::Error> {
    let mut reports = sqlx::query("SELECT * FROM issued_reports_v1")
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(from_row)
        .collect::<Result<Vec<_>, _>>()?;
    // Document ids are "outgoing-<year>-<number>": newest is the highest year, then number.
    let order = |r: &pb::IssuedReport| {
        let mut parts = r.document_id.rsplitn(3, '-');
        let number = parts
            .next()
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
        let year = parts
            .next()
            .and_then(|y| y.parse::<i32>().ok())
            .unwrap_or(0);
        (year, number)
    };
    reports.sort_by_key(|r| std::cmp::Reverse(order(r)));
    Ok(reports)
}

/// Enters the report in the outgoing register of the progress service at `url`, as the
/// official whose `authorization` header is passed on (the register applies its own rules).
pub async fn register(
    url: &str,
    authorization: Option<&str>,
    request: pb::RegisterDocumentRequest,
) -> Result<pb::RegisteredDocument, crate::handlers::ReportingError> {
    use crate::handlers::ReportingError;
    let endpoint = tonic::transport::Endpoint::from_shared(url.to_owned()).map_err(|e| {
        ReportingError::FailedPrecondition(format!("progress_url {url} is not a URL: {e}"))
    })?;
    let channel = endpoint
        .connect_timeout(std::time::Duration::from_secs(5))
        .connect()
        .await
        .map_err(|e| {
            ReportingError::Unavailable(format!(
                "the progress service at {url} is unreachable: {e}"
            ))
        })?;
    let mut client = pb::progress_service_client::ProgressServiceClient::new(channel);
    let mut call = tonic::Request::new(request);
    if let Some(value) = authorization.and_then(|a| a.parse().ok()) {
        call.metadata_mut().insert("authorization", value);
    }
    match client.register_outgoing_document(call).await {
        Ok(response) => Ok(response.into_inner()),
        Err(status) => Err(match status.code() {
            tonic::Code::Unavailable | tonic::Code::DeadlineExceeded => {
                ReportingError::Unavailable(format!(
                    "the progress service is unavailable: {}",
                    status.message()
                ))
            }
            tonic::Code::PermissionDenied | tonic::Code::Unauthenticated => {
                ReportingError::PermissionDenied(format!(
                    "the outgoing register refused the caller: {}",
                    status.message()
                ))
            }
            _ => ReportingError::RegisterRefused(status.message().to_owned()),
        }),
    }
}
