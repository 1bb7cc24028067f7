//! The HTTPS client every AWS call goes through: rustls on ring (the SDK's default brings
//! aws-lc-sys, a C build with cmake), made once per fetch so that the hops of a chain share
//! its connection pool and root store instead of each setting up its own.

pub use aws_sdk_sts::config::SharedHttpClient;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

/// A new client. Not one for the whole process: its pooled connections belong to the tokio
/// runtime that opened them, and a long-lived rolesh (the credentials server) runs one
/// runtime per renewal.
pub fn https() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(CryptoMode::Ring)).build_https()
}
