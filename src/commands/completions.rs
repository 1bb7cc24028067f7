use crate::cli::CompletionsArgs;
use crate::error::Error;

pub fn run(args: CompletionsArgs) -> Result<i32, Error> {
    super::print(&crate::completions::script(args.shell)?)?;
    Ok(0)
}
