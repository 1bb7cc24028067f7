use clap::CommandFactory;

fn main() {
    rolesh::completions::complete_if_asked(rolesh::cli::Cli::command);
    let cli = rolesh::cli::parse();
    let code = match rolesh::commands::run(cli, &rolesh::env::Env::from_process()) {
        Ok(code) => code,
        Err(rolesh::error::Error::Exit(code)) => code,
        Err(e) => {
            eprintln!("rolesh: {}", e.render());
            e.exit_code()
        }
    };
    // Not std::process::exit: a command that died of ^C makes rolesh die of it too.
    rolesh::child::exit(code);
}
