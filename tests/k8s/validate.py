#!/usr/bin/env python3
"""Validates the Kubernetes manifests in k8s/ (or another directory) without a cluster.

    validate.py OPENTOKEN_BINARY [--dir DIR] [--kube-version 1.29] [--kubectl PATH|none]

1. Renders every kustomization under DIR with the subset of kustomize the manifests use
   (`resources`: files and directories, `namespace`, `patches`: strategic merge patches
   matched by kind and name) and refuses any other kustomization field. YAML files that no
   kustomization names (e.g. secret.example.yaml) are validated on their own. When
   `kubectl` is on PATH, each rendering must equal `kubectl kustomize DIR`.
2. Validates every resulting document against the strict Kubernetes JSON schema of one
   version (bundled by the kubernetes-validate package, offline): unknown fields, wrong
   types and missing required fields are errors, and so is a kind without a schema.
3. Checks every container that runs `opentoken` against the binary: the subcommand exists
   and every flag is one `opentoken <subcommand> --help` lists (values where it takes
   one, no stray arguments), the OPENTOKEN_* variables are ones it reads, and every TOML
   config file in a ConfigMap is accepted by the binary's own reader (`opentoken --config
   FILE --help`, which refuses unknown settings).
4. Checks what a schema cannot: --config names a key of a mounted ConfigMap, the paths in
   it resolve, --data-dir is on a writable volume (the root filesystem is read-only),
   Deployments probe /healthz and /readyz on their --listen port, single-writer roles
   (ingest, process, checkpoint) run one replica with the Recreate strategy and no
   autoscaler, every container runs as non-root with a read-only root filesystem and
   resource requests and limits, selectors, Services and autoscalers point at something,
   and the chain spec copy equals infra/chains/.

Exit status: 0 valid, 1 problems (each printed on stderr, naming the file, the document
and the problem), 2 the validator could not run.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import importlib.resources
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

try:
    import jsonschema
    import referencing
    import yaml
except ImportError as e:  # pragma: no cover - environment problem
    print(f"validate.py: {e}; install tests/python/requirements.txt (make deps)", file=sys.stderr)
    sys.exit(2)

REPO = Path(__file__).resolve().parents[2]
KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
# The kustomization fields this validator renders; any other is refused rather than
# silently rendered differently from kustomize.
KUSTOMIZATION_FIELDS = {"apiVersion", "kind", "resources", "namespace", "patches"}
CLUSTER_SCOPED = {
    "Namespace", "Node", "PersistentVolume", "StorageClass", "ClusterRole",
    "ClusterRoleBinding", "CustomResourceDefinition", "PriorityClass",
    "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "IngressClass",
    "RuntimeClass", "CSIDriver", "VolumeAttachment", "APIService",
}
# Roles that must run as exactly one instance (see k8s/README.md).
SINGLE_ACTIVE = {"ingest", "process", "checkpoint"}
# Strategic merge patch keys of the lists the manifests patch (from the Kubernetes API).
MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name",
    "volumes": "name", "env": "name", "volumeMounts": "mountPath",
    "imagePullSecrets": "name", "volumeDevices": "devicePath", "hostAliases": "ip",
}
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}
LONG_RUNNING = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"}


def fatal(msg: str):
    """The validator cannot run (exit 2), as opposed to finding problems (exit 1)."""
    print(msg, file=sys.stderr)
    sys.exit(2)


def rel(p: Path) -> str:
    p = p.resolve()
    try:
        return str(p.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


# ----------------------------------------------------------------------------- reporting


class Problems:
    def __init__(self) -> None:
        self.items: list[str] = []
        self.notes: list[str] = []

    def add(self, where: str, msg: str) -> None:
        line = f"{where}: {msg}"
        if line not in self.items:
            self.items.append(line)

    def note(self, msg: str) -> None:
        if msg not in self.notes:
            self.notes.append(msg)


@dataclass
class Res:
    doc: dict
    origin: str  # file#document-index
    via: str = ""  # the kustomization that rendered it
    patched_by: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return str(self.doc.get("kind", "?"))

    @property
    def name(self) -> str:
        return str((self.doc.get("metadata") or {}).get("name", "?"))

    @property
    def namespace(self) -> str | None:
        return (self.doc.get("metadata") or {}).get("namespace")

    def where(self) -> str:
        s = f"{self.origin} ({self.kind}/{self.name}"
        if self.via:
            s += f", rendered by {self.via}"
        if self.patched_by:
            s += f", patched by {', '.join(self.patched_by)}"
        return s + ")"


# ----------------------------------------------------------------------------- YAML


class UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys (PyYAML keeps the last silently)."""

    def construct_mapping(self, node, deep=False):  # type: ignore[override]
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_docs(path: Path, problems: Problems) -> list[tuple[int, dict]]:
    try:
        docs = list(yaml.load_all(path.read_text(), Loader=UniqueKeyLoader))
    except (OSError, yaml.YAMLError) as e:
        problems.add(rel(path), f"cannot be read as YAML: {e}")
        return []
    out = []
    for i, d in enumerate(docs):
        if d is None:
            continue
        if not isinstance(d, dict):
            problems.add(f"{rel(path)}#{i}", "a document must be a mapping")
            continue
        out.append((i, d))
    return out


