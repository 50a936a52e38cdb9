//! dondoc's cross-service test binary: the services spawned together with their own
//! nats-server and driven through their gRPC APIs (`flows`), and the deployment files
//! validated (`deploy`), since no Docker engine runs where the tests do.

mod architecture;
mod cluster;
mod deploy;
mod discipline;
mod escalation;
mod faults;
mod flows;
mod helm;
mod hostile;
mod office;
mod progress;
mod reporting;
mod tls;
mod tracing;
