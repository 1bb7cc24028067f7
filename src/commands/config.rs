use crate::cli::{AddRoleArgs, ConfigCommand};
use crate::env::Env;
use crate::error::{Error, print_warnings};
use crate::profile::Config;
use crate::profile::edit::{self, Kind, Line};
use crate::profile::resolve::validate_role_arn;

pub fn run(cmd: ConfigCommand, env: &Env) -> Result<i32, Error> {
    match cmd {
        ConfigCommand::AddRole(args) => add_role(args, env),
    }
}

/// Appends `[profile NAME]` as the AWS docs write it by hand, after checking what can be
/// checked offline: the ARN's shape and that the source exists.
fn add_role(args: AddRoleArgs, env: &Env) -> Result<i32, Error> {
    edit::validate_name(&args.name)?;
    validate_role_arn(&args.role_arn, &args.name)?;
    let cfg = Config::load(env)?;
    let mut lines = vec![Line::Key("role_arn", args.role_arn.clone())];
    match (&args.source_profile, &args.credential_source) {
        (Some(source), _) => {
            if cfg.get(source).is_none() {
                return Err(Error::UnknownProfile {
                    name: source.clone(),
                    suggestions: cfg.closest(source),
                    files: cfg.files(),
                });
            }
            lines.push(Line::Key("source_profile", source.clone()));
        }
        // clap allows only Environment, Ec2InstanceMetadata and EcsContainer.
        (None, Some(source)) => lines.push(Line::Key("credential_source", source.clone())),
        (None, None) => return Err(Error::Usage("give --source-profile or --credential-source".into())),
    }
    let optional = [
        ("mfa_serial", args.mfa_serial.clone()),
        ("duration_seconds", args.duration.map(|d| d.to_string())),
        ("external_id", args.external_id.clone()),
        ("role_session_name", args.session_name.clone()),
        ("region", args.region.clone()),
    ];
    lines.extend(optional.into_iter().filter_map(|(k, v)| v.map(|v| Line::Key(k, v))));
    if cfg.get(&args.name).is_some() && !args.force {
        return Err(exists(&args.name, &cfg.files()));
    }
    let path = &cfg.config_path;
    super::refuse_private_copy(path, env)?;
    let ((), warnings) = edit::edit_file(path, false, |doc| {
        // Checked again under the lock: another process may have added it meanwhile.
        if doc.values(Kind::Config, &args.name, path)?.is_some() && !args.force {
            return Err(exists(&args.name, &path.display().to_string()));
        }
        doc.upsert(Kind::Config, &args.name, &lines, path)
    })?;
    print_warnings(&warnings);
    super::say(&format!(
        "wrote profile `{}` to {}; try `rolesh exec {} -- aws sts get-caller-identity`",
        args.name,
        path.display(),
        args.name
    ));
    Ok(0)
}

fn exists(name: &str, files: &str) -> Error {
    Error::config(format!("profile `{name}` already exists in {files}; pass --force to replace its section"))
}