# ----------------------------------------------------------------------------- kustomize subset


def kustomization_file(d: Path) -> Path | None:
    for n in KUSTOMIZATION_NAMES:
        if (d / n).is_file():
            return d / n
    return None


def strategic_merge(base, patch, where: str, problems: Problems, key: str = ""):
    if isinstance(patch, dict) and isinstance(base, dict):
        out = dict(base)
        for k, v in patch.items():
            if isinstance(k, str) and k.startswith("$"):
                problems.add(where, f"patch directive {k} is not supported by this validator")
                continue
            if v is None:
                out.pop(k, None)
            elif k in out:
                out[k] = strategic_merge(out[k], v, where, problems, k)
            else:
                out[k] = copy.deepcopy(v)
        return out
    if isinstance(patch, list) and isinstance(base, list):
        mk = MERGE_KEYS.get(key)
        if key == "ports":
            mk = "containerPort" if all(isinstance(i, dict) and "containerPort" in i for i in base + patch) else "port"
        if not mk or not all(isinstance(i, dict) and mk in i for i in base + patch):
            return copy.deepcopy(patch)  # lists without a merge key are replaced
        out = [copy.deepcopy(i) for i in base]
        for item in patch:
            for j, b in enumerate(out):
                if b[mk] == item[mk]:
                    out[j] = strategic_merge(b, item, where, problems, "")
                    break
            else:
                out.append(copy.deepcopy(item))
        return out
    return copy.deepcopy(patch)


class Renderer:
    def __init__(self, problems: Problems) -> None:
        self.problems = problems
        self.referenced: set[Path] = set()  # files named by some kustomization

    def render(self, kdir: Path, stack: tuple[Path, ...] = ()) -> list[Res]:
        kdir = kdir.resolve()
        kfile = kustomization_file(kdir)
        if kfile is None:
            self.problems.add(rel(kdir), "no kustomization.yaml in this directory")
            return []
        if kdir in stack:
            self.problems.add(rel(kfile), "kustomizations include each other in a cycle")
            return []
        where = rel(kfile)
        docs = load_docs(kfile, self.problems)
        if len(docs) != 1:
            self.problems.add(where, "a kustomization file holds exactly one document")
            return []
        k = docs[0][1]
        if k.get("apiVersion") != "kustomize.config.k8s.io/v1beta1" or k.get("kind") != "Kustomization":
            self.problems.add(where, "apiVersion kustomize.config.k8s.io/v1beta1 and kind Kustomization expected")
        for f in sorted(set(k) - KUSTOMIZATION_FIELDS):
            self.problems.add(
                where,
                f"field `{f}` is not in the kustomize subset this validator renders "
                f"({', '.join(sorted(KUSTOMIZATION_FIELDS))}); extend tests/k8s/validate.py first",
            )
        out: list[Res] = []
        for r in k.get("resources") or []:
            p = (kdir / str(r)).resolve()
            if p.is_dir():
                sub = self.render(p, stack + (kdir,))
                out.extend(sub)
            elif p.is_file():
                self.referenced.add(p)
                out.extend(Res(d, f"{rel(p)}#{i}") for i, d in load_docs(p, self.problems))
            else:
                self.problems.add(where, f"resource {r} does not exist")
        for res in out:
            res.via = rel(kdir)
        for pi, entry in enumerate(k.get("patches") or []):
            pwhere = f"{where} patches[{pi}]"
            if not isinstance(entry, dict) or set(entry) - {"path", "patch"} or len(entry) != 1:
                if isinstance(entry, dict) and "path" in entry:
                    self.referenced.add((kdir / str(entry["path"])).resolve())  # not a standalone manifest
                self.problems.add(
                    pwhere, "only `path: FILE` or `patch: |` strategic merge patches (no target, no options) are supported"
                )
                continue
            if "path" in entry:
                p = (kdir / str(entry["path"])).resolve()
                if not p.is_file():
                    self.problems.add(pwhere, f"patch file {entry['path']} does not exist")
                    continue
                self.referenced.add(p)
                label = rel(p)
                try:
                    pdocs = list(yaml.load_all(p.read_text(), Loader=UniqueKeyLoader))
                except yaml.YAMLError as e:
                    self.problems.add(label, f"cannot be read as YAML: {e}")
                    continue
            else:
                label = pwhere
                try:
                    pdocs = list(yaml.load_all(str(entry["patch"]), Loader=UniqueKeyLoader))
                except yaml.YAMLError as e:
                    self.problems.add(label, f"cannot be read as YAML: {e}")
                    continue
            for patch in (d for d in pdocs if d is not None):
                if not isinstance(patch, dict):
                    self.problems.add(label, "a patch must be a mapping")
                    continue
                kind = patch.get("kind")
                md = patch.get("metadata") or {}
                name, ns = md.get("name"), md.get("namespace")
                targets = [
                    x for x in out
                    if x.kind == kind and x.name == name and (ns is None or x.namespace in (None, ns))
                    and str(x.doc.get("apiVersion", "")).split("/")[0] == str(patch.get("apiVersion", "")).split("/")[0]
                ]
                if len(targets) != 1:
                    self.problems.add(
                        label,
                        f"patch for {kind}/{name} matches {len(targets)} resources of {rel(kdir)} (exactly one expected)",
                    )
                    continue
                t = targets[0]
                t.doc = strategic_merge(t.doc, patch, label, self.problems)
                t.patched_by.append(label)
        ns = k.get("namespace")
        if ns is not None:
            for res in out:
                if res.kind not in CLUSTER_SCOPED:
                    res.doc.setdefault("metadata", {})["namespace"] = ns
        return out


