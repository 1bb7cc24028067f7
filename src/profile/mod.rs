//! AWS profiles: reading the shared files ([`config`]) and resolving a profile into a plan
//! of STS calls ([`resolve`]).

pub mod config;
pub mod edit;
pub mod resolve;

pub use config::{Config, Profile};
pub use resolve::{Hop, Overrides, Plan, Resolved, Source, SsoRole, Step, resolve};
