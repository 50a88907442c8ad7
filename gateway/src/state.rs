//! The service's state for the commands beside `serve` (`api-token`, `audit`): they open the
//! database the service made, never a new empty one. A command pointed at the wrong
//! configuration, or run without one where the service has one, used to make a fresh
//! database in the current directory, where a booking system's token was then written and
//! never seen by the service.

use std::path::Path;

use sluss_signaling::store::Store;

use crate::config::Config;

/// The service's database, when it exists and this user may write it; else a message that
/// says what to do.
pub async fn open_existing(config: &Config) -> Result<Store, String> {
    let path = config.sqlite_path();
    if !path.exists() {
        return Err(format!(
            "no database at {}: is --config (or SLUSS_CONFIG) the service's own configuration? \
             The service makes the database when it first starts",
            path.display()
        ));
    }
    writable(&path)?;
    Store::open(&path)
        .await
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// SQLite opens a file it may not write read-only and fails at the first write; say so first.
fn writable(path: &Path) -> Result<(), String> {
    match std::fs::OpenOptions::new().write(true).open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Err(format!(
            "{} may not be written by this user: run the command as the service's user \
             (sudo -u sluss sluss …)",
            path.display()
        )),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Runs a command's work on a small runtime; an error is printed after `sluss: ` and the exit
/// status is 1.
pub fn run_command<F, E>(work: F) -> std::process::ExitCode
where
    F: std::future::Future<Output = Result<std::process::ExitCode, E>>,
    E: std::fmt::Display,
{
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sluss: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(work) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sluss: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
