//! The objects federation code fetches and serves, bound to `activitypub_federation`'s traits.

pub mod instance_actor;
pub mod local_actor;
pub mod post;
pub mod remote_actor;
pub mod remote_post;
pub mod signatories;
