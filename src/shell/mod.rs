//! Every shell's syntax in one place: [`quote`] has one quoting function per shell and
//! [`render`] builds set/unset lines only from them; [`init`] fills in the hook scripts and
//! [`restore`] keeps what `unuse` puts back.

pub mod init;
pub mod quote;
pub mod render;
pub mod restore;

/// A shell rolesh can speak to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    #[value(name = "powershell", alias = "pwsh")]
    Pwsh,
}

impl Shell {
    /// The shell `program` runs (a name as the OS shows it, or a path), where rolesh has a hook
    /// for it: `bash`, `-zsh` (a login shell), `/usr/bin/fish`, `pwsh.exe`.
    pub fn of_program(program: &str) -> Option<Shell> {
        match program_name(program) {
            "bash" => Some(Shell::Bash),
            "zsh" => Some(Shell::Zsh),
            "fish" => Some(Shell::Fish),
            "pwsh" | "powershell" => Some(Shell::Pwsh),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Shell::Bash => "bash",
            Shell::Zsh => "zsh",
            Shell::Fish => "fish",
            Shell::Pwsh => "powershell",
        }
    }
}

/// A program's bare name: no directory, no leading `-` (a login shell's argv\[0\]), no `.exe`.
pub fn program_name(program: &str) -> &str {
    let name = program.rsplit(['/', '\\']).next().unwrap_or(program).trim_start_matches('-');
    name.strip_suffix(".exe").unwrap_or(name)
}
