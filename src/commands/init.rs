use crate::cli::InitArgs;
use crate::error::Error;
use crate::shell::init;

pub fn run(args: InitArgs) -> Result<i32, Error> {
    // The absolute path, so the hook keeps working whatever PATH later holds (starship does
    // the same); a bare name only if the OS cannot say where rolesh is.
    let exe = std::env::current_exe().map(|p| p.into_os_string()).unwrap_or_else(|_| "rolesh".into());
    super::print_bytes(&init::hook(args.shell, &exe))?;
    Ok(0)
}
