use crate::cli::ExecArgs;
use crate::env::Env;
use crate::error::Error;
use crate::session::new_session_id;

pub fn run(args: ExecArgs, env: &Env) -> Result<i32, Error> {
    let session = super::session_for(&args.profile, &args.session, env)?;
    let id = new_session_id();
    crate::child::run(&args.command, &session.environment(&id))
}
