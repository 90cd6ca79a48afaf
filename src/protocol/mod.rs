//! The wire protocol: request decoding and reply encoding.

pub mod decode;
pub mod reply;

pub use decode::{Limits, RequestDecoder};
pub use reply::{Encoder, Reply, OK};
