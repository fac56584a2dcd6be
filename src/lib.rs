//! Broadside: an organization's federated publishing service.
//!
//! Layers, and the one direction they call in: `cli` and `web` → `federation` → `domain`,
//! with `store` holding every SQL statement. `app` wires them into a running service.

pub mod app;
pub mod cli;
pub mod config;
pub mod domain;
pub mod editorial;
pub mod export;
pub mod federation;
pub mod import;
pub mod media;
pub mod store;
pub mod web;
