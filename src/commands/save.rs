use crate::cli::SaveArgs;
use crate::credentials::rfc3339;
use crate::env::Env;
use crate::error::{Error, print_warnings};
use crate::profile::Config;
use crate::profile::edit::{self, Kind, Line};

pub fn run(args: SaveArgs, env: &Env) -> Result<i32, Error> {
    let name = match (&args.as_name, args.profile.starts_with("arn:")) {
        (Some(n), _) => n.clone(),
        (None, true) => return Err(Error::Usage("name the profile to write with --as NAME".into())),
        (None, false) => format!("{}-session", args.profile),
    };
    edit::validate_name(&name)?;
    // Get the session first: an MFA prompt must not hold the file's lock.
    let session = super::session_for(&args.profile, &args.session, env)?;
    let c = &session.credentials;
    let Some(token) = &c.session_token else {
        return Err(Error::config(format!(
            "profile `{}` gave long-term keys, not a session; rolesh save writes only temporary credentials",
            args.profile
        )));
    };
    let expires = c.expiration.map(rfc3339).unwrap_or_else(|| "unknown".into());
    let lines = [
        Line::Comment(format!("temporary credentials from `rolesh save {}`, expire {expires}", args.profile)),
        Line::Key("aws_access_key_id", c.access_key_id.clone()),
        Line::Key("aws_secret_access_key", c.secret_access_key.expose().to_string()),
        Line::Key("aws_session_token", token.expose().to_string()),
    ];
    let path = Config::load(env)?.credentials_path;
    super::refuse_private_copy(&path, env)?;
    let ((), warnings) = edit::edit_file(&path, true, |doc| {
        if let Some(values) = doc.values(Kind::Credentials, &name, &path)? {
            let has = |k: &str| values.iter().any(|(key, _)| key == k);
            if has("aws_access_key_id") && !has("aws_session_token") && !args.force {
                return Err(Error::config(format!(
                    "profile `{name}` in {} holds long-term keys; choose another name with --as, or pass --force to replace them",
                    path.display()
                )));
            }
        }
        doc.upsert(Kind::Credentials, &name, &lines, &path)
    })?;
    print_warnings(&warnings);
    super::say(&format!(
        "saved a session of `{}` as profile `{name}` in {} (expires {expires})",
        args.profile,
        path.display()
    ));
    Ok(0)
}
