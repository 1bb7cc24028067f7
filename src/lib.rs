//! rolesh: run commands and shells with AWS STS AssumeRole credentials.
//!
//! Data flows one way: `profile` (config files → plan) → `session` (plan → credentials,
//! cached) → `child` / `commands` (credentials → a process's environment or output).
//! `docs/ARCHITECTURE.md` draws the layers.

pub mod autodir;
pub mod child;
pub mod cli;
pub mod commands;
pub mod completions;
pub mod credentials;
pub mod display;
pub mod doctor;
pub mod env;
pub mod error;
pub mod fsutil;
pub mod ledger;
pub mod paths;
pub mod profile;
pub mod server;
pub mod session;
pub mod shell;
pub mod sys;
pub mod values;
