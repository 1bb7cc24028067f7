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
    pub fn name(self) -> &'static str {
        match self {
            Shell::Bash => "bash",
            Shell::Zsh => "zsh",
            Shell::Fish => "fish",
            Shell::Pwsh => "powershell",
        }
    }
}
