//! MFA codes: from `--mfa-token`, else asked on the terminal itself (not stdin, so pipes
//! into the child keep working). No terminal and no flag is an error, never a hang.

use std::io::{BufRead, BufReader, Write};

use crate::error::Error;

/// A TOTP code is six digits; checked before any network call.
pub fn validate(code: &str) -> Result<(), Error> {
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Error::mfa(None, "the MFA code must be the 6 digits your device shows"))
    }
}

pub struct Codes {
    given: Option<String>,
    /// Whether the terminal may be asked (never by the credentials server, whose command owns
    /// the terminal).
    ask: bool,
}

impl Codes {
    pub fn new(given: Option<String>) -> Self {
        Codes { given, ask: true }
    }

    /// No code at all: whatever needs one fails (the credentials server renewing a session).
    pub fn none() -> Self {
        Codes { given: None, ask: false }
    }

    /// The flag's code the first time; the terminal after that (a TOTP code works once).
    pub fn take(&mut self, serial: &str, profile: &str) -> Result<String, Error> {
        match self.given.take() {
            Some(code) => Ok(code),
            None if self.ask => ask(serial, profile),
            None => Err(Error::mfa(
                Some(profile),
                format!(
                    "renewing profile `{profile}` needs a new MFA code for {serial}, which is not asked for while a command runs; run the command again"
                ),
            )),
        }
    }
}

fn ask(serial: &str, profile: &str) -> Result<String, Error> {
    let no_tty = |_| {
        Error::mfa(
            Some(profile),
            format!(
                "profile `{profile}` needs an MFA code for {serial} and there is no terminal to ask on; pass --mfa-token CODE"
            ),
        )
    };
    let (input, mut output) = crate::sys::terminal().map_err(no_tty)?;
    // The serial comes from the config: never raw to the terminal.
    let shown = crate::display::escape(serial);
    write!(output, "MFA code for {shown}: ").and_then(|_| output.flush()).map_err(no_tty)?;
    let mut line = String::new();
    BufReader::new(input).read_line(&mut line).map_err(no_tty)?;
    if line.is_empty() {
        return Err(Error::mfa(Some(profile), format!("no MFA code entered for {serial}; pass --mfa-token CODE")));
    }
    let code = line.trim().to_string();
    validate(&code)?;
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_six_digit_codes_pass() {
        assert!(validate("123456").is_ok());
        for bad in ["12345", "1234567", "12345a", " 123456", "", "１２３４５６"] {
            assert!(matches!(validate(bad), Err(Error::Mfa { .. })), "{bad:?}");
        }
    }

    #[test]
    fn the_given_code_is_used_once() {
        let mut codes = Codes::new(Some("123456".into()));
        assert_eq!(codes.take("arn:mfa", "p").unwrap(), "123456");
        assert!(codes.given.is_none());
    }
}
