use crate::cli::ExecArgs;
use crate::env::Env;
use crate::error::Error;
use crate::session::ledger::{self, Entry, Kind};
use crate::session::new_session_id;

pub fn run(args: ExecArgs, env: &Env) -> Result<i32, Error> {
    let session = super::session_for(&args.profile, &args.session, env)?;
    let id = new_session_id();
    // rolesh waits for the command, so its own pid stands for the session; the registration
    // is dropped (deregistered) when the command ends, however it ends.
    let _registered = ledger::track(env, Entry::new(&id, Kind::Exec, &session, std::process::id(), env));
    crate::child::run(&args.command, &session.environment(&id))
}
