//! Every shell's syntax in one place: [`quote`] has one quoting function per shell and
//! [`render`] builds set/unset lines only from them.

pub mod quote;
pub mod render;

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
