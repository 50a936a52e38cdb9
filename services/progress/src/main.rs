//! `dondoc-progress`: the progress service as its own process (one container in
//! docker-compose). Settings come from built-in defaults, then `--config FILE`, then
//! `DONDOC_*` environment variables (e.g. `DONDOC_PROGRESS__DATABASE_URL`).

use dondoc_progress::{Application, ProgressSettings};
use dondoc_runtime::clock::SystemClock;
use dondoc_runtime::service::{
    AuthSettings, config_file_from_args, load_verifier, shutdown_signal, watch_keys,
};
use dondoc_runtime::telemetry::TelemetrySettings;
use serde::Deserialize;

const DEFAULTS: &str = r#"
[progress]
database_url = "sqlite://data/progress.db"
nats_url = "nats://127.0.0.1:4222"
listen = "0.0.0.0:50053"

[auth]
public_key_path = "data/keys/dev-ed25519.pub.pem"
"#;

#[derive(Deserialize)]
struct Settings {
    progress: ProgressSettings,
    auth: AuthSettings,
    #[serde(default)]
    telemetry: TelemetrySettings,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings: Settings =
        dondoc_runtime::config::load(config_file_from_args().as_deref(), DEFAULTS)?;
    let _telemetry = dondoc_runtime::telemetry::init("dondoc-progress", &settings.telemetry)?;
    let verifier = load_verifier(&settings.auth)?;
    // Keys added or removed in the key directory take effect without a restart (rotation).
    let _keys = watch_keys(verifier.clone(), settings.auth.clone());
    let app = Application::build(&settings.progress, verifier, SystemClock::shared()).await?;
    shutdown_signal().await;
    app.stop().await;
    Ok(())
}
