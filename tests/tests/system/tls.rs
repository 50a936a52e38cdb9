//! Encryption in transit, as the options an operator turns on: a service told the CA of a
//! NATS server that requires TLS connects over TLS and publishes, and refuses a server its CA
//! did not sign; a service whose database URL says `sslmode=verify-full&sslrootcert=…` talks
//! to PostgreSQL over TLS only with a server that CA signed for the host it dials.
//! Certificates are made for the test with the `openssl` command (`.ci/run` installs it), as an
//! operator would. PostgreSQL is a private server started here with SSL on and plaintext
//! refused, so the shared CI server's configuration is never touched.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use dondoc_eventsourcing::nats_server::NatsServer;
use dondoc_runtime::service::ServiceSettings;

fn openssl(dir: &Path, args: &[&str]) {
    let made = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run openssl");
    assert!(made.status.success(), "openssl {args:?}: {made:?}");
}

/// A CA and a server certificate it signed for localhost and 127.0.0.1: (ca, cert, key).
fn certificates(dir: &Path, ca_name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let ca_key = format!("{ca_name}.key");
    let ca = format!("{ca_name}.pem");
    openssl(
        dir,
        &[
            &["req", "-x509"][..],
            &ec,
            &["-days", "1", "-subj", &format!("/CN={ca_name}")],
            &["-keyout", &ca_key, "-out", &ca],
        ]
        .concat(),
    );
    openssl(
        dir,
        &[
            &["req"][..],
            &ec,
            &[
                "-subj",
                "/CN=localhost",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
            ],
        ]
        .concat(),
    );
    // 127.0.0.1 only: the PostgreSQL test dials 127.0.0.2 too, which this certificate must
    // not pass for.
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write extensions");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            &ca,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ],
    );
    (dir.join(ca), dir.join("server.pem"), dir.join("server.key"))
}

fn settings(nats_url: String, nats_ca: Option<&Path>) -> ServiceSettings {
    ServiceSettings {
        database_url: "sqlite::memory:".into(),
        database_password_file: None,
        nats_url,
        nats_user: None,
        nats_password_file: None,
        nats_ca_path: nats_ca.map(Path::to_path_buf),
        listen: "127.0.0.1:0".into(),
        tls: None,
        database: Default::default(),
        stream: Default::default(),
        shutdown_drain: Default::default(),
        anchor: None,
    }
}

#[tokio::test]
async fn a_service_given_the_nats_ca_talks_to_nats_over_tls_and_refuses_a_server_it_did_not_sign() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ca, cert, key) = certificates(dir.path(), "dondoc-test-ca");
    let stranger = tempfile::tempdir().expect("tempdir");
    let (other_ca, _, _) = certificates(stranger.path(), "another-ca");
    let server = NatsServer::start_with_tls(&cert, &key)
        .await
        .expect("nats-server with TLS");

    let client = settings(server.url(), Some(&ca))
        .connect_nats("dondoc-tls-test")
        .await
        .expect("client");
    let published = tokio::time::timeout(Duration::from_secs(20), async {
        client
            .publish("dondoc.tls.check", "xin chào".into())
            .await?;
        client.flush().await?;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    })
    .await;
    let impostor = settings(server.url(), Some(&other_ca))
        .connect_nats("dondoc-tls-impostor")
        .await
        .expect("client");
    // It retries in the background for ever; within a few seconds it must still not be in.
    let let_in = tokio::time::timeout(Duration::from_secs(3), impostor.flush()).await;

    assert!(matches!(published, Ok(Ok(()))), "{published:?}");
    assert_eq!(
        client.connection_state(),
        async_nats::connection::State::Connected
    );
    assert!(
        !matches!(let_in, Ok(Ok(()))),
        "a server signed by another CA is refused"
    );
    assert_ne!(
        impostor.connection_state(),
        async_nats::connection::State::Connected
    );
}

/// A PostgreSQL server of this test's own: a fresh cluster in a temporary directory, listening
/// on 127.0.0.1 and 127.0.0.2, SSL on with the given certificate, and pg_hba admitting TCP
/// clients only over SSL (`hostssl`), so a plaintext connection is refused rather than quietly
/// allowed. Stopped when dropped.
struct PrivatePostgres {
    bin: PathBuf,
    data: PathBuf,
    as_postgres: bool,
    port: u16,
    _dir: tempfile::TempDir,
}

