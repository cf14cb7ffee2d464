//! Generated protobuf and gRPC code for `proto/rubric/v1` (tonic-prost-build via `build.rs`).
//!
//! Only [`crate::service`] converts between these types and the engine's; nothing else touches
//! them. The `.proto` file is the documentation of every message and field.

#![allow(missing_docs, clippy::all, clippy::pedantic)]

tonic::include_proto!("rubric.v1");
// The proto3 JSON mapping of the messages (pbjson-build): `Serialize` and `Deserialize` for every
// message and enum but `ClassifyStreamResponse`, which has no HTTP route.
include!(concat!(env!("OUT_DIR"), "/rubric.v1.serde.rs"));

/// The encoded `FileDescriptorSet` of `proto/` (with its imports), for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("rubric_descriptor");
