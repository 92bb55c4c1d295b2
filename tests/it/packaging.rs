//! The Debian package as `cargo deb` builds it: its file list, the
//! systemd unit (user `portico`, capabilities instead of root), the
//! config as a conffile, and the scripts that make the service account.
//! Built around a stand-in binary, so the test needs no release build.

use std::path::Path;
use std::process::Command;

use crate::helpers::*;

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run");
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_debian_package_installs_a_confined_service() {
    if !have_tool("cargo-deb") || !have_tool("dpkg-deb") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("target");
    std::fs::create_dir_all(target.join("release")).unwrap();
    let stub = target.join("release/portico");
    std::fs::write(&stub, "#!/bin/sh\necho portico\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let deb = tmp.path().join("portico.deb");
    run(Command::new("cargo")
        .args(["deb", "--no-build", "--no-strip", "--fast", "-o"])
        .arg(&deb)
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(repo_path(".")));

    let list = run(Command::new("dpkg-deb").arg("-c").arg(&deb));
    for (mode, path) in [
        ("-rwxr-xr-x", "./usr/bin/portico"),
        ("-rw-r-----", "./etc/portico/portico.toml"),
        ("-rw-r--r--", "./usr/lib/systemd/system/portico.service"),
        ("-rw-r--r--", "./usr/share/doc/portico/README.md"),
        (
            "-rw-r--r--",
            "./usr/share/doc/portico/ap-profiles/huawei.toml",
        ),
    ] {
        assert!(
            list.lines()
                .any(|l| l.starts_with(mode) && l.ends_with(path)),
            "{mode} {path} in:\n{list}"
        );
    }

    let root = tmp.path().join("root");
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root));
    let unit =
        std::fs::read_to_string(root.join("usr/lib/systemd/system/portico.service")).unwrap();
    for line in [
        "User=portico",
        "AmbientCapabilities=CAP_NET_BIND_SERVICE CAP_NET_RAW",
        "CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_NET_RAW",
        "NoNewPrivileges=true",
        "Environment=PORTICO_DATA_DIR=/var/lib/portico",
        "ReadWritePaths=/var/lib/portico",
        "ExecStart=/usr/bin/portico --config /etc/portico/portico.toml serve",
    ] {
        assert!(
            unit.lines().any(|l| l == line),
            "{line} in the unit:\n{unit}"
        );
    }
    let config = std::fs::read_to_string(root.join("etc/portico/portico.toml")).unwrap();
    assert_eq!(
        config,
        std::fs::read_to_string(repo_path("portico.example.toml")).unwrap()
    );

    let control = tmp.path().join("control");
    run(Command::new("dpkg-deb").arg("-e").arg(&deb).arg(&control));
    let conffiles = std::fs::read_to_string(control.join("conffiles")).unwrap();
    assert!(
        conffiles.lines().any(|l| l == "/etc/portico/portico.toml"),
        "{conffiles}"
    );
    let postinst = std::fs::read_to_string(control.join("postinst")).unwrap();
    assert!(postinst.contains("adduser --system") && postinst.contains("/var/lib/portico"));
    assert!(Path::new(&control.join("postrm")).exists());
    // The packaged config is the sample: it passes the binary's own check.
    let check = Command::new(portico_bin())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .args(["--config"])
        .arg(root.join("etc/portico/portico.toml"))
        .arg("check-config")
        .env("PORTICO_PROFILES__DIR", tmp.path().join("none"))
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    // Outside the checkout every vendor is there: the profiles are compiled in.
    let out = String::from_utf8_lossy(&check.stdout);
    for vendor in ["aruba", "cisco-wlc", "huawei", "h3c", "unifi", "ruckus-sz"] {
        assert!(out.contains(vendor), "{vendor} in {out}");
    }
}
