//! Operator commands on a service's event log itself, opened directly from its database:
//! `verify` (is the hash chain intact?), `replay` (republish to NATS from the SQL log) and
//! `rebuild` (replay every read model from the events on the next start).
//!
//! They work on the database rather than through gRPC because they are what an operator needs
//! when something is wrong — tampering suspected, JetStream's data lost — and must not depend
//! on the service being healthy.

use std::io::Write;

use anyhow::{Context as _, bail};
use dondoc_eventsourcing::Database;
use dondoc_eventsourcing::db::OpenMode;
use dondoc_eventsourcing::projection::forget_versions;
use dondoc_eventsourcing::relay::{RelayConfig, rewind};
use dondoc_eventsourcing::store::{head_of, verify_log};

use crate::cli::{LogArgs, ReplayArgs};
use crate::i18n::Lang;
use crate::output::Ui;

async fn open(args: &LogArgs) -> anyhow::Result<Database> {
    let url = args.database_url();
    // Never create: a mistyped path must fail, not verify an empty new database as intact.
    Database::open(&url, OpenMode::MustExist)
        .await
        .with_context(|| format!("cannot open the {} database at {url}", args.service))
}

/// Walks the whole log; an error (exit 1) when it was tampered with.
pub async fn verify(args: &LogArgs, ui: Ui, out: &mut impl Write) -> anyhow::Result<()> {
    let db = open(args).await?;
    let report = verify_log(&db).await;
    db.close().await;
    let report = report.with_context(|| format!("cannot verify the {} log", args.service))?;
    match report.first_problem {
        None => {
            let checked = report.events_checked;
            match ui.lang {
                Lang::Vi => writeln!(
                    out,
                    "{}: nguyên vẹn, đã kiểm tra {checked} sự kiện",
                    args.service
                )?,
                Lang::En => writeln!(out, "{}: intact, {checked} events checked", args.service)?,
            }
            Ok(())
        }
        Some(problem) => bail!(
            "{}: {}: {problem} ({} {})",
            args.service,
            ui.t(
                "nhật ký sự kiện đã bị can thiệp",
                "the event log was tampered with"
            ),
            report.events_checked,
            ui.t("sự kiện hợp lệ trước đó", "events checked before it")
        ),
    }
}

/// Rewinds the service's relay checkpoint.
pub async fn replay(args: &ReplayArgs, ui: Ui, out: &mut impl Write) -> anyhow::Result<()> {
    let db = open(&args.log).await?;
    let head = head_of(&db)
        .await
        .with_context(|| format!("cannot replay the {} log", args.log.service))?;
    if args.from > head {
        bail!(
            "{}: position {} is past the end of the log ({head})",
            args.log.service,
            args.from
        );
    }
    rewind(
        &db,
        &RelayConfig::for_service(args.log.service.as_str()),
        args.from,
    )
    .await?;
    db.close().await;
    writeln!(
        out,
        "{}: {} {} {}",
        args.log.service,
        ui.t("các sự kiện sau vị trí", "events after position"),
        args.from,
        ui.t(
            "sẽ được bộ chuyển tiếp đang chạy phát lại",
            "will be republished by the running relay"
        )
    )?;
    Ok(())
}

/// Forgets the version of every read model of the service, so that on its next start each is
/// dropped and replayed from the events. (Rebuilding under a running service would race its
/// projection loop; a restart is the safe moment.)
pub async fn rebuild(args: &LogArgs, ui: Ui, out: &mut impl Write) -> anyhow::Result<()> {
    let db = open(args).await?;
    let forgotten = forget_versions(&db).await;
    db.close().await;
    forgotten.with_context(|| format!("the {} database holds no read models", args.service))?;
    writeln!(
        out,
        "{}: {}",
        args.service,
        ui.t(
            "mọi bảng đọc sẽ được dựng lại từ sự kiện khi dịch vụ khởi động lần tới",
            "every read model will be rebuilt from the events when the service next starts"
        )
    )?;
    Ok(())
}
