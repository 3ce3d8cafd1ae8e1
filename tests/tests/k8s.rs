//! The Kubernetes manifests of the distributed mode (`k8s/`) are valid:
//! `tests/k8s/validate.py` renders the base and the overlays, validates every document
//! against the strict Kubernetes 1.29 schema (bundled by the PyPI package
//! kubernetes-validate, so no network), and checks every `opentoken` command line against
//! the binary's own `--help` and the config file against the binary's config reader, plus
//! the probes, volumes and single-instance roles. The second test proves the validator can
//! fail: a copy of `k8s/` with a bogus field, an unknown subcommand, an unknown flag or an
//! unknown config setting is rejected, naming the file and the problem.

use opentoken_e2e::{bin, python, repo_root};
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

/// Runs the validator on `dir` (default: k8s/).
fn validate(dir: Option<&Path>) -> Output {
    let mut cmd = Command::new(python());
    cmd.arg(repo_root().join("tests/k8s/validate.py")).arg(bin());
    if let Some(dir) = dir {
        cmd.arg("--dir").arg(dir);
    }
    cmd.current_dir(repo_root())
        .output()
        .expect("run tests/k8s/validate.py")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create dir");
    for entry in fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// A copy of k8s/ in a temporary directory, with `from` replaced by `to` once in `file`.
fn mutated_copy(file: &str, from: &str, to: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    copy_dir(&repo_root().join("k8s"), &tmp.path().join("k8s"));
    if !file.is_empty() {
        let path = tmp.path().join("k8s").join(file);
        let before = fs::read_to_string(&path).expect("read manifest");
        assert!(
            before.contains(from),
            "{file} no longer contains {from:?}; update this test"
        );
        fs::write(&path, before.replacen(from, to, 1)).expect("write manifest");
    }
    tmp
}

#[test]
fn manifests_validate() {
    let started = std::time::Instant::now();
    let out = validate(None);
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.success(),
        "tests/k8s/validate.py rejects k8s/ ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains("k8s/overlays/example"),
        "the overlay was not rendered:\n{stdout}"
    );
    eprintln!("{stdout}{stderr}validated in {:.1}s", started.elapsed().as_secs_f64());
}

#[test]
fn validator_rejects_bad_manifests() {
    // The unmodified copy passes, so each failure below is its mutation's.
    let control = mutated_copy("", "", "");
    let out = validate(Some(&control.path().join("k8s")));
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.success(),
        "an unmodified copy of k8s/ fails:\n{stdout}\n{stderr}"
    );

    let cases: &[(&str, &str, &str, &[&str])] = &[
        (
            "base/ingester.yaml",
            "\nspec:\n",
            "\nspec:\n  replicaz: 1\n",
            &[
                "ingester.yaml",
                "Deployment/opentoken-ingester",
                "'replicaz' was unexpected",
            ],
        ),
        (
            "base/processor-token.yaml",
            "\"process\",",
            "\"frobnicate\",",
            &["processor-token.yaml", "`frobnicate` is not an opentoken subcommand"],
        ),
        (
            "base/checkpointer.yaml",
            "\"checkpoint\",",
            "\"checkpoint\", \"--no-such-flag\",",
            &[
                "checkpointer.yaml",
                "`--no-such-flag` is not a flag of `opentoken checkpoint`",
            ],
        ),
        (
            "base/configmap.yaml",
            "log = \"info\"",
            "lgo = \"info\"",
            &["configmap.yaml", "unknown setting `lgo`"],
        ),
    ];
    for (file, from, to, needles) in cases {
        let tmp = mutated_copy(file, from, to);
        let out = validate(Some(&tmp.path().join("k8s")));
        let (stdout, stderr) = text(&out);
        assert_eq!(
            out.status.code(),
            Some(1),
            "validate.py must reject {file} with {to:?} (exit 1):\n{stdout}\n{stderr}"
        );
        for needle in *needles {
            assert!(
                stderr.contains(needle),
                "the rejection of {file} with {to:?} does not say {needle:?}:\n{stderr}"
            );
        }
    }
}
