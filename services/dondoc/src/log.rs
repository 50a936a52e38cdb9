//! Operator commands on a service's event log itself, opened directly from its database:
//! `verify` (is the hash chain intact, and does it match its signed anchors?), `replay` (republish to NATS from the SQL log) and
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
use dondoc_eventsourcing::store::head_of;

use dondoc_eventsourcing::anchor::{self, AnchorVerifier, SignedCheckpoint, verify_with_anchors};
use dondoc_proto::v1 as pb;
use dondoc_proto::v1::diagnostics_service_client::DiagnosticsServiceClient;

use crate::cli::{AnchorArgs, DlqCommand, LogArgs, ReplayArgs, VerifyArgs};
use crate::i18n::Lang;
use crate::output::Ui;

async fn open(args: &LogArgs) -> anyhow::Result<Database> {
    let url = args.database_url();
    // Never create: a mistyped path must fail, not verify an empty new database as intact.
    Database::open(&url, OpenMode::MustExist)
        .await
        .with_context(|| format!("cannot open the {} database at {url}", args.service))
}

/// Walks the whole log and checks it against the service's anchors; an error (exit 1) when it
/// was tampered with.
pub async fn verify(args: &VerifyArgs, ui: Ui, out: &mut impl Write) -> anyhow::Result<()> {
    let service = args.log.service.as_str();
    let anchors = collect_anchors(args).await?;
    let verifier = if anchors.is_empty() {
        AnchorVerifier::default()
    } else {
        anchor_verifier(args)?
    };
    let db = open(&args.log).await?;
    let checked = verify_with_anchors(&db, service, &anchors, &verifier).await;
    db.close().await;
    let checked = checked.with_context(|| format!("cannot verify the {service} log"))?;
    let report = checked.report;
    match report.first_problem {
        None => {
            let events = report.events_checked;
            match ui.lang {
                Lang::Vi => writeln!(out, "{service}: nguyên vẹn, đã kiểm tra {events} sự kiện")?,
                Lang::En => writeln!(out, "{service}: intact, {events} events checked")?,
            }
            match &checked.latest {
                Some(latest) => writeln!(
                    out,
                    "{}: {} {} ({} {}, {} {})",
                    service,
                    ui.t("khớp với", "matches"),
                    checked.anchors_checked,
                    ui.t("mốc neo có chữ ký; mốc mới nhất ở vị trí", "signed anchors; the latest at position"),
                    latest.position,
                    ui.t("lúc", "made"),
                    latest.anchored_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                )?,
                None => writeln!(
                    out,
                    "{service}: {}",
                    ui.t(
                        "không có mốc neo: không phát hiện được việc xoá phần cuối kèm sửa log_head hay tính lại toàn bộ chuỗi",
                        "no anchors: deleting the tail together with log_head, or recomputing the whole chain, cannot be detected"
                    )
                )?,
            }
            Ok(())
        }
        Some(problem) => bail!(
            "{service}: {}: {problem} ({} {})",
            ui.t(
                "nhật ký sự kiện đã bị can thiệp",
                "the event log was tampered with"
            ),
            report.events_checked,
            ui.t("sự kiện hợp lệ trước đó", "events checked before it")
        ),
    }
}

/// The anchors of the file (default `<data>/anchors/<service>.jsonl`) and, when asked, the
/// latest one on the NATS stream.
async fn collect_anchors(args: &VerifyArgs) -> anyhow::Result<Vec<SignedCheckpoint>> {
    let service = args.log.service.as_str();
    let path = args.anchors.clone().unwrap_or_else(|| {
        args.log
            .data_dir
            .join("anchors")
            .join(format!("{service}.jsonl"))
    });
    if args.anchors.is_some() && !path.exists() {
        bail!("no anchor file at {}", path.display());
    }
    let mut anchors = anchor::read_file(&path)?;
    if let Some(url) = &args.nats_url {
        let client = async_nats::connect(url)
            .await
            .with_context(|| format!("cannot connect to NATS at {url}"))?;
        let js = async_nats::jetstream::new(client);
        if let Some(latest) = anchor::latest_published(&js, service).await? {
            anchors.push(latest);
        }
    }
    Ok(anchors)
}

