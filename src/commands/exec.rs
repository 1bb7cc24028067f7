//! `rolesh exec`: one command with the session's credentials.

use crate::cli::ExecArgs;
use crate::env::Env;
use crate::error::Error;
use crate::ledger::Kind;

pub fn run(args: ExecArgs, env: &Env) -> Result<i32, Error> {
    if args.serve.server {
        return super::served::run(Kind::Exec, &args.profile, &args.session, &args.serve, &args.command, env);
    }
    let session = super::session_for(&args.profile, &args.session, env)?;
    super::run_with_session(Kind::Exec, &session, &args.command, env)
}
