use crate::cli::InitArgs;
use crate::env::Env;
use crate::error::Error;
use crate::shell::init;

pub fn run(args: InitArgs, env: &Env) -> Result<i32, Error> {
    let shell = match args.shell {
        Some(shell) => shell,
        None => {
            let (shell, why) = init::detect(crate::sys::parent_name().as_deref(), env.get("SHELL"));
            // On stderr: stdout is the hook, which the shell evaluates.
            super::say(&format!(
                "the {} hook ({why}); for another: rolesh init bash|zsh|fish|powershell",
                shell.name()
            ));
            shell
        }
    };
    // The absolute path, so the hook keeps working whatever PATH later holds (starship does
    // the same); a bare name only if the OS cannot say where rolesh is.
    let exe = std::env::current_exe().map(|p| p.into_os_string()).unwrap_or_else(|_| "rolesh".into());
    super::print_bytes(&init::hook_with(shell, &exe, args.auto_dir))?;
    Ok(0)
}
