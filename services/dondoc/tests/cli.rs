//! The operator's path, through the real `dondoc` binary: `dondoc up` on an empty data
//! directory (keys, token, nats-server and both services), then the client commands against it,
//! the operator's log commands, then a graceful stop on SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const DONDOC: &str = env!("CARGO_BIN_EXE_dondoc");
const SEED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../assignment/seed/haiphong-units.toml"
);
const LEADERS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../assignment/seed/haiphong-leaders.toml"
);

/// `dondoc up` running in the background; SIGKILLed if a test fails before stopping it.
struct Up {
    child: Child,
    assignment: String,
    reporting: String,
    progress: String,
    escalation: String,
    discipline: String,
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn start_up(data_dir: &Path) -> Up {
    start_up_with(data_dir, &[], "http")
}

/// `dondoc up` with extra arguments; endpoints are reported with `scheme`.
fn start_up_with(data_dir: &Path, extra: &[&str], scheme: &str) -> Up {
    let mut child = Command::new(DONDOC)
        .args([
            "up",
            "--assignment-port",
            "0",
            "--reporting-port",
            "0",
            "--progress-port",
            "0",
            "--escalation-port",
            "0",
            "--discipline-port",
            "0",
            "--data-dir",
        ])
        .arg(data_dir)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn dondoc up");
    let stdout = child.stdout.take().expect("stdout");
    let mut assignment = None;
    let mut reporting = None;
    let mut progress = None;
    let mut escalation = None;
    let mut discipline = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read the banner");
        let endpoint = |prefix: &str| {
            line.trim()
                .strip_prefix(prefix)
                .map(|rest| format!("{scheme}://{}", rest.trim()))
        };
        assignment = assignment.or_else(|| endpoint("assignment gRPC"));
        reporting = reporting.or_else(|| endpoint("reporting gRPC"));
        progress = progress.or_else(|| endpoint("progress gRPC"));
        escalation = escalation.or_else(|| endpoint("escalation gRPC"));
        discipline = discipline.or_else(|| endpoint("discipline gRPC"));
        if line.contains("Press Ctrl-C to stop") {
            break;
        }
    }
    Up {
        child,
        assignment: assignment.expect("the banner names the assignment endpoint"),
        reporting: reporting.expect("the banner names the reporting endpoint"),
        progress: progress.expect("the banner names the progress endpoint"),
        escalation: escalation.expect("the banner names the escalation endpoint"),
        discipline: discipline.expect("the banner names the discipline endpoint"),
    }
}

fn dondoc(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(DONDOC)
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .expect("run dondoc")
}

/// `dondoc health --addr <addr> [extra]`: the compose probe, as Docker runs it.
fn probe(addr: &str, extra: &[&str]) -> Output {
    Command::new(DONDOC)
        .args(["health", "--addr", addr])
        .args(extra)
        .output()
        .expect("run dondoc health")
}