impl PrivatePostgres {
    /// The newest installed server's programs (Debian: /usr/lib/postgresql/<major>/bin).
    fn binaries() -> Option<PathBuf> {
        let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|entry| {
                let entry = entry.ok()?;
                let major = entry.file_name().to_str()?.parse().ok()?;
                let bin = entry.path().join("bin");
                bin.join("initdb").exists().then_some((major, bin))
            })
            .collect();
        found.sort();
        found.pop().map(|(_, bin)| bin)
    }

    /// A server program as a command, run as the `postgres` user when the test runs as root:
    /// PostgreSQL refuses to run as root, and CI runs as root.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        }
    }

    fn run(&self, program: &str, args: &[&std::ffi::OsStr]) {
        let output = self
            .command(program)
            .args(args)
            .output()
            .expect("run a PostgreSQL program");
        assert!(
            output.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn start(cert: &Path, key: &Path) -> Option<PrivatePostgres> {
        let Some(bin) = Self::binaries() else {
            assert!(
                std::env::var("DONDOC_REQUIRE_POSTGRES").is_err(),
                "no PostgreSQL server programs under /usr/lib/postgresql"
            );
            return None;
        };
        let uid = Command::new("id").arg("-u").output().expect("id -u");
        let as_postgres = String::from_utf8_lossy(&uid.stdout).trim() == "0";
        let dir = tempfile::Builder::new()
            .prefix("dondoc-pg-tls-")
            .tempdir()
            .expect("tempdir");
        let data = dir.path().join("data");
        let owner = |path: &Path| {
            if as_postgres {
                let ids = |flag: &str| {
                    let out = Command::new("id").args([flag, "postgres"]).output();
                    let out = out.expect("id postgres");
                    String::from_utf8_lossy(&out.stdout)
                        .trim()
                        .parse::<u32>()
                        .ok()
                };
                std::os::unix::fs::chown(path, ids("-u"), ids("-g")).expect("chown to postgres");
            }
        };
        owner(dir.path());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let server = PrivatePostgres {
            bin,
            data: data.clone(),
            as_postgres,
            port,
            _dir: dir,
        };
        server.run(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                "postgres".as_ref(),
                "-A".as_ref(),
                "trust".as_ref(),
                "--no-sync".as_ref(),
            ],
        );
        for (from, to) in [(cert, "server.pem"), (key, "server.key")] {
            std::fs::copy(from, data.join(to)).expect("copy the server certificate");
            owner(&data.join(to));
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(data.join(to), std::fs::Permissions::from_mode(0o600))
                .expect("chmod the key");
        }
        let socket_dir = data
            .parent()
            .expect("data has a parent")
            .display()
            .to_string();
        let mut conf = std::fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))
            .expect("open postgresql.conf");
        use std::io::Write as _;
        writeln!(
            conf,
            "port = {port}\nlisten_addresses = '127.0.0.1,127.0.0.2'\n\
             unix_socket_directories = '{socket_dir}'\nfsync = off\n\
             ssl = on\nssl_cert_file = 'server.pem'\nssl_key_file = 'server.key'"
        )
        .expect("write postgresql.conf");
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.0/8 trust\n",
        )
        .expect("write pg_hba.conf");
        let log = data.join("server.log");
        server.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-w".as_ref(),
                "-t".as_ref(),
                "60".as_ref(),
                "start".as_ref(),
            ],
        );
        Some(server)
    }

    /// The URL of its `postgres` database on `host`, with `tls` as the query.
    fn url(&self, host: &str, tls: &str) -> String {
        format!("postgres://postgres@{host}:{}/postgres?{tls}", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        // Best effort: a panic in the test must not hide behind a failed stop.
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "stop"])
            .output();
    }
}

/// Opens the database as a service does (its settings, `open_database`), and asks the server
/// whether this connection is encrypted; the error text when it cannot connect.
async fn open_and_ask_if_encrypted(database_url: String) -> Result<bool, String> {
    let mut settings = settings("nats://127.0.0.1:4222".into(), None);
    settings.database_url = database_url;
    let database = settings
        .open_database("the test database")
        .await
        .map_err(|error| format!("{error:#}"))?;
    let encrypted: bool =
        sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(database.pool())
            .await
            .map_err(|error| error.to_string())?;
    database.close().await;
    Ok(encrypted)
}

#[tokio::test]
async fn a_service_whose_database_url_asks_for_verify_full_uses_tls_with_the_server_its_ca_signed()
{
    let dir = tempfile::tempdir().expect("tempdir");
    let (ca, cert, key) = certificates(dir.path(), "dondoc-test-ca");
    let stranger = tempfile::tempdir().expect("tempdir");
    let (other_ca, _, _) = certificates(stranger.path(), "another-ca");
    let Some(server) = PrivatePostgres::start(&cert, &key) else {
        return;
    };
    let verify_full = |ca: &Path| format!("sslmode=verify-full&sslrootcert={}", ca.display());

    let trusted = open_and_ask_if_encrypted(server.url("127.0.0.1", &verify_full(&ca))).await;
    let plaintext = open_and_ask_if_encrypted(server.url("127.0.0.1", "sslmode=disable")).await;
    let foreign_ca =
        open_and_ask_if_encrypted(server.url("127.0.0.1", &verify_full(&other_ca))).await;
    // 127.0.0.2 is the same server, but the certificate names only 127.0.0.1 and localhost:
    // verify-full checks the name, verify-ca (the chain only) does not.
    let wrong_name = open_and_ask_if_encrypted(server.url("127.0.0.2", &verify_full(&ca))).await;
    let chain_only = open_and_ask_if_encrypted(server.url(
        "127.0.0.2",
        &format!("sslmode=verify-ca&sslrootcert={}", ca.display()),
    ))
    .await;

    assert_eq!(trusted, Ok(true), "over TLS, checked against the CA");
    let refused = plaintext.expect_err("plaintext is refused by the server");
    assert!(
        refused.contains("pg_hba.conf") || refused.contains("encryption"),
        "{refused}"
    );
    assert!(
        foreign_ca.is_err(),
        "a CA that did not sign the server is refused: {foreign_ca:?}"
    );
    assert!(
        wrong_name.is_err(),
        "a certificate for another name is refused: {wrong_name:?}"
    );
    assert_eq!(chain_only, Ok(true), "verify-ca checks the chain only");
}
