//! Wire types of dondoc: the gRPC API (`dondoc.v1`) and the events every service stores and
//! publishes. Generated from `proto/dondoc/v1/*.proto` by `build.rs`.
//!
//! This crate owns the *published language* between services and clients. Services convert
//! between these types and their domain types at their edges; domain code never sees them.
//! The rules for changing the messages are in `proto/EVOLUTION.md`.

#![allow(clippy::doc_lazy_continuation, clippy::large_enum_variant)]

/// `dondoc.v1`: every message and service.
pub mod v1 {
    tonic::include_proto!("dondoc.v1");
}

/// Encoded `FileDescriptorSet` of all dondoc protos, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/dondoc_descriptor.bin"));

pub use prost_types::Timestamp;
