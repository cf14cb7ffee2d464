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

/// `google.protobuf.Timestamp` with the proto3 JSON mapping as the protobuf spec gives it: RFC 3339
/// in UTC with a `Z` and 0, 3, 6 or 9 fractional digits (`2026-12-03T05:41:26.806652570Z`), where
/// pbjson-types writes `+00:00`. Reads any RFC 3339 timestamp (other offsets are converted to UTC).
#[derive(Clone, Copy, PartialEq, Eq, Hash, ::prost::Message)]
pub struct Timestamp {
    /// Seconds since the Unix epoch (1970-01-01T00:00:00Z).
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds of the second, 0 to 999,999,999.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let nanos = u32::try_from(self.nanos).map_err(serde::ser::Error::custom)?;
        let time = chrono::DateTime::from_timestamp(self.seconds, nanos)
            .ok_or_else(|| serde::ser::Error::custom("timestamp out of range"))?;
        serializer.serialize_str(&time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let time = chrono::DateTime::parse_from_rfc3339(&text).map_err(|e| {
            serde::de::Error::custom(format!(
                "`{}` is not an RFC 3339 timestamp such as 2026-12-03T10:00:00Z ({e})",
                crate::error::echo(&text)
            ))
        })?;
        Ok(Timestamp {
            seconds: time.timestamp(),
            nanos: time.timestamp_subsec_nanos() as i32,
        })
    }
}