def cross_check_kubectl(kubectl: str, kdir: Path, ours: list[Res], problems: Problems) -> None:
    """kustomize itself (built into kubectl) must render what this validator rendered."""
    try:
        r = subprocess.run([kubectl, "kustomize", str(kdir)], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        problems.add(rel(kdir), f"`kubectl kustomize` could not run: {e}")
        return
    if r.returncode != 0:
        problems.add(rel(kdir), f"`kubectl kustomize` refuses it: {r.stderr.strip()}")
        return

    def key(d: dict) -> tuple:
        md = d.get("metadata") or {}
        return (d.get("apiVersion"), d.get("kind"), md.get("namespace"), md.get("name"))

    theirs = {key(d): d for d in yaml.safe_load_all(r.stdout) if d}
    mine = {key(x.doc): x for x in ours}
    for k in sorted(set(theirs) | set(mine), key=str):
        if k not in theirs:
            problems.add(mine[k].where(), "rendered here but not by `kubectl kustomize`")
        elif k not in mine:
            problems.add(rel(kdir), f"`kubectl kustomize` renders {k[1]}/{k[3]}, this validator does not")
        elif theirs[k] != mine[k].doc:
            a = json.dumps(theirs[k], indent=1, sort_keys=True).splitlines()
            b = json.dumps(mine[k].doc, indent=1, sort_keys=True).splitlines()
            diff = "\n".join(list(difflib.unified_diff(a, b, "kubectl kustomize", "validate.py", lineterm=""))[:40])
            problems.add(mine[k].where(), f"renders differently from `kubectl kustomize`:\n{diff}")


# ----------------------------------------------------------------------------- schema


class Schemas:
    def __init__(self, version: str) -> None:
        root = importlib.resources.files("kubernetes_validate").joinpath("kubernetes-json-schema")
        self.dir = root.joinpath(f"v{version}.0-local-strict")
        if not self.dir.joinpath("_definitions.json").is_file():
            have = sorted(p.name for p in root.iterdir() if p.name.endswith("-local-strict"))
            fatal(f"validate.py: no bundled schemas for Kubernetes {version} (have {', '.join(have)})")
        defs = json.loads(self.dir.joinpath("_definitions.json").read_text())
        self.registry = referencing.Resource.from_contents(defs) @ referencing.Registry()
        self.cache: dict[str, object] = {}

    def validator(self, api_version: str, kind: str):
        # rbac.authorization.k8s.io/v1 -> rbac-v1; apps/v1 -> apps-v1; v1 -> v1
        group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
        name = f"{kind.lower()}-{group_version}.json"
        if name not in self.cache:
            f = self.dir.joinpath(name)
            if not f.is_file():
                self.cache[name] = None
            else:
                schema = json.loads(f.read_text())
                reg = referencing.Resource.from_contents(schema) @ self.registry
                self.cache[name] = jsonschema.Draft202012Validator(schema, registry=reg)
        return self.cache[name]


def check_schema(res: Res, schemas: Schemas, version: str, problems: Problems) -> None:
    d = res.doc
    if not isinstance(d.get("apiVersion"), str) or not isinstance(d.get("kind"), str):
        problems.add(res.where(), "apiVersion and kind are required")
        return
    if not (d.get("metadata") or {}).get("name"):
        problems.add(res.where(), "metadata.name is required")
    v = schemas.validator(d["apiVersion"], d["kind"])
    if v is None:
        problems.add(res.where(), f"no Kubernetes {version} schema for {d['kind']} in {d['apiVersion']}")
        return
    for e in sorted(v.iter_errors(d), key=lambda e: list(map(str, e.absolute_path))):
        path = ".".join(str(p) for p in e.absolute_path) or "(document)"
        problems.add(res.where(), f"{path}: {e.message} (Kubernetes {version} schema)")


# ----------------------------------------------------------------------------- the binary


OPTION = re.compile(r"^\s+(?:(-[A-Za-z0-9]),\s+)?(--[A-Za-z0-9][A-Za-z0-9-]*)(\s+<[^>]+>(?:\.\.\.)?)?")
ENV = re.compile(r"\[env: (OPENTOKEN_[A-Z0-9_]+)[=\]]")


@dataclass
class Help:
    flags: dict[str, bool]  # --flag -> takes a value
    shorts: set[str]
    env: set[str]


def parse_help(text: str) -> Help:
    flags, shorts = {}, set()
    in_options = False
    for line in text.splitlines():
        if line.strip() in ("Options:", "Arguments:") or line.strip().endswith(" Options:"):
            in_options = line.strip() != "Arguments:"
            continue
        if not in_options:
            continue
        m = OPTION.match(line)
        if m:
            flags[m.group(2)] = bool(m.group(3))
            if m.group(1):
                shorts.add(m.group(1))
    return Help(flags, shorts, set(ENV.findall(text)))


class Binary:
    def __init__(self, path: str) -> None:
        self.path = path
        # OPENTOKEN_CONFIG in the environment would make `--help` read a config file.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("OPENTOKEN_")}
        self.env.update(RUST_BACKTRACE="0", RUST_LIB_BACKTRACE="0")  # errors without backtraces
        top = self._run([])
        if top is None:
            fatal(f"validate.py: `{path} --help` failed: is it the opentoken binary?")
        self.top = parse_help(top)
        self.subcommands = []
        in_cmds = False
        for line in top.splitlines():
            if line.strip() == "Commands:":
                in_cmds = True
                continue
            if in_cmds:
                m = re.match(r"^\s{2}([a-z][a-z0-9-]*)\s", line)
                if not m:
                    break
                if m.group(1) != "help":
                    self.subcommands.append(m.group(1))
        if not self.subcommands:
            fatal(f"validate.py: `{path} --help` lists no subcommands")
        self.subs: dict[str, Help | None] = {}
        self.used: set[str] = set()  # subcommands the manifests run

    def _run(self, args: list[str]) -> str | None:
        try:
            r = subprocess.run([self.path, *args, "--help"], capture_output=True, text=True, env=self.env, timeout=60)
        except OSError as e:
            fatal(f"validate.py: cannot run {self.path}: {e}")
        return r.stdout if r.returncode == 0 else None

    def sub(self, name: str) -> Help | None:
        if name not in self.subs:
            text = self._run([name]) if name in self.subcommands else None
            self.subs[name] = parse_help(text) if text is not None else None
        return self.subs[name]

    def check_config(self, text: str) -> str | None:
        """Why `opentoken --config FILE` refuses this config file text, or None."""
        with tempfile.NamedTemporaryFile("w", suffix=".toml") as f:
            f.write(text)
            f.flush()
            r = subprocess.run(
                [self.path, "--config", f.name, "--help"], capture_output=True, text=True, env=self.env, timeout=60
            )
        if r.returncode == 0:
            return None
        return (r.stderr.strip() or r.stdout.strip() or f"exit status {r.returncode}").replace(f.name, "the file")


@dataclass
class Invocation:
    sub: str
    flags: dict[str, str | None]


def parse_argv(argv: list[str], b: Binary, where: str, problems: Problems) -> Invocation | None:
    """What clap would do with this command line, or None after reporting why it fails."""
    i, n = 1, len(argv)
    flags: dict[str, str | None] = {}

    def take(help_: Help, i: int, sub: str) -> int:
        tok = argv[i]
        name, eq, val = tok.partition("=")
        cmd = f"opentoken {sub}" if sub else "opentoken"
        if tok in ("--help", "-h", "--version", "-V"):
            problems.add(where, f"{tok} in a container command prints and exits")
            return i + 1
        if name.startswith("--"):
            if name not in help_.flags:
                problems.add(where, f"`{name}` is not a flag of `{cmd}` (see `{cmd} --help`)")
                return i + 1
            if name in flags:
                problems.add(where, f"`{name}` is given twice")
            if help_.flags[name]:
                if eq:
                    flags[name] = val
                    return i + 1
                if i + 1 >= n:
                    problems.add(where, f"`{name}` needs a value")
                    return i + 1
                flags[name] = argv[i + 1]
                return i + 2
            if eq:
                problems.add(where, f"`{name}` takes no value")
            flags[name] = None
            return i + 1
        if tok not in help_.shorts:
            problems.add(where, f"`{tok}` is not a flag of `{cmd}` (see `{cmd} --help`)")
        return i + 1

    while i < n and argv[i].startswith("-"):
        i = take(b.top, i, "")
    if i >= n:
        problems.add(where, "runs `opentoken` without a subcommand")
        return None
    sub = argv[i]
    help_ = b.sub(sub)
    if help_ is None:
        problems.add(where, f"`{sub}` is not an opentoken subcommand (known: {', '.join(b.subcommands)})")
        return None
    b.used.add(sub)
    i += 1
    while i < n:
        if argv[i].startswith("-") and argv[i] != "-":
            i = take(help_, i, sub)
        else:
            problems.add(where, f"unexpected argument `{argv[i]}` to `opentoken {sub}` (it takes flags only)")
            i += 1
    return Invocation(sub, flags)


# ----------------------------------------------------------------------------- semantic checks

QUANTITY = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")
SUFFIX = {
    None: 1, "n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}


def quantity(v) -> float | None:
    m = QUANTITY.match(str(v))
    return float(m.group(1)) * SUFFIX[m.group(2)] if m else None


def pod_spec(doc: dict) -> dict | None:
    kind, spec = doc.get("kind"), doc.get("spec") or {}
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec") or {})
    if kind in WORKLOAD_KINDS:
        return ((spec.get("template") or {}).get("spec")) or {}
    return None


def template_labels(doc: dict) -> dict:
    return (((doc.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}


def is_opentoken_image(image: str) -> bool:
    return image.split("@")[0].rsplit("/", 1)[-1].split(":")[0] == "opentoken"


def mount_for(path: str, mounts: list[dict]) -> dict | None:
    """The volume mount a path is on (the longest mountPath that contains it)."""
    best = None
    for m in mounts:
        mp = str(m.get("mountPath", "")).rstrip("/") or "/"
        if path == mp or path.startswith(mp + "/") or mp == "/":
            if best is None or len(mp) > len(str(best.get("mountPath", ""))):
                best = m
    return best


class SetChecker:
    """Checks that need the whole rendered set (a kustomization, or one standalone file)."""

    def __init__(self, items: list[Res], binary: Binary, problems: Problems) -> None:
        self.items = items
        self.b = binary
        self.p = problems
        self.by_kind: dict[str, dict[str, Res]] = {}
        for r in items:
            self.by_kind.setdefault(r.kind, {})[r.name] = r

    def run(self) -> None:
        seen: dict[tuple, Res] = {}
        for r in self.items:
            k = (r.doc.get("apiVersion", "").split("/")[0], r.kind, r.namespace, r.name)
            if k in seen:
                self.p.add(r.where(), f"{r.kind}/{r.name} is defined twice (also in {seen[k].origin})")
            seen[k] = r
        hpa_targets = {}
        for r in self.items:
            if r.kind == "ConfigMap":
                self.configmap(r)
            elif r.kind == "HorizontalPodAutoscaler":
                t = self.hpa(r)
                if t:
                    hpa_targets[(t.kind, t.name)] = r
            elif r.kind == "Service":
                self.service(r)
        for r in self.items:
            if pod_spec(r.doc) is not None:
                self.workload(r, hpa_targets.get((r.kind, r.name)))

    # -- ConfigMaps: the TOML settings and the chain spec copy

    def configmap(self, r: Res) -> None:
        for key, text in (r.doc.get("data") or {}).items():
            where = f"{r.where()} data.{key}"
            if key.endswith(".toml"):
                # The binary's own reader decides: `opentoken --config FILE --help` reads
                # the file before parsing the command line and refuses unknown settings.
                err = self.b.check_config(str(text))
                if err:
                    self.p.add(where, f"`opentoken --config` refuses it: {err}")
            elif key.endswith(".json"):
                try:
                    value = json.loads(str(text))
                except json.JSONDecodeError as e:
                    self.p.add(where, f"is not valid JSON: {e}")
                    continue
                original = REPO / "infra" / "chains" / key
                if original.is_file() and json.loads(original.read_text()) != value:
                    self.p.add(where, f"differs from {rel(original)}: the chain spec copy must equal it")

    def configmap_toml(self, name: str, key: str) -> dict | None:
        cm = self.by_kind.get("ConfigMap", {}).get(name)
        if cm is None:
            return None
        try:
            return tomllib.loads(str((cm.doc.get("data") or {}).get(key, "")))
        except tomllib.TOMLDecodeError:
            return None

    # -- HPAs and Services

    def hpa(self, r: Res) -> Res | None:
        spec = r.doc.get("spec") or {}
        ref = spec.get("scaleTargetRef") or {}
        t = self.by_kind.get(ref.get("kind"), {}).get(ref.get("name"))
        if t is None:
            self.p.add(r.where(), f"scaleTargetRef {ref.get('kind')}/{ref.get('name')} is not in this set")
            return None
        lo, hi = spec.get("minReplicas", 1), spec.get("maxReplicas")
        if isinstance(lo, int) and isinstance(hi, int) and lo > hi:
            self.p.add(r.where(), f"minReplicas {lo} is above maxReplicas {hi}")
        uses_cpu = any(
            (m.get("resource") or {}).get("name") == "cpu" for m in spec.get("metrics") or [] if m.get("type") == "Resource"
        )
        ps = pod_spec(t.doc) or {}
        if uses_cpu:
            for c in ps.get("containers") or []:
                if "cpu" not in ((c.get("resources") or {}).get("requests") or {}):
                    self.p.add(r.where(), f"scales on CPU but container {c.get('name')} of {t.kind}/{t.name} requests no CPU")
        return t

    def service(self, r: Res) -> None:
        sel = (r.doc.get("spec") or {}).get("selector") or {}
        if not sel:
            return
        pods = [
            x for x in self.items
            if x.kind in LONG_RUNNING and sel.items() <= template_labels(x.doc).items()
        ]
        if not pods:
            self.p.add(r.where(), f"selector {sel} matches no workload in this set")
            return
        for port in (r.doc.get("spec") or {}).get("ports") or []:
            tp = port.get("targetPort", port.get("port"))
            for x in pods:
                cports = [p for c in (pod_spec(x.doc) or {}).get("containers") or [] for p in c.get("ports") or []]
                if not any(tp in (p.get("name"), p.get("containerPort")) for p in cports):
                    self.p.add(r.where(), f"targetPort {tp} is not a container port of {x.kind}/{x.name}")

    # -- workloads

    def workload(self, r: Res, hpa: Res | None) -> None:
        doc, where = r.doc, r.where()
        ps = pod_spec(doc) or {}
        spec = doc.get("spec") or {}
        if r.kind in LONG_RUNNING:
            ml = (spec.get("selector") or {}).get("matchLabels") or {}
            if not ml or not ml.items() <= template_labels(doc).items():
                self.p.add(where, "spec.selector.matchLabels must be a non-empty subset of the template's labels")
        pod_sc = ps.get("securityContext") or {}
        volumes = {v.get("name"): v for v in ps.get("volumes") or []}
        for v in volumes.values():
            cm = (v.get("configMap") or {}).get("name")
            if cm and cm not in self.by_kind.get("ConfigMap", {}) and not v["configMap"].get("optional"):
                self.p.add(where, f"volume {v.get('name')} names ConfigMap {cm}, which is not in this set")
        subs = []
        for section in ("initContainers", "containers"):
            for c in ps.get(section) or []:
                cwhere = f"{where} {section[:-1]} {c.get('name')}"
                inv = self.container(c, cwhere, pod_sc, volumes, r.kind, section)
                if inv:
                    subs.append(inv.sub)
        single = sorted(set(subs) & SINGLE_ACTIVE)
        if single and r.kind in LONG_RUNNING:
            if r.kind != "Deployment":
                self.p.add(where, f"`opentoken {single[0]}` must run as a Deployment of one replica")
            if spec.get("replicas") != 1:
                self.p.add(where, f"`opentoken {single[0]}` is a single active instance: spec.replicas must be 1")
            if (spec.get("strategy") or {}).get("type") != "Recreate":
                self.p.add(
                    where,
                    f"`opentoken {single[0]}` is a single active instance: spec.strategy.type must be Recreate "
                    "(a rolling update runs two at once)",
                )
            if hpa is not None:
                self.p.add(hpa.where(), f"autoscales {r.kind}/{r.name}, a single active instance (`opentoken {single[0]}`)")

    def container(self, c: dict, where: str, pod_sc: dict, volumes: dict, kind: str, section: str) -> Invocation | None:
        sc = c.get("securityContext") or {}
        if sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is not True:
            self.p.add(where, "securityContext.runAsNonRoot must be true")
        if sc.get("readOnlyRootFilesystem") is not True:
            self.p.add(where, "securityContext.readOnlyRootFilesystem must be true")
        res = c.get("resources") or {}
        for part in ("requests", "limits"):
            for what in ("cpu", "memory"):
                v = (res.get(part) or {}).get(what)
                if v is None:
                    self.p.add(where, f"resources.{part}.{what} is required")
                elif quantity(v) is None:
                    self.p.add(where, f"resources.{part}.{what} {v!r} is not a Kubernetes quantity")
            for what, req in (res.get("requests") or {}).items():
                lim = (res.get("limits") or {}).get(what)
                if lim is not None and quantity(req) is not None and quantity(lim) is not None and quantity(req) > quantity(lim):
                    self.p.add(where, f"resources.requests.{what} {req} is above the limit {lim}")
        image = str(c.get("image", ""))
        tag = image.split("@")[0].rsplit("/", 1)[-1].partition(":")[2]
        if "@" not in image and tag in ("", "latest"):
            self.p.add(where, f"image {image!r} must name a version (a tag other than latest, or a digest)")
        mounts = c.get("volumeMounts") or []
        for m in mounts:
            if m.get("name") not in volumes:
                self.p.add(where, f"volumeMount {m.get('name')} names no volume of the pod")
        argv = [str(x) for x in (c.get("command") or []) + (c.get("args") or [])]
        runs_opentoken = bool(argv) and Path(argv[0]).name == "opentoken"
        if is_opentoken_image(image) and not runs_opentoken:
            self.p.add(where, "the opentoken image must run `opentoken <subcommand>` (command is missing or names another program)")
        if not runs_opentoken:
            return None
        inv = parse_argv(argv, self.b, where, self.p)
        if inv is None:
            return None
        help_ = self.b.sub(inv.sub)
        env = {e.get("name"): e for e in c.get("env") or []}
        if "OPENTOKEN_LOG" not in env:
            self.p.add(where, "env OPENTOKEN_LOG is not set")
        for name in env:
            if str(name).startswith("OPENTOKEN_") and help_ and name not in help_.env:
                self.p.add(where, f"env {name} is not read by `opentoken {inv.sub}` (see its --help)")
        # --config: a file of a mounted ConfigMap, whose path settings resolve.
        cfg = inv.flags.get("--config")
        if cfg is None:
            self.p.add(where, "runs without --config")
        else:
            self.config_file(cfg, mounts, volumes, where, inv)
        # --data-dir: writable, since the root filesystem is read-only.
        for flag in ("--data-dir", "--into"):
            if flag not in help_.flags:
                continue
            path = inv.flags.get(flag)
            if path is None:
                if flag == "--data-dir":
                    self.p.add(where, "no --data-dir: the default `data` would be on the read-only root filesystem")
                continue
            m = mount_for(path, mounts)
            v = volumes.get(m.get("name")) if m else None
            writable = v is not None and any(k in v for k in ("emptyDir", "persistentVolumeClaim", "ephemeral"))
            if not m or m.get("readOnly") or not writable:
                self.p.add(where, f"{flag} {path} is not on a writable emptyDir or PersistentVolumeClaim mount")
        # --listen and the probes.
        listen = inv.flags.get("--listen")
        port = None
        if listen is not None:
            mport = re.match(r"^(?:\[[0-9a-fA-F:.]+\]|[0-9.]+):(\d+)$", listen)
            if not mport:
                self.p.add(where, f"--listen {listen!r} is not an IP:port socket address")
            else:
                port = int(mport.group(1))
                if listen.startswith("127.") or listen.startswith("[::1]"):
                    self.p.add(where, f"--listen {listen} is loopback: probes and Services cannot reach it")
        cports = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}
        if kind in LONG_RUNNING and section == "containers":
            if "--listen" not in help_.flags:
                self.p.add(where, f"`opentoken {inv.sub}` serves no HTTP and runs to completion: run it as a Job")
            elif port is None:
                self.p.add(where, "no --listen: the probes need /healthz and /readyz")
            if port is not None and port not in cports.values():
                self.p.add(where, f"--listen port {port} is not a containerPort")
            for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"), ("startupProbe", None)):
                pr = c.get(probe)
                if pr is None:
                    if path:
                        self.p.add(where, f"{probe} (httpGet {path}) is required")
                    continue
                hg = pr.get("httpGet")
                if not hg or (path and hg.get("path") != path):
                    self.p.add(where, f"{probe} must be httpGet {path or '/healthz'}")
                    continue
                pp = hg.get("port")
                pp = cports.get(pp, pp) if isinstance(pp, str) else pp
                if port is not None and pp != port:
                    self.p.add(where, f"{probe} probes port {hg.get('port')}, not the --listen port {port}")
        # --module must be a module of the chain spec the config names.
        module = inv.flags.get("--module")
        spec = self.chain_spec(cfg, mounts, volumes) if cfg else None
        if module is not None and spec is not None and module not in (spec.get("modules") or {}):
            self.p.add(where, f"--module {module} is not a module of the chain spec (has {', '.join(spec.get('modules') or {})})")
        return inv

    def mounted_file(self, path: str, mounts: list[dict], volumes: dict) -> tuple[str, str] | None:
        """(ConfigMap name, key) of a file in a configMap volume mount, if it is one."""
        m = mount_for(path, mounts)
        if not m:
            return None
        v = volumes.get(m.get("name")) or {}
        cmv = v.get("configMap")
        if not cmv:
            return None
        if m.get("subPath"):
            inner = str(m["subPath"])
        else:
            inner = path[len(str(m["mountPath"]).rstrip("/")) + 1:]
        items = cmv.get("items")
        if items:
            for it in items:
                if it.get("path") == inner:
                    return cmv.get("name"), it.get("key")
            return cmv.get("name"), None
        return cmv.get("name"), inner

    def config_file(self, cfg: str, mounts: list[dict], volumes: dict, where: str, inv: Invocation) -> None:
        f = self.mounted_file(cfg, mounts, volumes)
        if f is None:
            self.p.add(where, f"--config {cfg} is not in a mounted ConfigMap")
            return
        name, key = f
        cm = self.by_kind.get("ConfigMap", {}).get(name)
        if cm is None:
            return  # reported with the volume, unless the ConfigMap is optional
        data = cm.doc.get("data") or {}
        if key not in data:
            self.p.add(where, f"--config {cfg}: ConfigMap {name} has no key {key!r}")
            return
        settings = self.configmap_toml(name, key)
        if settings is None:
            return  # not TOML: reported with the ConfigMap
        for k in ("chain", "kafka_topics"):
            p = settings.get(k)
            if isinstance(p, str) and p.startswith("/"):
                g = self.mounted_file(p, mounts, volumes)
                if g is None or g[0] not in self.by_kind.get("ConfigMap", {}) or g[1] not in (
                    self.by_kind["ConfigMap"][g[0]].doc.get("data") or {}
                ):
                    self.p.add(where, f"{k} = {p!r} (in {cfg}) is not a file of a mounted ConfigMap")
        if "chain" not in settings and "--chain" not in inv.flags:
            self.p.add(where, "no chain spec: neither --chain nor `chain` in the config (the default is the devnet)")

    def chain_spec(self, cfg: str, mounts: list[dict], volumes: dict) -> dict | None:
        f = self.mounted_file(cfg, mounts, volumes)
        if not f:
            return None
        settings = self.configmap_toml(*f) or {}
        p = settings.get("chain")
        g = self.mounted_file(p, mounts, volumes) if isinstance(p, str) else None
        cm = self.by_kind.get("ConfigMap", {}).get(g[0]) if g else None
        try:
            return json.loads((cm.doc.get("data") or {})[g[1]]) if cm else None
        except (KeyError, json.JSONDecodeError):
            return None


# ----------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("binary", help="the opentoken binary (e.g. target/debug/opentoken)")
    ap.add_argument("--dir", default=str(REPO / "k8s"), help="the directory to validate (default: k8s/)")
    ap.add_argument("--kube-version", default="1.29", help="Kubernetes version of the schemas (default 1.29)")
    ap.add_argument(
        "--kubectl",
        default=os.environ.get("KUBECTL") or shutil.which("kubectl") or "none",
        help="kubectl to cross-check the rendering with `kubectl kustomize` (`none` to skip)",
    )
    a = ap.parse_args()
    root = Path(a.dir).resolve()
    if not root.is_dir():
        print(f"validate.py: {a.dir} is not a directory", file=sys.stderr)
        return 2
    binary = Binary(a.binary)
    schemas = Schemas(a.kube_version)
    problems = Problems()
    renderer = Renderer(problems)

    yamls = sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    kdirs = sorted({p.parent for p in root.rglob("*") if p.name in KUSTOMIZATION_NAMES})
    sets: list[tuple[str, list[Res]]] = []
    for kdir in kdirs:
        rendered = renderer.render(kdir)
        sets.append((rel(kdir), rendered))
        if a.kubectl != "none":
            cross_check_kubectl(a.kubectl, kdir, rendered, problems)
    if a.kubectl == "none":
        problems.note("kubectl not found (or --kubectl none): the rendering is not cross-checked with `kubectl kustomize`")
    for y in yamls:
        if y.name in KUSTOMIZATION_NAMES or y.resolve() in renderer.referenced:
            continue
        sets.append((rel(y), [Res(d, f"{rel(y)}#{i}") for i, d in load_docs(y, problems)]))

    total = 0
    for label, items in sets:
        for r in items:
            check_schema(r, schemas, a.kube_version, problems)
        SetChecker(items, binary, problems).run()
        total += len(items)
        print(f"{label}: {len(items)} documents")

    for n in problems.notes:
        print(f"note: {n}", file=sys.stderr)
    if problems.items:
        for line in problems.items:
            print(line, file=sys.stderr)
        print(f"validate.py: {len(problems.items)} problem(s) in {rel(root)}", file=sys.stderr)
        return 1
    print(
        f"validate.py: {rel(root)} valid: {total} documents in {len(sets)} sets against the strict "
        f"Kubernetes {a.kube_version} schemas, "
        f"commands of opentoken {', '.join(sorted(binary.used))} checked against {a.binary}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
