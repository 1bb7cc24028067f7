//! rolesh: run commands and shells with AWS STS AssumeRole credentials.
//!
//! Data flows one way: `profile` (config files → plan) → `session` (plan → credentials,
//! cached) → `child` / `commands` (credentials → a process's environment or output).

pub mod child;
pub mod cli;
pub mod commands;
pub mod completions;
pub mod env;
pub mod error;
pub mod fsutil;
pub mod paths;
pub mod profile;
pub mod session;
pub mod shell;
