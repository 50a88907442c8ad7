//! `sluss backup create|restore`: the data directory as one directory that can be kept
//! elsewhere and put back. The database is copied consistently while the service runs
//! (`VACUUM INTO`); the other state (the keys, the self-signed certificate) is copied as it
//! is; a MANIFEST lists every file with its SHA-256, and restoring checks it, refuses to
//! overwrite a data directory that has a database, and walks the audit chain afterwards.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use sluss_signaling::store::{AuditEvent, ChainCheck, Store};

use crate::config::Config;
use crate::BackupCommand;

type BoxError = Box<dyn std::error::Error>;

const MANIFEST: &str = "MANIFEST";

pub fn run(config: &Config, command: BackupCommand) -> std::process::ExitCode {
    crate::state::run_command(async {
        match command {
            BackupCommand::Create { to } => create(config, &to).await,
            BackupCommand::Restore { from } => restore(config, &from).await,
        }
        .map(|()| std::process::ExitCode::SUCCESS)
    })
}

/// The database file's name and its companions (the write-ahead log), never copied raw.
fn database_files(config: &Config) -> Vec<PathBuf> {
    let db = config.sqlite_path();
    let mut wal = db.clone().into_os_string();
    wal.push("-wal");
    let mut shm = db.clone().into_os_string();
    shm.push("-shm");
    vec![db, wal.into(), shm.into()]
}

async fn create(config: &Config, to: &Path) -> Result<(), BoxError> {
    if to.exists() && std::fs::read_dir(to)?.next().is_some() {
        return Err(format!(
            "{} is not empty: a backup goes into a new directory",
            to.display()
        )
        .into());
    }
    let store = crate::state::open_existing(config).await?;
    make_private_dir(to)?;
    let db_name = config
        .sqlite_path()
        .file_name()
        .ok_or("store.sqlite_path has no file name")?
        .to_owned();
    store.backup_into(&to.join(&db_name)).await?;
    let data_dir = &config.server.data_dir;
    let skip = database_files(config);
    let mut files = vec![PathBuf::from(&db_name)];
    for path in walk(data_dir)? {
        // Not the live database, and not the backup itself if it is made inside.
        if skip.contains(&path) || path.starts_with(to) {
            continue;
        }
        let relative = path.strip_prefix(data_dir)?.to_owned();
        let target = to.join(&relative);
        if let Some(parent) = target.parent() {
            make_private_dir(parent)?;
        }
        crate::tls::write_private(&target, &std::fs::read(&path)?)?;
        files.push(relative);
    }
    let manifest = manifest(to, &files)?;
    std::fs::write(to.join(MANIFEST), manifest)?;
    let now = sluss_signaling::unix_now();
    store
        .audit(
            AuditEvent {
                event: "backup_made",
                actor: Some("cli".into()),
                details: serde_json::json!({ "files": files.len() }),
                ..AuditEvent::default()
            },
            now,
        )
        .await?;
    store.close().await;
    println!(
        "backup of {} in {} ({} files)",
        data_dir.display(),
        to.display(),
        files.len()
    );
    Ok(())
}

async fn restore(config: &Config, from: &Path) -> Result<(), BoxError> {
    let data_dir = &config.server.data_dir;
    if config.sqlite_path().exists() {
        return Err(format!(
            "{} already has a database: stop the service and move the old data directory \
             away first (a restore never overwrites one)",
            data_dir.display()
        )
        .into());
    }
    let listed = std::fs::read_to_string(from.join(MANIFEST)).map_err(|e| {
        format!(
            "{}: {e} (is this a Sluss backup?)",
            from.join(MANIFEST).display()
        )
    })?;
    let mut files = Vec::new();
    for line in listed
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (hash, name) = line
            .split_once("  ")
            .ok_or("MANIFEST: a line is not `hash  path`")?;
        let relative = PathBuf::from(name);
        if relative.is_absolute() || relative.components().any(|c| c.as_os_str() == "..") {
            return Err(format!("MANIFEST names a path outside the backup: {name}").into());
        }
        let content = std::fs::read(from.join(&relative))?;
        if hex::encode(Sha256::digest(&content)) != hash {
            return Err(format!(
                "{name} does not match the MANIFEST: the backup was changed or damaged"
            )
            .into());
        }
        files.push((relative, content));
    }
    make_private_dir(data_dir)?;
    let db_name = config.sqlite_path();
    for (relative, content) in &files {
        let target = if Some(relative.as_os_str()) == db_name.file_name() {
            db_name.clone()
        } else {
            data_dir.join(relative)
        };
        if let Some(parent) = target.parent() {
            make_private_dir(parent)?;
        }
        crate::tls::write_private(&target, content)?;
    }
    let store = Store::open(&db_name).await?;
    let check = store.verify_audit_chain().await?;
    store.close().await;
    match check {
        ChainCheck::Intact { entries } => {
            println!(
                "restored {} files into {}; the audit chain is intact ({entries} entries)",
                files.len(),
                data_dir.display()
            );
            Ok(())
        }
        ChainCheck::BrokenAt { seq } => {
            Err(format!("restored, but the audit chain is broken at entry {seq}").into())
        }
    }
}

/// Every regular file under `dir`, depth first.
fn walk(dir: &Path) -> Result<Vec<PathBuf>, BoxError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    Ok(out)
}

fn manifest(root: &Path, files: &[PathBuf]) -> Result<String, BoxError> {
    let mut out = format!(
        "# Sluss {} backup, {}; restore with: sluss backup restore --from <this directory>\n",
        env!("CARGO_PKG_VERSION"),
        crate::tokens::utc(sluss_signaling::unix_now())
    );
    for relative in files {
        let content = std::fs::read(root.join(relative))?;
        out.push_str(&format!(
            "{}  {}\n",
            hex::encode(Sha256::digest(&content)),
            relative.display()
        ));
    }
    Ok(out)
}

#[cfg(unix)]
fn make_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn make_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}
