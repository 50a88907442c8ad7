//! The commands beside `serve` use the service's database, never a new one: pointed at a
//! configuration whose data directory holds no database, `api-token create` and `audit
//! verify` stop with a message that says so, and nothing is made. `SLUSS_CONFIG` works as
//! `--config` does. Once the service's database exists, the same command writes there.

use std::process::Command;

fn sluss() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sluss"))
}

#[test]
fn commands_never_make_a_new_empty_database() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("state");
    let config = dir.path().join("sluss.toml");
    std::fs::write(
        &config,
        format!("[server]\ndata_dir = \"{}\"\n", data.display()),
    )
    .unwrap();
    let token = |with_env: bool| {
        let mut command = sluss();
        command.args([
            "api-token",
            "create",
            "--name",
            "Bokning",
            "--scope",
            "meetings:write",
        ]);
        if with_env {
            command.env("SLUSS_CONFIG", &config);
        } else {
            command.arg("--config").arg(&config);
        }
        command.current_dir(dir.path()).output().unwrap()
    };
    for with_env in [false, true] {
        let out = token(with_env);
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "refused ({with_env}): {said}");
        assert!(said.contains("no database at"), "{said}");
        assert!(
            said.contains(&data.display().to_string()),
            "names the place: {said}"
        );
    }
    let out = sluss()
        .args(["audit", "verify", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no database at"));
    assert!(!data.exists(), "no data directory was made");
    assert!(
        !dir.path().join("data").exists(),
        "nothing in the current directory either"
    );

    // Once the service has made its database, the same command writes the token into it.
    std::fs::create_dir_all(&data).unwrap();
    let db = data.join("sluss.db");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    drop(
        runtime
            .block_on(sluss_signaling::store::Store::open(&db))
            .unwrap(),
    );
    let out = token(true);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(!printed.trim().is_empty(), "the token is shown once");
    assert!(
        !dir.path().join("data").exists(),
        "still nothing in the current directory"
    );
    let token_id = printed
        .lines()
        .find_map(|l| l.strip_prefix("id:"))
        .map(str::trim)
        .expect("the id printed")
        .to_owned();
    let out = sluss()
        .args(["api-token", "list", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let row = listed
        .lines()
        .find(|l| l.starts_with(&token_id))
        .expect("the token listed");
    assert!(
        row.contains("live") && row.contains("meetings:write") && row.ends_with("Bokning"),
        "{row}"
    );
    let secret = printed
        .lines()
        .find_map(|l| l.strip_prefix("token:"))
        .unwrap()
        .trim();
    assert!(!listed.contains(secret), "never the token itself");
}
