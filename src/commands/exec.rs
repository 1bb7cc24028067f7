//! `rolesh exec`: one command with the session's credentials.

use crate::cli::ExecArgs;
use crate::env::Env;
use crate::error::Error;
use crate::ledger::Kind;

pub fn run(args: ExecArgs, env: &Env) -> Result<i32, Error> {
    let profile = super::pick::profile_or_pick(args.profile.clone(), "exec", env)?;
    if args.serve.server {
        return super::served::run(Kind::Exec, &profile, &args.session, &args.serve, args.argv(), env);
    }
    let session = super::session_for(&profile, &args.session, env)?;
    super::run_with_session(Kind::Exec, &session, args.argv(), env)
}