fn anchor_verifier(args: &VerifyArgs) -> anyhow::Result<AnchorVerifier> {
    let paths = if args.anchor_keys.is_empty() {
        vec![crate::keys::anchor_public_key_path(&args.log.data_dir)]
    } else {
        args.anchor_keys.clone()
    };
    let pems = paths
        .iter()
        .map(|path| {
            std::fs::read_to_string(path).with_context(|| {
                format!(
                    "cannot read the anchor public key {} (give it with --anchor-key)",
                    path.display()
                )
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(AnchorVerifier::from_public_pems(
        pems.iter().map(String::as_str),
    )?)
}

/// Asks a running service to anchor its log now.
pub async fn anchor(args: &AnchorArgs, ui: Ui, out: &mut impl Write) -> anyhow::Result<()> {
    let token = crate::client::bearer_token(&args.credentials)?;
    let channel =
        crate::client::channel(&args.addr, "the", args.credentials.ca_cert.as_deref()).await?;
    let mut diagnostics = DiagnosticsServiceClient::with_interceptor(channel, token);
    let anchor = diagnostics
        .anchor_log(pb::AnchorLogRequest {})
        .await
        .map_err(|status| anyhow::anyhow!("{}", status.message()))
        .with_context(|| format!("cannot anchor the log of the service at {}", args.addr))?
        .into_inner();
    writeln!(
        out,
        "{}: {} {} ({} {}, {} {})",
        anchor.service,
        ui.t("đã neo ở vị trí", "anchored at position"),
        anchor.position,
        ui.t("khoá", "key"),
        anchor.kid,
        ui.t("lúc", "at"),
        anchor.anchored_at
    )?;
    Ok(())
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

/// `dondoc dlq list|retry|discard`, on the service's database.
pub async fn dlq(command: DlqCommand, ui: Ui, out: &mut impl Write) -> anyhow::Result<()> {
    use dondoc_eventsourcing::consumer;
    match command {
        DlqCommand::List { log } => {
            let db = open(&log).await?;
            let letters = consumer::list_dead_letters(&db).await;
            db.close().await;
            let letters = letters.with_context(|| {
                format!("the {} database holds no dead letters table", log.service)
            })?;
            if letters.is_empty() {
                writeln!(
                    out,
                    "{}: {}",
                    log.service,
                    ui.t("không có sự kiện lỗi nào bị để riêng", "no dead letters")
                )?;
            }
            for letter in letters {
                writeln!(
                    out,
                    "{}  {}  {} v{}  {}: {}  ({} {}{})",
                    letter.event_id,
                    letter.consumer,
                    letter.stream_id,
                    letter.stream_version,
                    ui.t("lỗi", "error"),
                    letter.error,
                    letter.attempts,
                    ui.t("lần thử, ", "attempts, "),
                    if letter.retry_ordered {
                        format!(
                            "{} {}",
                            letter.recorded_at,
                            ui.t("— chờ thử lại", "— retry ordered")
                        )
                    } else {
                        letter.recorded_at
                    }
                )?;
            }
            Ok(())
        }
        DlqCommand::Retry {
            log,
            event_id,
            consumer: only,
            wait,
        } => {
            let db = open(&log).await?;
            let ordered = consumer::order_retry(&db, &event_id, only.as_deref()).await?;
            if ordered.is_empty() {
                db.close().await;
                bail!("{}: no dead letter {event_id}", log.service);
            }
            let deadline = tokio::time::Instant::now() + wait;
            while consumer::retry_pending(&db, &event_id).await?
                && tokio::time::Instant::now() < deadline
            {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            let pending = consumer::retry_pending(&db, &event_id).await?;
            let still: Vec<_> = consumer::list_dead_letters(&db)
                .await?
                .into_iter()
                .filter(|letter| letter.event_id == event_id && ordered.contains(&letter.consumer))
                .collect();
            db.close().await;
            if pending {
                writeln!(
                    out,
                    "{}: {} ({})",
                    log.service,
                    ui.t(
                        "đã yêu cầu thử lại; dịch vụ sẽ thực hiện khi chạy",
                        "retry ordered; the service carries it out when it runs"
                    ),
                    ordered.join(", ")
                )?;
                return Ok(());
            }
            if let Some(failed) = still.first() {
                bail!(
                    "{}: {event_id} {} {}: {}",
                    log.service,
                    ui.t("vẫn lỗi trong", "failed again in"),
                    failed.consumer,
                    failed.error
                );
            }
            writeln!(
                out,
                "{}: {event_id} {} ({})",
                log.service,
                ui.t("đã được áp dụng", "applied"),
                ordered.join(", ")
            )?;
            Ok(())
        }
        DlqCommand::Discard {
            log,
            event_id,
            consumer: only,
            reason,
        } => {
            if reason.trim().is_empty() {
                bail!("--reason must say why the dead letter is discarded");
            }
            let db = open(&log).await?;
            let discarded = consumer::discard(&db, &event_id, only.as_deref(), reason.trim()).await;
            db.close().await;
            let discarded = discarded?;
            if discarded.is_empty() {
                bail!("{}: no dead letter {event_id}", log.service);
            }
            writeln!(
                out,
                "{}: {event_id} {} ({})",
                log.service,
                ui.t(
                    "đã bỏ, lý do được ghi lại",
                    "discarded, the reason is logged"
                ),
                discarded.join(", ")
            )?;
            Ok(())
        }
    }
}
