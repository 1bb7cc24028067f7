//! `rolesh login`: IAM Identity Center's device-authorization login, writing the token where
//! the AWS CLI keeps it, so either tool's login serves both.

use crate::cli::LoginArgs;
use crate::credentials::rfc3339;
use crate::env::Env;
use crate::error::Error;
use crate::profile::Config;
use crate::session::{self, sso};

pub fn run(args: LoginArgs, env: &Env) -> Result<i32, Error> {
    let cfg = Config::load(env)?;
    let login = sso::Login::named(&cfg, env, &args.name)?;
    let expires = session::runtime()?.block_on(sso::login(&login, env, |code| {
        super::say(&format!("to sign in to {}, approve the code {} at {}", login.start_url, code.user_code, code.url));
        if !args.no_browser
            && let Err(e) = super::open_in_browser(code.url.as_ref(), env)
        {
            super::say(&format!("{}; open the address yourself", e.render()));
        }
    }))?;
    super::say(&format!("logged in to `{}` until {}", login.target, rfc3339(expires)));
    Ok(0)
}