/// Probes until SERVING (a service catching up at start says NOT_SERVING), failing after a
/// deadline; the last answer.
fn probe_until_serving(addr: &str, extra: &[&str]) -> Output {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = probe(addr, extra);
        if answer.status.success() || Instant::now() > deadline {
            return answer;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `dondoc task assign`: Vice-Chairman pct-tran gives the Department of Construction a task
/// through document 4521/UBND-XD of `doc_date`, due `deadline`; its id.
fn assign_to_sxd(
    data_dir: &Path,
    endpoint: &[&str],
    doc_date: &str,
    deadline: &str,
    extra: &[&str],
) -> String {
    let assigned = dondoc(
        data_dir,
        &[
            &[
                "task",
                "assign",
                "--output",
                "json",
                "--assigner",
                "vice-chairman",
                "--leader",
                "pct-tran",
                "--doc-number",
                "4521",
                "--doc-symbol",
                "UBND-XD",
                "--doc-date",
                doc_date,
                "--doc-summary",
                "Về việc đôn đốc tiến độ",
                "--title",
                "Báo cáo tiến độ giải phóng mặt bằng",
                "--lead",
                "SXD",
                "--deadline",
                deadline,
            ][..],
            extra,
            endpoint,
        ]
        .concat(),
    );
    assert!(assigned.status.success(), "assign: {assigned:?}");
    let task: serde_json::Value = serde_json::from_slice(&assigned.stdout).expect("json");
    task["task_id"].as_str().expect("task id").to_owned()
}

/// `dondoc units import` and `dondoc leaders import` of the seed files.
fn import_directories(data_dir: &Path, endpoint: &[&str]) {
    for (what, file) in [("units", SEED), ("leaders", LEADERS)] {
        let imported = dondoc(data_dir, &[&[what, "import", file][..], endpoint].concat());
        assert!(imported.status.success(), "{what}: {imported:?}");
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn dondoc_up_serves_the_client_commands_and_stops_on_sigterm() {
    let data = tempfile::tempdir().expect("data dir");
    let mut up = start_up(data.path());
    let endpoint = ["--endpoint", up.assignment.as_str()];
    // `dondoc up` runs on the real clock, and a new task may not have a past deadline.
    let deadline_day = chrono::Utc::now().date_naive() + chrono::Days::new(60);
    let deadline_iso = deadline_day.to_string();

    let imported = dondoc(
        data.path(),
        &[&["units", "import", SEED][..], &endpoint].concat(),
    );
    let leaders = dondoc(
        data.path(),
        &[&["leaders", "import", LEADERS][..], &endpoint].concat(),
    );
    let assigned = dondoc(
        data.path(),
        &[
            &[
                "task",
                "assign",
                "--origin",
                "government",
                "--origin-doc-number",
                "25",
                "--origin-doc-symbol",
                "NQ-CP",
                "--origin-doc-date",
                "2026-11-05",
                "--origin-doc-summary",
                "Về nhiệm vụ, giải pháp chủ yếu",
                "--assigner",
                "vice-chairman",
                "--leader",
                "pct-tran",
                "--doc-number",
                "4521",
                "--doc-symbol",
                "UBND-XD",
                "--doc-date",
                "2026-11-20",
                "--doc-summary",
                "Về việc đôn đốc tiến độ giải phóng mặt bằng",
                "--title",
                "Báo cáo tiến độ giải phóng mặt bằng",
                "--lead",
                "SXD",
                "--coordinate",
                "STC",
                "--deadline",
                &deadline_iso,
            ][..],
            &endpoint,
        ]
        .concat(),
    );
    let refused = dondoc(
        data.path(),
        &[
            &[
                "task",
                "assign",
                "--assigner",
                "chairman",
                "--leader",
                "ct-nguyen",
                "--doc-number",
                "1",
                "--doc-symbol",
                "UBND",
                "--doc-date",
                "2026-11-20",
                "--doc-summary",
                "x",
                "--title",
                "x",
                "--lead",
                "KHONG-CO",
                "--no-deadline",
            ][..],
            &endpoint,
        ]
        .concat(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let board = loop {
        let board = dondoc(
            data.path(),
            &["board", "--reporting-endpoint", up.reporting.as_str()],
        );
        if stdout(&board).contains("SXD") || Instant::now() > deadline {
            break board;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let probes: Vec<Output> = [
        &up.assignment,
        &up.reporting,
        &up.progress,
        &up.escalation,
        &up.discipline,
    ]
    .into_iter()
    .map(|addr| probe_until_serving(addr, &[]))
    .collect();
    let stopped = Command::new("kill")
        .args(["-TERM", &up.child.id().to_string()])
        .status()
        .expect("send SIGTERM");
    let exit = up.child.wait().expect("wait for dondoc up");
    let probe_after_stop = probe(&up.assignment, &["--timeout", "1s"]);
    let verified = dondoc(data.path(), &["verify"]);
    let replayed = dondoc(data.path(), &["replay", "--from", "0"]);
    let rewound_to = relay_checkpoint(data.path());
    // A row no event put there: a rebuild must drop it with the table.
    sql(
        data.path(),
        "INSERT INTO task_list_v3 (task_id, seq, lead_unit, coordinating_units, origin_kind, \
         assigner_kind, assigner_leader_id, status, deadline, task) \
         VALUES ('planted', 999, 'X', ',', 'x', 'x', '', 'x', '', '{}')",
    );
    let rebuilt = dondoc(data.path(), &["rebuild"]);
    // Up again on the same data: the task list is rebuilt from the events on start, and the
    // relay republishes what the replay rewound.
    let mut again = start_up(data.path());
    let listed = dondoc(
        data.path(),
        &["task", "list", "--endpoint", again.assignment.as_str()],
    );
    let listed_json = dondoc(
        data.path(),
        &[
            "task",
            "list",
            "--output",
            "json",
            "--endpoint",
            again.assignment.as_str(),
        ],
    );
    let found = dondoc(
        data.path(),
        &[
            "units",
            "list",
            "--search",
            "thuy nguyen",
            "--lang",
            "en",
            "--endpoint",
            again.assignment.as_str(),
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let republished_to = loop {
        let position = relay_checkpoint(data.path());
        if position == 4 || Instant::now() > deadline {
            break position;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let planted_rows = sql(
        data.path(),
        "SELECT COUNT(*) AS n FROM task_list_v3 WHERE task_id = 'planted'",
    );
    let _ = Command::new("kill")
        .args(["-TERM", &again.child.id().to_string()])
        .status();
    let second_exit = again.child.wait().expect("wait for the second dondoc up");

    assert!(imported.status.success(), "import: {imported:?}");
    assert!(leaders.status.success(), "leaders: {leaders:?}");
    assert!(assigned.status.success(), "assign: {assigned:?}");
    let shown = stdout(&assigned);
    for expected in [
        "Đơn vị chủ trì:      SXD (Sở Xây dựng)".to_owned(),
        "Nguồn giao:          Chính phủ – Số 25/NQ-CP ngày 05/11/2026".to_owned(),
        "Người giao:          Phó Chủ tịch UBND thành phố".to_owned(),
        format!("Thời hạn:            {}", deadline_day.format("%d/%m/%Y")),
        "Trạng thái:          Đã giao".to_owned(),
    ] {
        assert!(
            shown.contains(expected.as_str()),
            "{expected:?} in:\n{shown}"
        );
    }
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    let refusal = String::from_utf8_lossy(&refused.stderr);
    assert!(
        refusal.contains("lead_unit")
            && refusal.contains("nguyên nhân: InvalidArgument: Yêu cầu không hợp lệ"),
        "field violation named, in Vietnamese: {refusal}"
    );
    assert!(stdout(&board).contains("SXD"), "board: {}", stdout(&board));
    assert!(replayed.status.success(), "replay: {replayed:?}");
    assert_eq!(
        rewound_to, 0,
        "replay rewinds the relay to the position asked"
    );
    assert_eq!(
        republished_to, 4,
        "the restarted relay republished everything"
    );
    for answer in &probes {
        assert!(answer.status.success(), "health probe: {answer:?}");
        assert_eq!(stdout(answer).trim(), "SERVING");
    }
    assert_eq!(
        probe_after_stop.status.code(),
        Some(1),
        "a stopped service fails its probe: {probe_after_stop:?}"
    );
    assert!(stopped.success());
    assert!(verified.status.success(), "verify: {verified:?}");
    assert!(
        stdout(&verified).contains("nguyên vẹn, đã kiểm tra 4 sự kiện"),
        "two directory versions, the leaders and one task: {}",
        stdout(&verified)
    );
    assert!(
        exit.success(),
        "dondoc up exits cleanly on SIGTERM: {exit:?}"
    );
    assert!(rebuilt.status.success(), "rebuild: {rebuilt:?}");
    assert_eq!(
        planted_rows, 0,
        "the rebuild dropped the task list and replayed it from the events"
    );
    assert!(
        stdout(&listed).contains("Báo cáo tiến độ giải phóng mặt bằng"),
        "the rebuilt task list: {}",
        stdout(&listed)
    );
    let json: serde_json::Value =
        serde_json::from_slice(&listed_json.stdout).expect("task list as JSON");
    assert_eq!(json["tasks"][0]["lead_unit"], "SXD");
    assert_eq!(json["tasks"][0]["origin"]["kind"], "government");
    assert_eq!(
        json["tasks"][0]["assignment"]["assigner"]["leader_id"],
        "pct-tran"
    );
    assert!(
        stdout(&found).contains("11560  commune  Thuy Nguyen"),
        "search ignores diacritics: {}",
        stdout(&found)
    );
    assert!(second_exit.success());
    for file in [
        "assignment.db",
        "reporting.db",
        "admin.token",
        "keys/dev-ed25519.pem",
    ] {
        assert!(data.path().join(file).exists(), "{file} is created");
    }
}

#[test]
fn verify_refuses_a_database_that_does_not_exist_instead_of_creating_it() {
    let empty = tempfile::tempdir().expect("data dir");

    let verified = dondoc(empty.path(), &["verify"]);

    assert_eq!(verified.status.code(), Some(1), "{verified:?}");
    assert!(
        !empty.path().join("assignment.db").exists(),
        "a mistyped data directory must not get an empty database"
    );
}

#[test]
fn dondoc_up_with_a_certificate_serves_only_tls() {
    let data = tempfile::tempdir().expect("data dir");
    let cert = data.path().join("cert.pem");
    let key = data.path().join("key.pem");
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        // A self-signed *server* certificate: webpki refuses a CA certificate as end entity.
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "extendedKeyUsage=serverAuth"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("run openssl");
    assert!(made.status.success(), "{made:?}");
    let config = data.path().join("dondoc.toml");
    std::fs::write(
        &config,
        format!(
            "[tls]\ncert_path = {:?}\nkey_path = {:?}\n",
            cert.display().to_string(),
            key.display().to_string()
        ),
    )
    .expect("write config");
    let config = config.display().to_string();
    let mut up = start_up_with(data.path(), &["--config", &config], "https");
    let cert = cert.display().to_string();

    let over_tls = dondoc(
        data.path(),
        &[
            "units",
            "list",
            "--endpoint",
            &up.assignment,
            "--ca-cert",
            &cert,
        ],
    );
    let plaintext = dondoc(
        data.path(),
        &[
            "units",
            "list",
            "--endpoint",
            &up.assignment.replace("https://", "http://"),
        ],
    );
    let probed_over_tls = probe_until_serving(&up.assignment, &["--ca-cert", &cert]);
    let _ = Command::new("kill")
        .args(["-TERM", &up.child.id().to_string()])
        .status();
    let _ = up.child.wait();

    assert!(over_tls.status.success(), "over TLS: {over_tls:?}");
    assert!(
        probed_over_tls.status.success(),
        "the probe speaks TLS: {probed_over_tls:?}"
    );
    assert_eq!(
        plaintext.status.code(),
        Some(1),
        "plaintext must fail: {plaintext:?}"
    );
}

#[test]
fn a_service_says_not_serving_from_sigterm_while_it_drains_then_stops() {
    let data = tempfile::tempdir().expect("data dir");
    let config = data.path().join("dondoc.toml");
    std::fs::write(&config, "shutdown_drain = \"5s\"\n").expect("write config");
    let config = config.display().to_string();
    let mut up = start_up_with(data.path(), &["--config", &config], "http");
    let before = probe_until_serving(&up.progress, &[]);

    Command::new("kill")
        .args(["-TERM", &up.child.id().to_string()])
        .status()
        .expect("send SIGTERM");
    // The server still answers while it drains, and what it says is NOT_SERVING.
    let deadline = Instant::now() + Duration::from_secs(30);
    let draining = loop {
        let answer = probe(&up.progress, &[]);
        if stdout(&answer).trim() == "NOT_SERVING" || Instant::now() > deadline {
            break answer;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let exit = up.child.wait().expect("wait for dondoc up");

    assert!(before.status.success(), "SERVING before: {before:?}");
    assert_eq!(stdout(&draining).trim(), "NOT_SERVING", "{draining:?}");
    assert_eq!(
        draining.status.code(),
        Some(1),
        "the probe fails: {draining:?}"
    );
    assert!(exit.success(), "then it stops cleanly: {exit:?}");
}

#[test]
fn a_log_cut_short_with_its_head_rewritten_fails_verify_against_its_anchors() {
    let data = tempfile::tempdir().expect("data dir");
    let mut up = start_up(data.path());
    import_directories(data.path(), &["--endpoint", up.assignment.as_str()]);
    let anchored = dondoc(data.path(), &["anchor", "--addr", up.assignment.as_str()]);
    let _ = Command::new("kill")
        .args(["-TERM", &up.child.id().to_string()])
        .status();
    let _ = up.child.wait();
    let before = dondoc(data.path(), &["verify"]);

    // What a database administrator could do to hide the last commits.
    sql(data.path(), "DELETE FROM events WHERE position > 1");
    sql(
        data.path(),
        "UPDATE log_head SET position = 1, \
         hash = (SELECT hash FROM events WHERE position = 1) WHERE id = 1",
    );
    let after = dondoc(data.path(), &["verify", "--lang", "en"]);

    assert!(anchored.status.success(), "anchor: {anchored:?}");
    assert!(
        stdout(&anchored).contains("assignment: đã neo ở vị trí"),
        "{}",
        stdout(&anchored)
    );
    assert!(before.status.success(), "verify before: {before:?}");
    assert!(
        stdout(&before).contains("mốc neo có chữ ký"),
        "{}",
        stdout(&before)
    );
    assert_eq!(after.status.code(), Some(1), "{after:?}");
    let refusal = String::from_utf8_lossy(&after.stderr);
    assert!(
        refusal.contains("the log ends at position 1 but an anchor signed at")
            && refusal.contains("vouches for position"),
        "{refusal}"
    );
}

#[test]
fn dead_letters_are_listed_retried_and_discarded_by_name_with_the_cli() {
    let data = tempfile::tempdir().expect("data dir");
    let mut up = start_up(data.path());
    let _ = Command::new("kill")
        .args(["-TERM", &up.child.id().to_string()])
        .status();
    let _ = up.child.wait();

    let help = Command::new(DONDOC)
        .args(["dlq", "--help"])
        .output()
        .expect("help");
    let listed = dondoc(
        data.path(),
        &["dlq", "list", "--service", "reporting", "--lang", "en"],
    );
    let unknown_retry = dondoc(
        data.path(),
        &[
            "dlq",
            "retry",
            "--service",
            "reporting",
            "no-such-event",
            "--wait",
            "1s",
        ],
    );
    let no_reason = dondoc(
        data.path(),
        &[
            "dlq",
            "discard",
            "--service",
            "reporting",
            "no-such-event",
            "--reason",
            " ",
        ],
    );

    let help = stdout(&help);
    for command in ["list", "retry", "discard"] {
        assert!(help.contains(command), "{help}");
    }
    assert!(listed.status.success(), "{listed:?}");
    assert_eq!(stdout(&listed).trim(), "reporting: no dead letters");
    assert_eq!(unknown_retry.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&unknown_retry.stderr).contains("no dead letter no-such-event"),
        "{unknown_retry:?}"
    );
    assert_eq!(no_reason.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&no_reason.stderr).contains("--reason"),
        "{no_reason:?}"
    );
}

/// SIGTERM, then waits for `dondoc up` to exit.
fn stop(mut up: Up) {
    let _ = Command::new("kill")
        .args(["-TERM", &up.child.id().to_string()])
        .status();
    let _ = up.child.wait();
}

/// The ids in `dondoc task list --output json`.
fn task_ids(data: &Path, up: &Up) -> String {
    stdout(&dondoc(
        data,
        &[
            "task",
            "list",
            "--output",
            "json",
            "--endpoint",
            up.assignment.as_str(),
        ],
    ))
}

#[test]
fn a_restored_backup_is_the_system_at_the_backup_point_verifies_and_takes_new_work() {
    backup_restore_drill(None);
}

/// The same drill with every service on PostgreSQL: `pg_dump` from one snapshot per database,
/// `pg_restore` back, and the streams of an external NATS server deleted (compose's layout).
#[test]
fn a_restored_postgres_backup_is_the_system_at_the_backup_point_verifies_and_takes_new_work() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let Some(template) = runtime.block_on(
        dondoc_eventsourcing::testing::TestDatabase::postgres_per_service(&[
            "assignment",
            "progress",
            "escalation",
            "discipline",
            "reporting",
        ]),
    ) else {
        return;
    };
    let nats = runtime
        .block_on(dondoc_eventsourcing::nats_server::NatsServer::start())
        .expect("nats-server");
    backup_restore_drill(Some((&template, &nats.url())));
}

/// Back up, keep working, restore, and show that the restored system equals the backup point,
/// verifies, and takes new commands without losing or skipping any. `postgres`: the services'
/// databases (`--postgres` template) and an external NATS server, instead of the data
/// directory's SQLite files and NATS store.
fn backup_restore_drill(postgres: Option<(&str, &str)>) {
    let data = tempfile::tempdir().expect("data dir");
    let backup_dir = data.path().join("backup-2026-12-03");
    let backup_path = backup_dir.to_str().expect("path");
    let deadline = (chrono::Utc::now().date_naive() + chrono::Days::new(60)).to_string();
    let storage: Vec<&str> = match postgres {
        Some((template, _)) => vec!["--postgres", template],
        None => vec![],
    };
    let mut up_args = storage.clone();
    let mut restore_args = vec!["restore", "--from", backup_path];
    restore_args.extend(&storage);
    if let Some((_, nats_url)) = postgres {
        up_args.extend(["--nats-url", nats_url]);
        restore_args.extend(["--nats-url", nats_url]);
    }
    let mut backup_args = vec!["backup", "--to", backup_path];
    backup_args.extend(&storage);
    let start = || start_up_with(data.path(), &up_args, "http");

    let up = start();
    let endpoint = ["--endpoint", up.assignment.as_str()];
    import_directories(data.path(), &endpoint);
    let before_backup = assign_to_sxd(data.path(), &endpoint, "2026-11-20", &deadline, &[]);
    stop(up);
    let backed_up = dondoc(data.path(), &backup_args);
    // Work after the backup point, which the restore takes back.
    let up = start();
    let after_backup = assign_to_sxd(
        data.path(),
        &["--endpoint", up.assignment.as_str()],
        "2026-11-21",
        &deadline,
        &[],
    );
    let refused_while_running = dondoc(data.path(), &restore_args);
    stop(up);

    let restored = dondoc(data.path(), &restore_args);
    let verified: Vec<Output> = ["assignment", "progress", "escalation", "discipline"]
        .into_iter()
        .map(|service| {
            let url = postgres.map(|(template, _)| template.replace("{service}", service));
            let mut args = vec!["verify", "--service", service];
            if let Some(url) = &url {
                args.extend(["--database-url", url.as_str()]);
            }
            dondoc(data.path(), &args)
        })
        .collect();
    let up = start();
    let listed = task_ids(data.path(), &up);
    let new_work = assign_to_sxd(
        data.path(),
        &["--endpoint", up.assignment.as_str()],
        "2026-11-22",
        &deadline,
        &[],
    );
    // The board is rebuilt from the republished log: both tasks, each once.
    let limit = Instant::now() + Duration::from_secs(30);
    let board = loop {
        let board = stdout(&dondoc(
            data.path(),
            &[
                "board",
                "--output",
                "json",
                "--reporting-endpoint",
                up.reporting.as_str(),
            ],
        ));
        if board.contains("\"total_tasks\": 2") || Instant::now() > limit {
            break board;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let listed_after = task_ids(data.path(), &up);
    stop(up);

    assert!(backed_up.status.success(), "backup: {backed_up:?}");
    assert!(backup_dir.join("manifest.json").is_file());
    assert_eq!(refused_while_running.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused_while_running.stderr).contains("stop it first"),
        "{refused_while_running:?}"
    );
    assert!(restored.status.success(), "restore: {restored:?}");
    for report in &verified {
        assert!(report.status.success(), "verify: {report:?}");
    }
    assert!(listed.contains(&before_backup), "{listed}");
    assert!(
        !listed.contains(&after_backup),
        "work after the backup point is gone: {listed}"
    );
    assert!(listed_after.contains(&before_backup) && listed_after.contains(&new_work));
    assert!(board.contains("\"total_tasks\": 2"), "{board}");
}

/// Runs one statement on the assignment database of a `dondoc up` data directory, as an
/// operator's SQL shell would, and returns the first column of its first row (0 if none).
fn sql(data: &std::path::Path, statement: &'static str) -> i64 {
    let url = format!("sqlite://{}", data.join("assignment.db").display());
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async move {
            let db = dondoc_eventsourcing::Database::open(
                &url,
                dondoc_eventsourcing::db::OpenMode::MustExist,
            )
            .await
            .expect("open the database");
            let row = sqlx::query(statement)
                .fetch_optional(db.pool())
                .await
                .expect("statement");
            db.close().await;
            row.and_then(|row| sqlx::Row::try_get::<i64, _>(&row, 0).ok())
                .unwrap_or(0)
        })
}

fn relay_checkpoint(data: &std::path::Path) -> i64 {
    sql(
        data,
        "SELECT position FROM relay_checkpoints WHERE name = 'DONDOC_ASSIGNMENT'",
    )
}

/// The benchmark's plumbing, not its numbers: a short embedded run reports every row and the
/// services' own counts (statements are counted by the service processes, so a zero would mean
/// the counting switch does not reach them).
#[test]
fn dondoc_bench_measures_the_embedded_system_and_prints_the_table() {
    let work = tempfile::tempdir().expect("work dir");
    let report = work.path().join("bench.md");

    let bench = Command::new(DONDOC)
        .args(["bench", "--clients", "2", "--duration", "1s"])
        .args(["--phases", "assign,reads", "--work-dir"])
        .arg(work.path().join("run"))
        .arg("--report")
        .arg(&report)
        .output()
        .expect("run dondoc bench");

    assert!(bench.status.success(), "{bench:?}");
    let table = stdout(&bench);
    for row in [
        "| AssignTask ×2 | 2 |",
        "| AssignTask ×1 | 1 |",
        "| GetTask ×2 | 2 |",
        "| GetUnit ×1 | 1 |",
        "| GetTaskBoard ×2 | 2 |",
        "### Targets",
    ] {
        assert!(table.contains(row), "{row:?} in:\n{table}");
    }
    let statements = table
        .lines()
        .find_map(|line| {
            line.strip_prefix("- SQL statements per AssignTask (counted pass): dondoc up ")
        })
        .and_then(|value| value.trim().parse::<f64>().ok())
        .expect("a statement count");
    assert!(
        statements >= 1.0,
        "the service counted its statements: {statements}"
    );
    assert_eq!(
        std::fs::read_to_string(&report).expect("report file"),
        table,
        "--report writes the same Markdown"
    );
}

/// `--cluster` runs the same workload on two processes per service over a three-server NATS
/// cluster, beside the single-process split setup: both setups are in the table, and the
/// cluster's CPU and statements are counted in each of its four processes (so calls reached
/// both replicas of each service: a replica that got none would count none).
#[test]
fn dondoc_bench_measures_the_cluster_beside_the_split_setup() {
    let Some(server_url) = std::env::var(dondoc_eventsourcing::testing::POSTGRES_URL_VAR)
        .ok()
        .filter(|url| !url.is_empty())
    else {
        assert!(
            std::env::var("DONDOC_REQUIRE_POSTGRES").is_err(),
            "DONDOC_TEST_POSTGRES_URL must be set when DONDOC_REQUIRE_POSTGRES is"
        );
        return;
    };
    let work = tempfile::tempdir().expect("work dir");

    let bench = Command::new(DONDOC)
        .args([
            "bench",
            "--clients",
            "4",
            "--duration",
            "2s",
            "--no-embedded",
        ])
        .args(["--postgres-url", &server_url, "--cluster"])
        .args(["--phases", "baselines,assign", "--work-dir"])
        .arg(work.path().join("run"))
        .output()
        .expect("run dondoc bench");

    assert!(bench.status.success(), "{bench:?}");
    let table = stdout(&bench);
    for setup in [
        "split: PostgreSQL + NATS, one process per service",
        "cluster: PostgreSQL + 3-server NATS cluster (R3), two processes per service",
    ] {
        assert!(table.contains(setup), "{setup:?} in:\n{table}");
    }
    let statements = table
        .lines()
        .find(|line| {
            line.starts_with("- SQL statements per AssignTask (counted pass): assignment #1")
        })
        .expect("the cluster's statement counts");
    for process in [
        "assignment #1",
        "assignment #2",
        "reporting #1",
        "reporting #2",
    ] {
        let counted = statements
            .split_once(process)
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .and_then(|value| value.trim_end_matches(',').parse::<f64>().ok())
            .unwrap_or_else(|| panic!("a count for {process} in {statements:?}"));
        assert!(counted > 0.0, "{process} did work: {statements}");
    }
}

#[test]
fn a_lead_unit_carries_its_task_out_with_dondoc_progress() {
    let data = tempfile::tempdir().expect("data dir");
    let up = start_up(data.path());
    let endpoint = ["--endpoint", up.assignment.as_str()];
    let deadline_iso = (chrono::Utc::now().date_naive() + chrono::Days::new(60)).to_string();
    import_directories(data.path(), &endpoint);
    let task_id = assign_to_sxd(
        data.path(),
        &endpoint,
        "2026-11-20",
        &deadline_iso,
        &["--coordinate", "STC"],
    );
    let unit_token = stdout(&dondoc(
        data.path(),
        &["token", "--role", "unit", "--unit", "SXD"],
    ))
    .trim()
    .to_owned();
    let progress = |args: &[&str]| {
        dondoc(
            data.path(),
            &[
                &["progress"][..],
                args,
                &[
                    "--endpoint",
                    up.progress.as_str(),
                    "--token",
                    unit_token.as_str(),
                ],
            ]
            .concat(),
        )
    };

    // The task reaches the progress service over NATS; the same request id makes the retry
    // of an acknowledgement that came too early safe.
    let deadline = Instant::now() + Duration::from_secs(30);
    let acknowledged = loop {
        let attempt = progress(&["acknowledge", &task_id, "--request-id", "ack-1"]);
        if attempt.status.success() || Instant::now() > deadline {
            break attempt;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let reported = progress(&[
        "report",
        &task_id,
        "--percent",
        "40",
        "--narrative",
        "Đã kiểm đếm 40% số hộ",
    ]);
    let blocked = {
        progress(&[
            "difficulty",
            &task_id,
            "--description",
            "Chưa có bảng giá đất",
            "--proposal",
            "Áp dụng bảng giá 2026",
        ]);
        progress(&["submit", &task_id, "--summary", "Đã xong"])
    };
    let shown = progress(&["show", &task_id]);

    assert!(
        acknowledged.status.success(),
        "acknowledge: {acknowledged:?}"
    );
    assert!(reported.status.success(), "report: {reported:?}");
    assert_eq!(blocked.status.code(), Some(1), "{blocked:?}");
    let refusal = String::from_utf8_lossy(&blocked.stderr);
    assert!(
        refusal.contains("chờ ý kiến chỉ đạo") && refusal.contains("DIFFICULTY_AWAITING_DIRECTION"),
        "the rule, in Vietnamese, with its reason: {refusal}"
    );
    let shown = stdout(&shown);
    for expected in [
        "Trạng thái:",
        "Đang thực hiện",
        "Tiến độ:",
        "40%",
        "Khó khăn, vướng mắc",
        "(chờ chỉ đạo)",
    ] {
        assert!(shown.contains(expected), "{expected:?} in:\n{shown}");
    }
    let letter = data.path().join("cong-van-152.txt");
    std::fs::write(&letter, "Báo cáo số 152/BC-SXD").expect("write");
    let office_token = stdout(&dondoc(data.path(), &["token", "--role", "office"]))
        .trim()
        .to_owned();
    let office = [
        "--endpoint",
        up.progress.as_str(),
        "--token",
        office_token.as_str(),
    ];
    let registered = dondoc(
        data.path(),
        &[
            &[
                "register",
                "add",
                letter.to_str().expect("utf-8"),
                "--type",
                "Báo cáo",
                "--number",
                "152",
                "--symbol",
                "BC-SXD",
                "--issued-on",
                "2026-11-27",
                "--summary",
                "Báo cáo tiến độ",
                "--issuing-body",
                "Sở Xây dựng",
                "--task",
                &task_id,
            ][..],
            &office,
        ]
        .concat(),
    );
    let register = dondoc(data.path(), &[&["register", "list"][..], &office].concat());
    let dossier = dondoc(
        data.path(),
        &[&["dossier", "show", &task_id][..], &office].concat(),
    );
    let verified = dondoc(data.path(), &["verify", "--service", "progress"]);
    assert!(registered.status.success(), "register add: {registered:?}");
    assert!(
        stdout(&registered).contains("Số đăng ký:"),
        "{registered:?}"
    );
    let register = stdout(&register);
    assert!(
        register.contains("01")
            && register.contains("152/BC-SXD")
            && register.contains("Sở Xây dựng"),
        "register:\n{register}"
    );
    let dossier = stdout(&dossier);
    for expected in [
        "Đang lập hồ sơ",
        "Văn bản giao nhiệm vụ",
        "4521/UBND-XD",
        "Báo cáo tiến độ",
    ] {
        assert!(dossier.contains(expected), "{expected:?} in:\n{dossier}");
    }
    assert!(
        stdout(&verified).contains("progress: nguyên vẹn"),
        "verify: {verified:?}"
    );
}

#[test]
fn the_office_evaluates_deadlines_and_a_unit_follows_its_notices_with_the_cli() {
    let data = tempfile::tempdir().expect("data dir");
    let up = start_up(data.path());
    let endpoint = ["--endpoint", up.assignment.as_str()];
    let today = chrono::Utc::now().date_naive();
    let deadline_iso = (today + chrono::Days::new(20)).to_string();
    for (what, file) in [("units", SEED), ("leaders", LEADERS)] {
        assert!(
            dondoc(
                data.path(),
                &[&[what, "import", file][..], &endpoint].concat()
            )
            .status
            .success()
        );
    }
    let task_id = assign_to_sxd(
        data.path(),
        &endpoint,
        &today.to_string(),
        &deadline_iso,
        &[],
    );
    let escalation = |args: &[&str]| {
        dondoc(
            data.path(),
            &[args, &["--endpoint", up.escalation.as_str()]].concat(),
        )
    };

    // A month after the deadline every rung of the ladder is due; the task reaches the
    // escalation service over NATS, so the Office evaluates until it is watched.
    let as_of = (today + chrono::Days::new(50)).to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    let evaluated = loop {
        let attempt = escalation(&[
            "escalation",
            "evaluate",
            "--as-of",
            &as_of,
            "--output",
            "json",
        ]);
        let issued = serde_json::from_slice::<serde_json::Value>(&attempt.stdout)
            .ok()
            .and_then(|v| v["issued"].as_array().map(Vec::len))
            .unwrap_or(0);
        if issued > 0 || Instant::now() > deadline {
            break attempt;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let again = escalation(&["escalation", "evaluate", "--as-of", &as_of]);
    let unit_token = stdout(&dondoc(
        data.path(),
        &["token", "--role", "unit", "--unit", "SXD"],
    ))
    .trim()
    .to_owned();
    let listed = escalation(&[
        "notifications",
        "list",
        "--output",
        "json",
        "--token",
        &unit_token,
    ]);
    let mut watcher = Command::new(DONDOC)
        .args([
            "notifications",
            "watch",
            "--endpoint",
            up.escalation.as_str(),
            "--token",
            &unit_token,
            "--data-dir",
        ])
        .arg(data.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the watcher");
    let first_watched = BufReader::new(watcher.stdout.take().expect("stdout"))
        .lines()
        .next()
        .expect("a line")
        .expect("read");
    let _ = watcher.kill();
    let _ = watcher.wait();

    let evaluated: serde_json::Value =
        serde_json::from_slice(&evaluated.stdout).expect("evaluate prints JSON");
    let kinds: Vec<(&str, u64)> = evaluated["issued"]
        .as_array()
        .expect("issued")
        .iter()
        .map(|n| {
            (
                n["kind"].as_str().unwrap_or_default(),
                n["level"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("reminder", 0),
            ("reminder", 0),
            ("reminder", 0),
            ("overdue", 1),
            ("escalation", 2),
            ("escalation", 3),
        ]
    );
    let again = stdout(&again);
    assert!(again.contains("0 thông báo mới"), "{again}");
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("json");
    assert_eq!(listed.as_array().map(Vec::len), Some(6), "{listed}");
    assert!(
        first_watched.starts_with("#") && first_watched.contains(&task_id),
        "{first_watched}"
    );
    assert!(first_watched.contains("[Nhắc hạn]"), "{first_watched}");
}

#[test]
fn the_office_opens_a_case_a_unit_sees_only_its_state_and_the_data_stays_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let data = tempfile::tempdir().expect("data dir");
    let up = start_up(data.path());
    let endpoint = ["--endpoint", up.assignment.as_str()];
    assert!(
        dondoc(
            data.path(),
            &[&["units", "import", SEED][..], &endpoint].concat()
        )
        .status
        .success()
    );
    let case = |args: &[&str], token: &str| {
        let mut all = vec!["case"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--endpoint", up.discipline.as_str()]);
        if !token.is_empty() {
            all.extend_from_slice(&["--token", token]);
        }
        dondoc(data.path(), &all)
    };
    let office = stdout(&dondoc(data.path(), &["token", "--role", "office"]))
        .trim()
        .to_owned();
    let unit = stdout(&dondoc(
        data.path(),
        &["token", "--role", "unit", "--unit", "SXD"],
    ))
    .trim()
    .to_owned();

    let opened = case(
        &[
            "open",
            "--unit",
            "SXD",
            "--title",
            "Giám đốc Sở Xây dựng",
            "--summary",
            "Chậm triển khai nhiệm vụ giải phóng mặt bằng",
            "--output",
            "json",
        ],
        &office,
    );
    assert!(opened.status.success(), "{opened:?}");
    let opened: serde_json::Value = serde_json::from_slice(&opened.stdout).expect("json");
    let case_id = opened["case_id"].as_str().expect("case id").to_owned();
    let as_unit = stdout(&case(&["show", &case_id], &unit));
    let as_office = stdout(&case(&["show", &case_id], &office));
    let audit = stdout(&case(&["audit", &case_id], &office));

    assert_eq!(opened["regime"], "172/2025");
    assert!(as_unit.contains("Dự thảo"), "{as_unit}");
    assert!(
        !as_unit.contains("Chậm triển khai"),
        "a unit sees no content: {as_unit}"
    );
    assert!(as_office.contains("Chậm triển khai"), "{as_office}");
    assert!(
        as_office.contains("Nghị định") || as_office.contains("172/2025"),
        "{as_office}"
    );
    let readers: Vec<&str> = audit
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(2))
        .collect();
    assert_eq!(readers, vec!["unit", "office"], "{audit}");
    let mode = |path: &Path| {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(data.path()), 0o700, "the data directory is owner-only");
    for db in [
        "assignment.db",
        "reporting.db",
        "progress.db",
        "escalation.db",
        "discipline.db",
    ] {
        assert_eq!(mode(&data.path().join(db)), 0o600, "{db} is owner-only");
        let wal = data.path().join(format!("{db}-wal"));
        if wal.exists() {
            assert_eq!(mode(&wal), 0o600, "{db}-wal is owner-only");
        }
    }
}

#[test]
fn the_office_renders_issues_and_lists_the_periodic_report_with_the_cli() {
    let data = tempfile::tempdir().expect("data dir");
    let up = start_up(data.path());
    let endpoint = ["--endpoint", up.assignment.as_str()];
    import_directories(data.path(), &endpoint);
    // `dondoc up` keeps real time: today's report, as a custom range of one day.
    let today = (chrono::Utc::now() + chrono::Duration::hours(7))
        .date_naive()
        .to_string();
    let deadline = (chrono::Utc::now() + chrono::Duration::days(30))
        .date_naive()
        .to_string();
    assign_to_sxd(data.path(), &endpoint, &today, &deadline, &[]);
    let office = stdout(&dondoc(data.path(), &["token", "--role", "office"]))
        .trim()
        .to_owned();
    let report = |args: &[&str]| {
        let mut all = vec!["report"];
        all.extend_from_slice(args);
        all.extend_from_slice(&[
            "--reporting-endpoint",
            up.reporting.as_str(),
            "--token",
            office.as_str(),
        ]);
        dondoc(data.path(), &all)
    };
    let range = ["--from", today.as_str(), "--to", today.as_str()];

    // The board reaches the reporting service over NATS: poll until the task is counted.
    let deadline_at = Instant::now() + Duration::from_secs(30);
    let json = loop {
        let out = report(&[&range[..], &["--format", "json"]].concat());
        assert!(out.status.success(), "{out:?}");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        if json["all"]["period"]["assigned"] == 1 {
            break json;
        }
        assert!(Instant::now() < deadline_at, "never counted: {json}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let html_file = data.path().join("bao-cao.html");
    let html = report(
        &[
            &range[..],
            &["--format", "html", "-o", html_file.to_str().expect("utf-8")],
        ]
        .concat(),
    );
    let without_out = report(&[&range[..], &["--format", "xlsx"]].concat());
    let issued = report(&[&["issue"][..], &range, &["--symbol", "BC-VP"]].concat());
    let listed = report(&["issued"]);

    assert_eq!(json["units"][0]["key"], "SXD");
    assert!(html.status.success(), "{html:?}");
    let page = std::fs::read_to_string(&html_file).expect("the HTML");
    assert!(page.contains("Độc lập - Tự do - Hạnh phúc"));
    assert!(!without_out.status.success());
    assert!(
        String::from_utf8_lossy(&without_out.stderr).contains("--out"),
        "{without_out:?}"
    );
    assert!(issued.status.success(), "{issued:?}");
    assert!(
        stdout(&issued).contains("01/BC-VP"),
        "the first outgoing document of the year: {}",
        stdout(&issued)
    );
    let listed = stdout(&listed);
    assert!(
        listed.starts_with("01/BC-VP\t") && listed.contains("outgoing-"),
        "{listed}"
    );
}
