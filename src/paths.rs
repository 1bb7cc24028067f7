//! Where rolesh keeps its files, from the `directories` crate (XDG on Linux).

use crate::error::Error;

pub fn project_dirs() -> Result<directories::ProjectDirs, Error> {
    directories::ProjectDirs::from("", "", "rolesh")
        .ok_or_else(|| Error::Local("could not find the home directory; set HOME".into()))
}
