//! Compiles `dondoc/v1/*.proto` with protox (pure Rust), so building dondoc needs no system
//! `protoc`. The encoded descriptor set is written next to the generated code for gRPC server
//! reflection.

use std::path::PathBuf;

use prost::Message as _;

const PROTOS: &[&str] = &[
    "dondoc/v1/common.proto",
    "dondoc/v1/events.proto",
    "dondoc/v1/assignment.proto",
    "dondoc/v1/reporting.proto",
    "dondoc/v1/diagnostics.proto",
    "dondoc/v1/progress.proto",
    "dondoc/v1/escalation.proto",
    "dondoc/v1/discipline.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=dondoc");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let file_descriptors = protox::compile(PROTOS, ["."])?;
    std::fs::write(
        out_dir.join("dondoc_descriptor.bin"),
        file_descriptors.encode_to_vec(),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(file_descriptors)?;
    Ok(())
}
