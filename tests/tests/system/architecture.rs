//! The shape of the workspace, checked: services share only the published contracts
//! (design.md §3.8a), the event-sourcing core depends on no runtime crate, and every service's
//! domain is pure.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Library crates any service may use; everything else under `services/` is a service, except
/// the composition root (`dondoc`), which may use them all.
const SHARED: &[&str] = &[
    "dondoc-proto",
    "dondoc-contracts",
    "dondoc-eventsourcing",
    "dondoc-runtime",
];
const COMPOSITION_ROOT: &str = "dondoc";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace")
        .to_path_buf()
}

/// Every workspace crate under `services/`, with the workspace crates it depends on (any kind
/// of dependency: normal, dev or build), from `cargo metadata`.
fn service_crates() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(workspace_root())
        .output()
        .expect("run cargo metadata");
    assert!(output.status.success(), "{output:?}");
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("cargo metadata is JSON");
    let packages = metadata["packages"].as_array().expect("packages");
    let workspace: BTreeSet<String> = packages
        .iter()
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect();
    let services_dir = workspace_root().join("services");
    packages
        .iter()
        .filter(|p| {
            Path::new(p["manifest_path"].as_str().unwrap_or_default()).starts_with(&services_dir)
        })
        .map(|p| {
            let name = p["name"].as_str().unwrap_or_default().to_owned();
            let deps = p["dependencies"]
                .as_array()
                .expect("dependencies")
                .iter()
                .filter_map(|d| d["name"].as_str())
                .filter(|d| workspace.contains(*d) && *d != name)
                .map(str::to_owned)
                .collect();
            (name, deps)
        })
        .collect()
}

#[test]
fn no_service_crate_depends_on_another_service_crate() {
    let crates = service_crates();
    let services: BTreeSet<&String> = crates
        .keys()
        .filter(|name| !SHARED.contains(&name.as_str()) && name.as_str() != COMPOSITION_ROOT)
        .collect();
    assert!(
        services.len() >= 2,
        "the assignment and reporting services at least: {services:?}"
    );

    let mut offences = Vec::new();
    for service in &services {
        for dependency in &crates[*service] {
            if !SHARED.contains(&dependency.as_str()) {
                offences.push(format!("{service} depends on {dependency}"));
            }
        }
    }

    assert!(
        offences.is_empty(),
        "services share only published contracts (design.md §3.8a): {offences:?}"
    );
}

#[test]
fn the_event_sourcing_core_depends_on_no_runtime_or_service_crate() {
    let crates = service_crates();

    let core = &crates["dondoc-eventsourcing"];
    let contracts = &crates["dondoc-contracts"];

    assert_eq!(
        core,
        &BTreeSet::from(["dondoc-proto".to_owned()]),
        "the core depends only on the protos (dev-dependencies included)"
    );
    assert!(
        contracts
            .iter()
            .all(|d| ["dondoc-proto", "dondoc-eventsourcing"].contains(&d.as_str())),
        "{contracts:?}"
    );
}

/// The Rust files of a directory, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

#[test]
fn every_service_has_the_same_rooms_and_a_pure_domain() {
    let crates = service_crates();
    let services: Vec<&String> = crates
        .keys()
        .filter(|name| !SHARED.contains(&name.as_str()) && name.as_str() != COMPOSITION_ROOT)
        .collect();

    for service in services {
        let dir = workspace_root()
            .join("services")
            .join(service.trim_start_matches("dondoc-"))
            .join("src");
        for room in ["domain", "handlers", "grpc", "consumers"] {
            assert!(
                dir.join(room).is_dir(),
                "{service} has no {room}/ room ({})",
                dir.display()
            );
        }
        assert!(dir.join("startup.rs").is_file(), "{service} has no startup");
        for file in rust_files(&dir.join("domain")) {
            let text = std::fs::read_to_string(&file).expect("read");
            for forbidden in ["sqlx", "tonic", "async_nats", "tokio::", "dondoc_proto"] {
                assert!(
                    !text.contains(forbidden),
                    "{} uses {forbidden}: domain code is pure (no I/O, no wire types)",
                    file.display()
                );
            }
        }
    }
}
