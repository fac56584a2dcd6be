//! ActivityStreams JSON exactly as it goes over the wire: serde types, no behaviour.
//! Storage types live in `domain`; converters between the two are named by direction.

pub mod actor;
pub mod collection;
pub mod context;
pub mod post;
