//! Generates the protobuf bindings for `sluice/v1/control.proto` (and the shared example schema
//! `examples/orders.proto`, used by `examples/orders-worker.rs`) with prost-build.
//!
//! protoc is located in this order: the `PROTOC` environment variable; the repository's
//! `ensure_protoc` helper (scripts/lib/common.sh, which fetches protoc from Maven Central through
//! Maven); a direct download of the same artifact from Maven Central into `OUT_DIR` with curl.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const PROTOC_VERSION: &str = "4.36.2";

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let proto_root = manifest.join("../../protocol");
    let proto = proto_root.join("sluice/v1/control.proto");
    println!("cargo:rerun-if-changed={}", proto.display());
    println!("cargo:rerun-if-env-changed=PROTOC");

    // The shared example schema (examples/orders.proto), for examples/orders-worker.rs.
    let examples_root = manifest.join("../../examples");
    let orders = examples_root.join("orders.proto");
    println!("cargo:rerun-if-changed={}", orders.display());

    let protoc = find_protoc(&manifest);
    let mut config = prost_build::Config::new();
    config.protoc_executable(&protoc);
    config
        .compile_protos(&[proto], &[proto_root])
        .expect("prost-build failed to compile control.proto");
    if orders.exists() {
        let mut config = prost_build::Config::new();
        config.protoc_executable(protoc);
        config
            .compile_protos(&[orders], &[examples_root])
            .expect("prost-build failed to compile examples/orders.proto");
    }
}

fn find_protoc(manifest: &Path) -> PathBuf {
    if let Some(p) = env::var_os("PROTOC") {
        if !p.is_empty() {
            return PathBuf::from(p);
        }
    }
    let common = manifest.join("../../scripts/lib/common.sh");
    if common.exists() {
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!("source '{}'; ensure_protoc", common.display()))
            .output();
        if let Ok(out) = out {
            if out.status.success() {
                let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
                if !path.is_empty() && Path::new(&path).exists() {
                    return PathBuf::from(path);
                }
            }
        }
    }
    download_protoc()
}

/// Fetches `com.google.protobuf:protoc:<version>:exe:<platform>` from Maven Central.
fn download_protoc() -> PathBuf {
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let exe = out_dir.join(format!("protoc-{PROTOC_VERSION}"));
    if exe.exists() {
        return exe;
    }
    let arch = match env::consts::ARCH {
        "x86_64" => "x86_64",
        "aarch64" => "aarch_64",
        other => panic!("no protoc artifact for architecture {other}; set PROTOC"),
    };
    let os = match env::consts::OS {
        "linux" => "linux",
        "macos" => "osx",
        other => panic!("no protoc artifact for OS {other}; set PROTOC"),
    };
    let url = format!(
        "https://repo1.maven.org/maven2/com/google/protobuf/protoc/{v}/protoc-{v}-{os}-{arch}.exe",
        v = PROTOC_VERSION
    );
    let status = Command::new("curl")
        .args(["-fsSL", "--retry", "3", "-o"])
        .arg(&exe)
        .arg(&url)
        .status()
        .expect("curl is needed to fetch protoc (or set PROTOC)");
    assert!(status.success(), "download of {url} failed; set PROTOC");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    exe
}
