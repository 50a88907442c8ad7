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

/// `sluss staff ...` against the service's database: the break-glass administrator's
/// enrolment link, the list, and changes that refuse to leave no administrator, each one in
/// the audit trail with the command line as the actor.
#[test]
fn staff_accounts_from_the_command_line() {
    use sluss_signaling::secret::Secret;
    use sluss_signaling::store::Store;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("state");
    std::fs::create_dir_all(&data).unwrap();
    let config = dir.path().join("sluss.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\ndata_dir = \"{}\"\npublic_url = \"https://mote.region.example\"\n",
            data.display()
        ),
    )
    .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store = runtime
        .block_on(Store::open(&data.join("sluss.db")))
        .unwrap();
    let staff = |args: &[&str]| {
        let out = sluss()
            .arg("staff")
            .args(args)
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), said)
    };
    // Break glass: nobody can log in, the operator makes an administrator's link.
    let (ok, said) = staff(&[
        "invite",
        "--username",
        "Ada",
        "--name",
        "Ada Admin",
        "--role",
        "admin",
        "--role",
        "staff",
    ]);
    assert!(ok, "{said}");
    let link = said
        .lines()
        .find(|l| l.starts_with("https://mote.region.example/setup#"))
        .unwrap_or_else(|| panic!("the link: {said}"));
    let token = Secret::from_wire(link.rsplit_once('#').unwrap().1);
    let roles = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let now = sluss_signaling::unix_now();
    runtime.block_on(async {
        let record = store
            .enrollment(&token.hash(), now)
            .await
            .unwrap()
            .expect("a live enrolment");
        assert_eq!(record.username.as_deref(), Some("ada"));
        assert!(store
            .complete_enrollment(
                &token.hash(),
                "u_ada",
                "ada",
                "Ada Admin",
                "x",
                &[0; 20],
                &record.roles,
                now
            )
            .await
            .unwrap());
        let karin = Secret::generate();
        store
            .create_enrollment(
                &karin.hash(),
                Some("karin"),
                Some("Karin"),
                &["staff"],
                now,
                now + 60,
            )
            .await
            .unwrap();
        assert!(store
            .complete_enrollment(
                &karin.hash(),
                "u_karin",
                "karin",
                "Karin",
                "x",
                &[0; 20],
                &roles(&["staff"]),
                now
            )
            .await
            .unwrap());
    });
    let (ok, again) = staff(&[
        "invite",
        "--username",
        "karin",
        "--name",
        "K",
        "--role",
        "staff",
    ]);
    assert!(!ok && again.contains("already an account"), "{again}");
    let (ok, bad) = staff(&[
        "invite",
        "--username",
        "x y",
        "--name",
        "K",
        "--role",
        "root",
    ]);
    assert!(!ok && bad.contains("--username"), "{bad}");

    let (ok, list) = staff(&["list"]);
    assert!(ok, "{list}");
    let ada = list
        .lines()
        .find(|l| l.starts_with("u_ada"))
        .expect("ada listed");
    assert!(
        ada.contains("admin staff")
            && ada.contains("active")
            && ada.contains("never")
            && ada.ends_with("Ada Admin"),
        "{ada}"
    );

    let (ok, said) = staff(&["disable", "--user", "karin"]);
    assert!(ok, "{said}");
    let (_, list) = staff(&["list"]);
    assert!(
        list.lines()
            .any(|l| l.starts_with("u_karin") && l.contains("disabled")),
        "{list}"
    );
    // The last administrator stays one.
    let (ok, said) = staff(&["set-roles", "--user", "ada", "--role", "staff"]);
    assert!(!ok && said.contains("no enabled administrator"), "{said}");
    let (ok, said) = staff(&["disable", "--user", "u_ada"]);
    assert!(!ok && said.contains("no enabled administrator"), "{said}");
    for args in [
        &["enable", "--user", "karin"][..],
        &["unlock", "--user", "karin"],
        &[
            "set-roles",
            "--user",
            "karin",
            "--role",
            "staff",
            "--role",
            "auditor",
        ],
    ] {
        let (ok, said) = staff(args);
        assert!(ok, "{args:?}: {said}");
    }
    let (ok, said) = staff(&["reset-authenticator", "--user", "karin"]);
    assert!(
        ok && said.contains("https://mote.region.example/setup#"),
        "{said}"
    );
    let (ok, said) = staff(&["disable", "--user", "nobody"]);
    assert!(!ok && said.contains("no account nobody"), "{said}");

    let trail = runtime
        .block_on(store.audit_entries(None, None, None, None))
        .unwrap();
    for event in [
        "staff_invited",
        "staff_disabled",
        "staff_enabled",
        "staff_unlocked",
        "staff_roles_changed",
        "staff_authenticator_reset",
    ] {
        let entry = trail
            .iter()
            .find(|e| e.event == event)
            .unwrap_or_else(|| panic!("{event}"));
        assert_eq!(entry.actor.as_deref(), Some("cli"), "{event}");
    }
}
