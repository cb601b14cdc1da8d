"""The production manifests (infra/deploy) agree with the settings and the code they deploy.

Each check is a function from the loaded manifests to a list of problems, so that the last test can feed every
check a deliberately broken copy and see it object: a check that cannot fail checks nothing.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import functools
import io
import itertools
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any, get_args
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from pydantic import SecretStr

from infra.cli import build_parser
from infra.settings import Settings
from tests.conftest import REPO

DEPLOY = REPO / "infra" / "deploy"
IMAGE_REPOSITORY = "ghcr.io/cs-flywheel/cs-flywheel"
HELPER_IMAGES = {"registry.k8s.io/kubectl"}  # third-party tools the manifests run beside the project's image
# a template, and what `kubectl create` runs once (the CronJob creates the RayJob weekly)
NOT_APPLIED = {"secrets.template.yaml", "features-apply-job.yaml", "retrain-rayjob.yaml"}
SETTINGS_MAP = "cs-flywheel-settings"
SHOP_MAP = "cs-flywheel-shop"  # the shop file FLYWHEEL_SHOP names, a ConfigMap made from the operator's own
RETRAIN_CRON, WATCH_CRON = "cs-flywheel-retrain", "cs-flywheel-watch"  # the CronJobs: the refresh, the watch
WATCH_EVERY_S = 5 * 60  # the longest a newly promoted champion's drop may go unlooked-at
SERVE_IMPORT_PATH = "serving.app:build_app"
SERVE_MODULE = "serving/app.py"
ENV_NAME = re.compile(r"\bFLYWHEEL_[A-Z0-9_]+\b")
METRIC_NAME = re.compile(r"\bflywheel_(?:stream|serve)_[a-z0-9_]+")
STORE, REGISTRY = {"FLYWHEEL_REDIS_URL", "FLYWHEEL_POSTGRES_DSN"}, {"FLYWHEEL_REGISTRY_URL"}
KAFKA, ADMIN = {"FLYWHEEL_SASL_PASSWORD"}, {"FLYWHEEL_ADMIN_TOKEN"}
# The secret settings each component uses, by its pods' app.kubernetes.io/component (a Ray cluster's head and
# workers as one): it gets these and no others.
SECRETS_OF = {"streams": KAFKA | STORE, "serve": KAFKA | STORE | REGISTRY | ADMIN,
              "retrain": KAFKA | STORE | REGISTRY, "features-apply": STORE, "retrain-scheduler": set(),
              "watch": KAFKA | STORE | REGISTRY}
# The policy team's private key and its id sign policy updates: no pod of the cluster holds them.
PUBLISHER_ONLY = {"FLYWHEEL_POLICY_SIGNING_KEY", "FLYWHEEL_POLICY_KEY_ID"}
OPERATOR = {"app.kubernetes.io/component": "kuberay-operator"}  # the KubeRay operator's pods (its Helm chart)
TOKEN_AUTH_SINCE = (2, 52)  # the first Ray with token authentication
SECCOMP_PROFILES = ("RuntimeDefault", "Localhost")
TLS_MODES = ("require", "verify-ca", "verify-full")  # libpq's sslmodes that refuse a plaintext connection
PSA_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected",
               "secret"}  # the volume types the "restricted" level allows
JOIN_ALERT = 'flywheel_stream_table_keys{table="joins"}'
STALL_ALERT = "flywheel_stream_store_stalled_seconds"

Manifests = dict[str, list[dict]]


def load_manifests() -> Manifests:
    """Every YAML file of infra/deploy, as its list of documents."""
    return {path.name: [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]
            for path in sorted(DEPLOY.glob("*.yaml"))}


@pytest.fixture(scope="module")
def manifests() -> Manifests:
    return load_manifests()


# --- reading the manifests ----------------------------------------------------------------------------------


def docs_of(m: Manifests, kind: str) -> list[dict]:
    return [doc for docs in m.values() for doc in docs if doc.get("kind") == kind]


def one(m: Manifests, kind: str, name: str | None = None) -> dict:
    found = [d for d in docs_of(m, kind) if name in (None, d["metadata"].get("name"))]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def walk(node: Any) -> Iterator[Any]:
    """Every dict, list and scalar inside ``node``, keys included, depth first."""
    yield node
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def containers(doc: dict) -> list[dict]:
    """The containers of every pod template inside ``doc`` (Deployments, CronJobs, Ray head and worker groups)."""
    return [c for node in walk(doc) if isinstance(node, dict) for c in node.get("containers", [])]


def ray_cluster(doc: dict) -> dict:
    """The Ray cluster spec of a RayService or a RayJob."""
    return doc["spec"].get("rayClusterConfig") or doc["spec"]["rayClusterSpec"]


def ray_head(doc: dict) -> dict:
    return containers(ray_cluster(doc)["headGroupSpec"])[0]


def secrets(m: Manifests) -> dict[str, dict[str, str]]:
    """The Secret template's Secrets: name -> their settings."""
    return {doc["metadata"]["name"]: doc["stringData"] for doc in docs_of(m, "Secret")}


def settings_env(m: Manifests) -> dict[str, str]:
    """The settings of a process that takes the ConfigMap and every Secret (the union of what pods get)."""
    return {**one(m, "ConfigMap", SETTINGS_MAP)["data"], **{k: v for s in secrets(m).values() for k, v in s.items()}}


def manifest_settings(m: Manifests) -> Settings:
    """``Settings`` as a pod reads them: from exactly the environment the manifests give it."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FLYWHEEL_")}
    with mock.patch.dict(os.environ, clean | settings_env(m), clear=True):
        return Settings()


def flywheel_args(argv: list[str]) -> Any:
    """``argv`` (without the program name) parsed by the real CLI, or None when the CLI rejects it."""
    with contextlib.redirect_stderr(io.StringIO()):
        try:
            return build_parser().parse_args(argv)
        except SystemExit:
            return None


def project_pins() -> tuple[str, str]:
    """(the project's version, the Ray version it pins) from pyproject.toml."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    ray = next(re.search(r"==([\d.]+)", d).group(1) for d in project["dependencies"] if d.startswith("ray["))
    return project["version"], ray


# --- the checks -----------------------------------------------------------------------------------------------


def env_problems(m: Manifests) -> list[str]:
    """Every FLYWHEEL_* name anywhere in the manifests (keys, values, the Serve config) is a real setting."""
    known = {f"FLYWHEEL_{name.upper()}" for name in Settings.model_fields}
    texts = {name: [s for s in walk(docs) if isinstance(s, str)] for name, docs in m.items()}
    texts["Dockerfile"] = [(DEPLOY / "Dockerfile").read_text()]
    return [f"{file}: {name} is not a setting of infra/settings.py" for file, strings in texts.items()
            for name in sorted({n for s in strings for n in ENV_NAME.findall(s)} - known)]


def secret_problems(m: Manifests) -> list[str]:
    """Secrets live in Secrets only, each in one of them, and the template ships placeholders, never values."""
    config, held = one(m, "ConfigMap", SETTINGS_MAP)["data"], secrets(m)
    secret_fields = {f"FLYWHEEL_{name.upper()}" for name, field in Settings.model_fields.items()
                     if SecretStr in (get_args(field.annotation) or (field.annotation,))}
    homes = {name: [secret for secret, data in held.items() if name in data] for name in settings_env(m)}
    problems = [f"{name} is set in {', '.join(where)}" for name, where in homes.items()
                if len(where) + (name in config) > 1]
    problems += [f"{name} is a secret but set in the ConfigMap" for name in sorted(config.keys() & secret_fields)]
    problems += [f"the Secret template gives {name} a value, not a CHANGE-ME placeholder"
                 for data in held.values() for name, value in data.items() if "CHANGE-ME" not in value]
    return problems


def pod_templates(doc: dict) -> list[dict]:
    """Every pod template inside ``doc`` (metadata and spec), Ray head and worker groups included."""
    return [node for node in walk(doc) if isinstance(node, dict) and "containers" in node.get("spec", {})]


def labels_of(template: dict) -> dict[str, str]:
    return template["metadata"]["labels"]


def component_of(template: dict) -> str:
    """The component a pod belongs to; a Ray cluster's head and workers are one."""
    return re.sub(r"-(head|worker)$", "", labels_of(template)["app.kubernetes.io/component"])


def secrets_given(m: Manifests, container: dict) -> tuple[set[str], list[str]]:
    """The settings ``container`` gets from Secrets (envFrom and secretKeyRef), and the Secrets it names that the
    template does not define."""
    held = secrets(m)
    names = [ref["secretRef"]["name"] for ref in container.get("envFrom", []) if "secretRef" in ref]
    given = {key for name in names for key in held.get(name, {})}
    given |= {e["name"] for e in container.get("env", []) if "secretKeyRef" in (e.get("valueFrom") or {})}
    return given, [name for name in names if name not in held]


def secret_split_problems(m: Manifests) -> list[str]:
    """Each component gets exactly the secret settings it uses (SECRETS_OF): serving alone the admin token, no
    pod the policy team's signing key."""
    problems = [f"{kind} {doc['metadata']['name']} sets {name}, which only the policy team holds"
                for kind in ("ConfigMap", "Secret") for doc in docs_of(m, kind)
                for name in sorted(PUBLISHER_ONLY & (doc.get("data") or doc.get("stringData") or {}).keys())]
    for file, docs in m.items():
        for template in (t for doc in docs for t in pod_templates(doc)):
            component = component_of(template)
            needed = SECRETS_OF[component]
            for container in template["spec"]["containers"] + template["spec"].get("initContainers", []):
                given, unknown = secrets_given(m, container)
                plain = {e["name"] for e in container.get("env", [])} & PUBLISHER_ONLY
                where = f"{file}: {component} container {container['name']}"
                problems += [f"{where} takes Secret {name}, which the template does not define" for name in unknown]
                problems += [f"{where} gets {name}, which it does not use" for name in sorted(given - needed)]
                problems += [f"{where} lacks {name}, which it uses" for name in sorted(needed - given)]
                problems += [f"{where} sets {name}, which only the policy team holds" for name in sorted(plain)]
    return problems


def dsn_problems(m: Manifests) -> list[str]:
    """Connections that carry a password are encrypted: every PostgreSQL URL requires TLS (sslmode require,
    verify-ca or verify-full), and Redis is reached with ssl=true."""
    env = settings_env(m)
    modes = {name: parse_qs(urlsplit(value).query).get("sslmode", ["unset"])[-1] for name, value in env.items()
             if urlsplit(value).scheme.startswith("postgresql")}
    problems = [f"{name} does not require TLS (sslmode {mode})" for name, mode in modes.items()
                if mode not in TLS_MODES]
    if "ssl=true" not in env["FLYWHEEL_REDIS_URL"].split(","):
        problems.append("FLYWHEEL_REDIS_URL does not say ssl=true")
    return problems


def ray_docs(m: Manifests) -> list[dict]:
    return docs_of(m, "RayService") + docs_of(m, "RayJob")


def ray_auth_problems(m: Manifests) -> list[str]:
    """Every Ray cluster demands Ray's token (KubeRay's authOptions), on a Ray that has token authentication,
    and no container turns it off."""
    problems = []
    for doc in ray_docs(m):
        cluster = ray_cluster(doc)
        if (cluster.get("authOptions") or {}).get("mode") != "token":
            problems.append(f"{doc['kind']}: Ray token authentication is not on (authOptions.mode)")
        if tuple(int(n) for n in cluster["rayVersion"].split(".")[:2]) < TOKEN_AUTH_SINCE:
            problems.append(f"{doc['kind']}: Ray {cluster['rayVersion']} has no token authentication")
        problems += [f"{doc['kind']}: {c['name']} sets RAY_AUTH_MODE={e.get('value')}" for c in containers(doc)
                     for e in c.get("env", []) if e["name"] == "RAY_AUTH_MODE" and e.get("value") != "token"]
    return problems


def selects(selector: dict, labels: dict[str, str]) -> bool:
    """Whether a Kubernetes label selector matches ``labels``."""
    tests = {"In": lambda key, values: labels.get(key) in values,
             "NotIn": lambda key, values: labels.get(key) not in values,
             "Exists": lambda key, _: key in labels, "DoesNotExist": lambda key, _: key not in labels}
    return (selector.get("matchLabels", {}).items() <= labels.items()
            and all(tests[e["operator"]](e["key"], e.get("values")) for e in selector.get("matchExpressions", [])))


def opens(rule: dict, port: int, named: dict[str, int]) -> bool:
    """Whether an ingress rule admits ``port`` (a rule without ports admits every port)."""
    def admits(entry: dict) -> bool:
        first = named.get(entry["port"]) if isinstance(entry.get("port"), str) else entry.get("port")
        return first is None or first <= port <= entry.get("endPort", first)
    return not rule.get("ports") or any(admits(entry) for entry in rule["ports"])


def trusted_peer(peer: dict, head: dict[str, str], everyone: list[dict[str, str]]) -> bool:
    """A peer allowed at the dashboard and the client port: the KubeRay operator's pods in the namespace named,
    or a selector of this namespace's pods that matches the head alone."""
    operator = (peer.get("podSelector", {}).get("matchLabels") == OPERATOR
                and "kubernetes.io/metadata.name" in peer.get("namespaceSelector", {}).get("matchLabels", {}))
    itself = peer.keys() == {"podSelector"} and [t for t in everyone if selects(peer["podSelector"], t)] == [head]
    return operator or itself


def network_problems(m: Manifests) -> list[str]:
    """A NetworkPolicy guards every Ray pod: only the KubeRay operator (in its namespace) and the head itself
    reach the dashboard and the client port, the cluster's workers still reach the head's GCS, and the RayJob
    is submitted by the operator (HTTPMode), not from a submitter pod."""
    everyone = [labels_of(t) for docs in m.values() for doc in docs for t in pod_templates(doc)]
    policies = [p["spec"] for p in docs_of(m, "NetworkPolicy") if "Ingress" in p["spec"].get("policyTypes", [])]
    problems = [f"the RayJob is submitted in {job['spec'].get('submissionMode', 'K8sJobMode')} (from a pod): "
                "only HTTPMode leaves the dashboard to the operator" for job in docs_of(m, "RayJob")
                if job["spec"].get("submissionMode") != "HTTPMode"]
    for doc in ray_docs(m):
        cluster = ray_cluster(doc)
        head = labels_of(cluster["headGroupSpec"]["template"])
        workers = [labels_of(group["template"]) for group in cluster.get("workerGroupSpecs", [])]
        problems += [f"no NetworkPolicy guards {labels['app.kubernetes.io/component']}" for labels in [head, *workers]
                     if not any(selects(p["podSelector"], labels) for p in policies)]
        rules = [rule for p in policies if selects(p["podSelector"], head) for rule in p.get("ingress", [])]
        named = {p["name"]: p["containerPort"] for p in ray_head(doc).get("ports", [])}

        def peers(port: int) -> list[dict]:
            return [peer for rule in rules if opens(rule, port, named) for peer in rule.get("from") or [{}]]
        problems += [f"{doc['kind']}: port {port} is open to {peer or 'everyone'}"
                     for port in (named["dashboard"], named["client"]) for peer in peers(port)
                     if not trusted_peer(peer, head, everyone)]
        problems += [f"{doc['kind']}: the workers cannot reach the head's GCS" for labels in workers
                     if not any(selects(peer.get("podSelector", {}), labels) for peer in peers(named["gcs-server"]))]
    return problems


@functools.cache
def faust_internal_topics(partitions: int) -> dict[str, int]:
    """The topics the Faust app creates for itself (table changelogs, its own internal topics, the assignor's
    leader topic) with their partition counts, read from the app the workers build."""
    from streams.agents import Sinks, build

    settings = Settings(partitions=partitions)
    app = build(settings, "kafka.invalid:9092", Sinks(settings))
    sources = {name for agent in app.agents.values() for name in agent.channel.topics}
    internal = {t.changelog_topic.get_topic_name(): t.changelog_topic.partitions for t in app.tables.values()}
    internal |= {name: partitions for name in sources - set(settings.topics.values())}
    return internal | {app._leader_assignor._leader_topic_name: 1}


def topic_problems(m: Manifests) -> list[str]:
    """A KafkaTopic for every topic role and every Faust internal topic, with the configured partitions and
    replicas."""
    settings = manifest_settings(m)
    topics = docs_of(m, "KafkaTopic")
    problems = [f"{t['spec']['topicName']} has {t['spec']['replicas']} replicas, not FLYWHEEL_REPLICATION_FACTOR "
                f"{settings.replication_factor}"
                for t in topics if t["spec"]["replicas"] != settings.replication_factor]
    by_role = {role: [t["spec"] for t in topics if t["metadata"]["labels"].get("cs-flywheel/topic-role") == role]
               for role in [*settings.topics, "internal"]}
    for role, name in settings.topics.items():
        if [(s["topicName"], s["partitions"]) for s in by_role[role]] != [(name, settings.partitions)]:
            problems.append(f"role {role}: expected one KafkaTopic {name} with {settings.partitions} partitions")
    declared = {s["topicName"]: s["partitions"] for s in by_role["internal"]}
    made = faust_internal_topics(settings.partitions)
    problems += [f"Faust's {name} needs {count} partitions, its KafkaTopic gives {declared.get(name)}"
                 for name, count in made.items() if declared.get(name) != count]
    return problems + [f"{name} is declared internal, but Faust makes no such topic" for name in declared.keys() - made]


def image_problems(m: Manifests) -> list[str]:
    """One image of the project everywhere, tagged with the project's version; Ray as pinned, everywhere."""
    version, ray = project_pins()
    problems = []
    for file, docs in m.items():
        for container in (c for doc in docs for c in containers(doc)):
            repository, _, tag = container["image"].rpartition(":")
            if repository == IMAGE_REPOSITORY and tag != version:
                problems.append(f"{file}: {container['image']} is not version {version} of pyproject.toml")
            elif repository not in {IMAGE_REPOSITORY, *HELPER_IMAGES}:
                problems.append(f"{file}: unexpected image {container['image']}")
    problems += [f"{d['kind']} runs Ray {ray_cluster(d)['rayVersion']}, not the pinned {ray}"
                 for d in docs_of(m, "RayService") + docs_of(m, "RayJob") if ray_cluster(d)["rayVersion"] != ray]
    base = re.search(r"^FROM rayproject/ray:([\d.]+)-", (DEPLOY / "Dockerfile").read_text(), re.M)
    if base is None or base.group(1) != ray:
        problems.append(f"the Dockerfile does not build on rayproject/ray:{ray}")
    return problems


def command_problems(m: Manifests) -> list[str]:
    """Every `flywheel` command the manifests run (containers and the RayJob's entrypoint) is one the CLI takes."""
    commands = [c["command"] for docs in m.values() for doc in docs for c in containers(doc) if "command" in c]
    commands += [shlex.split(job["spec"]["entrypoint"]) for job in docs_of(m, "RayJob")]
    return [f"the CLI rejects {shlex.join(command)}" for command in commands
            if command[0] == "flywheel" and flywheel_args(command[1:]) is None]


def serve_problems(m: Manifests) -> list[str]:
    """The RayService deploys serving.app:build_app on FLYWHEEL_SERVE_HOST/PORT, with a GPU worker per replica."""
    settings = manifest_settings(m)
    service = one(m, "RayService")
    config = yaml.safe_load(service["spec"]["serveConfigV2"])
    problems = [f"the Serve application is built by {paths}, not {SERVE_IMPORT_PATH}"
                for paths in [[a["import_path"] for a in config["applications"]]] if paths != [SERVE_IMPORT_PATH]]
    http = config["http_options"]
    if (http["host"], http["port"]) != (settings.serve_host, settings.serve_port):
        problems.append(f"Serve listens on {http['host']}:{http['port']}, the settings say "
                        f"{settings.serve_host}:{settings.serve_port}")
    problems += [f"container port serve is {p['containerPort']}, not {settings.serve_port}"
                 for c in containers(service) for p in c.get("ports", [])
                 if p["name"] == "serve" and p["containerPort"] != settings.serve_port]
    if sum(g["minReplicas"] for g in ray_cluster(service)["workerGroupSpecs"]) < settings.serve_replicas:
        problems.append(f"fewer GPU workers than FLYWHEEL_SERVE_REPLICAS={settings.serve_replicas}")
    scraped = ray_cluster(service)["headGroupSpec"]["template"]["metadata"]["annotations"]
    if (int(scraped["prometheus.io/port"]), scraped["prometheus.io/path"]) != (settings.serve_port, "/metrics"):
        problems.append("the head's scrape annotations do not point at the chat API's /metrics")
    return problems


def _port(container: dict, port: int | str) -> int | None:
    """A probe's port, named or numbered, as a number."""
    named = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    return named.get(port) if isinstance(port, str) else port


def worker_problems(m: Manifests) -> list[str]:
    """The stream workers run a real `flywheel worker` command whose web port is the one scraped and probed."""
    settings = manifest_settings(m)
    deployment = one(m, "Deployment", "cs-flywheel-streams")
    [container] = containers(deployment)
    command = container["command"]
    args = flywheel_args(command[1:]) if command[0] == "flywheel" else None
    if args is None or args.handler.__name__ != "cmd_worker":
        return [f"{shlex.join(command)} is not a `flywheel worker` command"]
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    ports = {"prometheus.io/port": int(annotations["prometheus.io/port"]),
             **{probe: _port(container, container[probe]["httpGet"]["port"])
                for probe in ("startupProbe", "livenessProbe")}}
    problems = [f"{what} is {port}, the worker serves /metrics on {args.web_port}"
                for what, port in ports.items() if port != args.web_port]
    if {e["name"]: e.get("value") for e in container.get("env", [])}.get("WEB_BIND") != "0.0.0.0":
        problems.append("WEB_BIND is not 0.0.0.0: /metrics is then reachable on the pod's loopback only")
    if deployment["spec"]["replicas"] > settings.partitions:
        problems.append(f"{deployment['spec']['replicas']} workers for {settings.partitions} partitions")
    return problems


def retrain_problems(m: Manifests) -> list[str]:
    """The RayJob runs one `flywheel retrain` on FLYWHEEL_TRAIN_WORKERS GPU workers; the CronJob creates it from
    the generated ConfigMap on FLYWHEEL_RETRAIN_CRON, in UTC."""
    settings = manifest_settings(m)
    job, cron = one(m, "RayJob"), one(m, "CronJob", RETRAIN_CRON)
    args = flywheel_args(shlex.split(job["spec"]["entrypoint"])[1:])
    problems = [] if args is not None and args.handler.__name__ == "cmd_retrain" and not args.schedule else [
        f"the RayJob's entrypoint {job['spec']['entrypoint']!r} is not one `flywheel retrain`"]
    if "FLYWHEEL_RAY_ADDRESS" not in {e["name"] for e in ray_head(job).get("env", [])}:
        problems.append("the RayJob's head does not set FLYWHEEL_RAY_ADDRESS: the refresh would start its own Ray")
    [gpu] = ray_cluster(job)["workerGroupSpecs"]
    if {gpu["replicas"], gpu["minReplicas"], gpu["maxReplicas"]} != {settings.train_workers}:
        problems.append(f"the GPU group is not FLYWHEEL_TRAIN_WORKERS={settings.train_workers} pods")
    problems += [f"a training pod has {c['resources']['limits']} for {settings.train_cpus_per_worker} CPUs per worker"
                 for c in containers(gpu) if c["resources"]["limits"].get("nvidia.com/gpu") != "1"
                 or int(c["resources"]["limits"]["cpu"]) < settings.train_cpus_per_worker]
    if (cron["spec"]["schedule"], cron["spec"]["timeZone"]) != (settings.retrain_cron, "Etc/UTC"):
        problems.append(f"the refresh CronJob runs on {cron['spec']['schedule']!r} {cron['spec']['timeZone']}, "
                        f"not FLYWHEEL_RETRAIN_CRON={settings.retrain_cron!r} in UTC")
    [generator] = m["kustomization.yaml"][0]["configMapGenerator"]
    [volume] = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"]
    if generator["files"] != ["rayjob.yaml=retrain-rayjob.yaml"] or volume["configMap"]["name"] != generator["name"]:
        problems.append("the CronJob does not mount retrain-rayjob.yaml as generated by kustomization.yaml")
    return problems


def watch_problems(m: Manifests) -> list[str]:
    """A CronJob runs one `flywheel watch --json` at least every WATCH_EVERY_S, one look at a time, and a look
    that hangs is ended (else Forbid would stop the watch for good); no scheduler daemon (`flywheel retrain
    --schedule`, which watches too) runs beside it, so two looks never race to roll the same champion back."""
    from croniter import croniter

    cron = one(m, "CronJob", WATCH_CRON)
    spec, job = cron["spec"], cron["spec"]["jobTemplate"]["spec"]
    [container] = containers(cron)
    command = container.get("command", [])
    args = flywheel_args(command[1:]) if command[:1] == ["flywheel"] else None
    problems = [] if args is not None and args.handler.__name__ == "cmd_watch" and args.json else [
        f"the watch CronJob runs {shlex.join(command)}, not `flywheel watch --json`"]
    if not croniter.is_valid(spec["schedule"]):
        problems.append(f"the watch's schedule {spec['schedule']!r} is not a cron expression")
    else:  # a week of looks: the widest gap between two of them
        fires = croniter(spec["schedule"], datetime(2025, 1, 6, tzinfo=UTC))
        times = [fires.get_next(datetime) for _ in range(7 * 24 * 3600 // WATCH_EVERY_S + 1)]
        gap = max((b - a).total_seconds() for a, b in itertools.pairwise(times))
        if gap > WATCH_EVERY_S:
            problems.append(f"the watch's schedule {spec['schedule']!r} leaves {gap:.0f} s between looks, "
                            f"more than {WATCH_EVERY_S}")
    if spec.get("concurrencyPolicy") != "Forbid":
        problems.append(f"the watch's concurrencyPolicy is {spec.get('concurrencyPolicy', 'Allow')}, not Forbid")
    if not job.get("activeDeadlineSeconds"):
        problems.append("a watch look that hangs is never ended (activeDeadlineSeconds): Forbid then stops the "
                        "watch")
    commands = [c["command"] for docs in m.values() for doc in docs for c in containers(doc) if "command" in c]
    commands += [shlex.split(j["spec"]["entrypoint"]) for j in docs_of(m, "RayJob")]
    daemons = [c for c in commands if c[:1] == ["flywheel"] and (a := flywheel_args(c[1:])) is not None
               and a.handler.__name__ == "cmd_retrain" and a.schedule]
    return problems + [f"{shlex.join(c)} watches the champion too: two watchers beside the watch CronJob"
                       for c in daemons]


def mount_problems(m: Manifests) -> list[str]:
    """Every container of the project's image takes the settings; every container given them mounts the data
    directory, the Kafka CA and the shop file the settings name, the shop from its ConfigMap."""
    settings = manifest_settings(m)
    needed = {"FLYWHEEL_DATA_DIR": PurePosixPath(settings.data_dir),
              "FLYWHEEL_SSL_CA_LOCATION": PurePosixPath(settings.ssl_ca_location).parent,
              "FLYWHEEL_SHOP": PurePosixPath(settings.shop).parent}
    problems = []
    for file, docs in m.items():
        for spec in (t["spec"] for doc in docs for t in pod_templates(doc)):
            volumes = {v["name"]: v for v in spec.get("volumes", [])}
            for container in spec["containers"] + spec.get("initContainers", []):
                if {"configMapRef": {"name": SETTINGS_MAP}} not in container.get("envFrom", []):
                    if container["image"].rpartition(":")[0] == IMAGE_REPOSITORY:
                        problems.append(f"{file}: {container['name']} runs the project's image without the "
                                        f"settings ({SETTINGS_MAP})")
                    continue
                mounts = {PurePosixPath(v["mountPath"]): v["name"] for v in container.get("volumeMounts", [])}
                problems += [f"{file}: {container['name']} does not mount {path} ({name})"
                             for name, path in needed.items() if path not in mounts]
                shop = volumes.get(mounts.get(needed["FLYWHEEL_SHOP"]), {})
                if needed["FLYWHEEL_SHOP"] in mounts and shop.get("configMap", {}).get("name") != SHOP_MAP:
                    problems.append(f"{file}: {container['name']} mounts {needed['FLYWHEEL_SHOP']} from "
                                    f"{shop or 'no volume'}, not the ConfigMap {SHOP_MAP}")
    return problems


def kustomization_problems(m: Manifests) -> list[str]:
    """`kubectl apply -k` applies every manifest but those in NOT_APPLIED, each in the namespace it names."""
    listed = set(m["kustomization.yaml"][0]["resources"])
    expected = set(m) - NOT_APPLIED - {"kustomization.yaml"}
    problems = [f"kustomization.yaml lists {sorted(listed - expected)} and misses {sorted(expected - listed)}"
                ] if listed != expected else []
    return problems + [f"{file}: {doc['kind']} {doc['metadata'].get('name')} names no namespace"
                       for file in listed & set(m) for doc in m[file]
                       if doc["kind"] != "Namespace" and "namespace" not in doc["metadata"]]


def restricted_problems(pod: dict, container: dict) -> list[str]:
    """What keeps a container (with its pod's securityContext) from the "restricted" Pod Security level."""
    def effective(field: str) -> Any:
        return container.get(field, pod.get(field))
    capabilities = container.get("capabilities", {})
    checks = {
        "may run as root (runAsNonRoot)": effective("runAsNonRoot") is not True or effective("runAsUser") == 0,
        "may escalate privileges": container.get("allowPrivilegeEscalation") is not False,
        "is privileged": container.get("privileged") is True,
        "keeps Linux capabilities (drop ALL)": "ALL" not in capabilities.get("drop", []),
        "adds a capability": not set(capabilities.get("add", [])) <= {"NET_BIND_SERVICE"},
        "has no seccomp profile": (effective("seccompProfile") or {}).get("type") not in SECCOMP_PROFILES,
    }
    return [why for why, failed in checks.items() if failed]


def pod_security_problems(m: Manifests) -> list[str]:
    """Every pod passes the "restricted" Pod Security level: every container, init containers and the autoscaler
    KubeRay adds to a Ray head included, no host namespaces, only the volume types it allows; and the namespace
    enforces that level, so a pod that does not is refused."""
    problems = []
    for file, docs in m.items():
        for spec in (t["spec"] for doc in docs for t in pod_templates(doc)):
            pod = spec.get("securityContext", {})
            problems += [f"{file}: {c['name']} {why}" for c in spec["containers"] + spec.get("initContainers", [])
                         for why in restricted_problems(pod, c.get("securityContext", {}))]
            problems += [f"{file}: a pod uses {field}" for field in ("hostNetwork", "hostPID", "hostIPC")
                         if spec.get(field)]
            problems += [f"{file}: volume {v['name']} is not of a type the restricted level allows"
                         for v in spec.get("volumes", []) if not v.keys() - {"name"} <= PSA_VOLUMES]
    for doc in ray_docs(m):
        cluster = ray_cluster(doc)
        if cluster.get("enableInTreeAutoscaling"):
            head_pod = cluster["headGroupSpec"]["template"]["spec"].get("securityContext", {})
            autoscaler = (cluster.get("autoscalerOptions") or {}).get("securityContext", {})
            problems += [f"{doc['kind']}: the autoscaler {why}" for why in restricted_problems(head_pod, autoscaler)]
    labels = one(m, "Namespace")["metadata"].get("labels", {})
    if labels.get("pod-security.kubernetes.io/enforce") != "restricted":
        problems.append("the namespace does not enforce the restricted Pod Security level")
    return problems


def duration_s(text: str) -> float:
    """A Prometheus duration (``15m``, ``1h``) in seconds."""
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    return sum(int(n) * seconds[unit] for n, unit in re.findall(r"(\d+)([smhd])", text))


def alert_problems(m: Manifests) -> list[str]:
    """The stream workers' join table and stalled feature-store writes are alerted on: the join table above a
    threshold for at least 15 minutes (a level, so it must last), the stall past 60 s (already a duration)."""
    rules = [rule for group in one(m, "PrometheusRule")["spec"]["groups"] for rule in group["rules"]]
    joins = [r for r in rules if JOIN_ALERT in r["expr"] and re.search(r">\s*\d", r["expr"])]
    stalls = [r for r in rules if re.search(rf"{STALL_ALERT}\s*>\s*60\b", r["expr"])]
    problems = [] if joins else [f"no alert on {JOIN_ALERT} above a threshold"]
    problems += [f"{r['alert']} fires after {r.get('for', '0s')}, not 15 minutes" for r in joins
                 if duration_s(r.get("for", "0s")) < 15 * 60]
    return problems + ([] if stalls else [f"no alert on {STALL_ALERT} > 60"])


def exported_metrics() -> set[str]:
    """The metric families the stream workers and the chat API export."""
    from serving.metrics import ServeMetrics
    from streams.metrics import StreamMetrics

    return {family.name for metrics in (StreamMetrics(), ServeMetrics()) for family in metrics.registry.collect()}


def metric_problems(m: Manifests) -> list[str]:
    """Every metric the alerts use is one the code exports (a counter's samples end in _total, a histogram's in
    _bucket, _sum and _count)."""
    exported = exported_metrics()
    used = {name for group in one(m, "PrometheusRule")["spec"]["groups"] for rule in group["rules"]
            for name in METRIC_NAME.findall(rule["expr"])}
    return [f"{name} is not a metric the code exports" for name in sorted(used)
            if re.sub(r"_(total|bucket|sum|count)$", "", name) not in exported]


CHECKS: list[Callable[[Manifests], list[str]]] = [
    env_problems, secret_problems, topic_problems, image_problems, command_problems, serve_problems, worker_problems,
    retrain_problems, watch_problems, mount_problems, kustomization_problems, metric_problems, secret_split_problems,
    dsn_problems, ray_auth_problems, network_problems, pod_security_problems, alert_problems,
]


# --- the manifests pass ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_the_manifests_agree_with_the_code(manifests: Manifests, check: Callable[[Manifests], list[str]]):
    assert check(manifests) == []


def test_the_manifest_settings_are_production_settings(manifests: Manifests):
    settings = manifest_settings(manifests)
    assert not settings.embedded and settings.feature_store == "production"
    assert settings.security_protocol == "SASL_SSL" and settings.kafka_security()["sasl.mechanism"]


def test_the_referenced_feast_config_is_the_one_features_config_renders(manifests: Manifests):
    from features.config import EXAMPLES, render, repo_config, store_config

    path = REPO / one(manifests, "ConfigMap", SETTINGS_MAP)["metadata"]["annotations"]["cs-flywheel/feast-config"]
    assert path.read_text() == render(EXAMPLES[path.name])
    rendered = repo_config(store_config(manifest_settings(manifests)))  # the Secret's DSN names what Feast needs
    assert yaml.safe_load(render(EXAMPLES[path.name])).keys() == rendered.keys()
    assert (rendered["online_store"]["type"], rendered["offline_store"]["type"]) == ("redis", "postgres")


def serve_code_problems(m: Manifests, source: str) -> list[str]:
    """The Serve config names what the serving module defines: the function its import path calls, the
    application name `flywheel serve` uses (APP_NAME), and the deployments it overrides."""
    tree = ast.parse(source)
    [app] = yaml.safe_load(one(m, "RayService")["spec"]["serveConfigV2"])["applications"]
    functions = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    constants = {node.targets[0].id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
                 and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Constant)}
    names = {k.value.value for k in ast.walk(tree) if isinstance(k, ast.keyword) and k.arg == "name"
             and isinstance(k.value, ast.Constant)}
    function = app["import_path"].partition(":")[2]
    problems = [] if function in functions else [f"{SERVE_MODULE} defines no function {function}"]
    if app["name"] != constants.get("APP_NAME"):
        problems.append(f"the application is {app['name']}, {SERVE_MODULE} calls it {constants.get('APP_NAME')}")
    return problems + [f"{SERVE_MODULE} has no deployment {d['name']}" for d in app.get("deployments", [])
                       if d["name"] not in names]


@pytest.fixture
def serve_source() -> str:
    path = REPO / SERVE_MODULE
    if not path.exists():
        pytest.skip(f"{SERVE_MODULE} does not exist yet (the serving tier of issue 6 is being built)")
    return path.read_text(encoding="utf-8")


def test_the_serve_config_names_what_serving_app_defines(manifests: Manifests, serve_source: str):
    assert serve_code_problems(manifests, serve_source) == []


@pytest.mark.parametrize(("old", "new"), [("build_app", "make_app"), ("name: flywheel ", "name: chat "),
                                          ("ChatModel", "ChatModels")])
def test_a_serve_config_naming_what_serving_lacks_fails(manifests: Manifests, serve_source: str, old: str, new: str):
    broken = copy.deepcopy(manifests)
    _serve_config(broken, old, new)
    assert serve_code_problems(broken, serve_source) != []


def test_kustomize_renders_the_cronjob_with_the_rayjob_it_creates(manifests: Manifests):
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed: `kubectl kustomize infra/deploy` is unchecked")
    rendered = list(yaml.safe_load_all(subprocess.run(["kubectl", "kustomize", str(DEPLOY)], capture_output=True,
                                                      text=True, check=True).stdout))
    listed = manifests["kustomization.yaml"][0]["resources"]
    assert len(rendered) == sum(len(manifests[file]) for file in listed) + 1  # + the generated ConfigMap
    [generated] = [d for d in rendered if d["metadata"]["name"].startswith("cs-flywheel-retrain-job-")]
    [cron] = [d for d in rendered if d["kind"] == "CronJob" and d["metadata"]["name"] == RETRAIN_CRON]
    assert cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"] == \
        generated["metadata"]["name"]
    assert generated["data"]["rayjob.yaml"] == (DEPLOY / "retrain-rayjob.yaml").read_text(encoding="utf-8")


def test_faust_binds_the_web_server_where_the_manifest_says(manifests: Manifests):
    """The worker's WEB_BIND overrides the loopback address streams/app.py gives Faust's web server, so that
    Prometheus and the kubelet reach /metrics on the pod's address."""
    from streams.app import create_app

    [container] = containers(one(manifests, "Deployment", "cs-flywheel-streams"))
    env = {e["name"]: e["value"] for e in container["env"]}
    with mock.patch.dict(os.environ, env):
        app = create_app(Settings(), "kafka.invalid:9092", web_port=6066)
    assert app.conf.web_bind == env["WEB_BIND"] == "0.0.0.0"


# --- and the checks can fail ---------------------------------------------------------------------------------


def _settings_map(m: Manifests) -> dict:
    return one(m, "ConfigMap", SETTINGS_MAP)["data"]


def _worker(m: Manifests) -> dict:
    return containers(one(m, "Deployment", "cs-flywheel-streams"))[0]


def _watch_cron(m: Manifests) -> dict:
    return one(m, "CronJob", WATCH_CRON)


def _watch_pod(m: Manifests) -> dict:
    return _watch_cron(m)["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def _watch(m: Manifests) -> dict:
    [container] = containers(_watch_cron(m))
    return container


def _secret(m: Manifests, name: str) -> dict:
    return one(m, "Secret", name)["stringData"]


def _policy(m: Manifests, name: str) -> dict:
    return one(m, "NetworkPolicy", name)["spec"]


def _rules(m: Manifests) -> list[dict]:
    return one(m, "PrometheusRule")["spec"]["groups"][0]["rules"]


def _alert(m: Manifests, name: str) -> dict:
    return next(rule for rule in _rules(m) if rule["alert"] == name)


def _topic(m: Manifests, role: str) -> dict:
    return next(t for t in docs_of(m, "KafkaTopic") if t["metadata"]["labels"]["cs-flywheel/topic-role"] == role)


def _rename(mapping: dict, old: str, new: str) -> None:
    mapping[new] = mapping.pop(old)


def _serve_config(m: Manifests, old: str, new: str) -> None:
    spec = one(m, "RayService")["spec"]
    spec["serveConfigV2"] = spec["serveConfigV2"].replace(old, new)


BREAKAGES: dict[str, tuple[Callable[[Manifests], object], Callable[[Manifests], list[str]]]] = {
    "a misspelt setting": (lambda m: _rename(_settings_map(m), "FLYWHEEL_PARTITIONS", "FLYWHEEL_PARTITONS"),
                           env_problems),
    "a misspelt setting in a pod's env": (lambda m: ray_head(one(m, "RayJob"))["env"][0].update(
        name="FLYWHEEL_RAY_ADRESS"), env_problems),
    "a topic with fewer partitions": (lambda m: _topic(m, "satisfaction")["spec"].update(partitions=6), topic_problems),
    "more partitions in the settings only": (lambda m: _settings_map(m).update(FLYWHEEL_PARTITIONS="24"),
                                             topic_problems),
    "a renamed topic": (lambda m: _settings_map(m).update(FLYWHEEL_TOPIC_DEAD_LETTERS="cs.dlq"), topic_problems),
    "a missing changelog topic": (lambda m: m["kafka-topics.yaml"].remove(
        next(t for t in docs_of(m, "KafkaTopic") if t["spec"]["topicName"].endswith("-joins-changelog"))),
        topic_problems),
    "a stale image tag": (lambda m: _worker(m).update(image=f"{IMAGE_REPOSITORY}:0.0.9"), image_problems),
    "another Ray": (lambda m: one(m, "RayJob")["spec"]["rayClusterSpec"].update(rayVersion="2.9.0"), image_problems),
    "a wrong import path": (lambda m: _serve_config(m, SERVE_IMPORT_PATH, "serving.app:app"), serve_problems),
    "another serve port": (lambda m: _settings_map(m).update(FLYWHEEL_SERVE_PORT="9000"), serve_problems),
    "fewer GPU workers than model replicas": (lambda m: _settings_map(m).update(FLYWHEEL_SERVE_REPLICAS="3"),
                                              serve_problems),
    "a command the CLI does not have": (lambda m: _worker(m).update(command=["flywheel", "wroker"]), worker_problems),
    "a flag the worker does not have": (lambda m: _worker(m).update(command=["flywheel", "worker", "--port", "1"]),
                                        worker_problems),
    "a scrape port that is not the web port": (
        lambda m: one(m, "Deployment", "cs-flywheel-streams")["spec"]["template"]["metadata"]["annotations"].update(
            {"prometheus.io/port": "6067"}), worker_problems),
    "a loopback web server": (lambda m: _worker(m).pop("env"), worker_problems),
    "more workers than partitions": (lambda m: one(m, "Deployment", "cs-flywheel-streams")["spec"].update(replicas=13),
                                     worker_problems),
    "a misspelt command": (
        lambda m: containers(docs_of(m, "Job")[0])[0].update(command=["flywheel", "features", "aply"]),
        command_problems),
    "a refresh that never ends": (lambda m: one(m, "RayJob")["spec"].update(entrypoint="flywheel retrain --schedule"),
                                  retrain_problems),
    "another weekly schedule": (lambda m: one(m, "CronJob", RETRAIN_CRON)["spec"].update(schedule="0 4 * * 1"),
                                retrain_problems),
    "fewer GPU workers than training workers": (lambda m: _settings_map(m).update(FLYWHEEL_TRAIN_WORKERS="4"),
                                                retrain_problems),
    "a password in the ConfigMap": (lambda m: _settings_map(m).update(FLYWHEEL_SASL_PASSWORD="hunter2"),
                                    secret_problems),
    "a real value in the Secret template": (
        lambda m: _secret(m, "cs-flywheel-admin").update(FLYWHEEL_ADMIN_TOKEN="0123abcd"), secret_problems),
    "one credential in two Secrets": (
        lambda m: _secret(m, "cs-flywheel-registry").update(FLYWHEEL_POSTGRES_DSN="CHANGE-ME"), secret_problems),
    "the admin token given to the stream workers": (
        lambda m: _worker(m)["envFrom"].append({"secretRef": {"name": "cs-flywheel-admin"}}), secret_split_problems),
    "the policy signing key in a Secret pods take": (
        lambda m: _secret(m, "cs-flywheel-kafka").update(FLYWHEEL_POLICY_SIGNING_KEY="CHANGE-ME"),
        secret_split_problems),
    "the policy signing key in serving's env": (lambda m: ray_head(one(m, "RayService")).setdefault("env", []).append(
        {"name": "FLYWHEEL_POLICY_SIGNING_KEY", "value": "CHANGE-ME"}), secret_split_problems),
    "the policy key id in the ConfigMap": (lambda m: _settings_map(m).update(FLYWHEEL_POLICY_KEY_ID="team-1"),
                                           secret_split_problems),
    "a component short of a Secret it uses": (
        lambda m: _worker(m)["envFrom"].remove({"secretRef": {"name": "cs-flywheel-kafka"}}), secret_split_problems),
    "the admin token given to the watch": (
        lambda m: _watch(m)["envFrom"].append({"secretRef": {"name": "cs-flywheel-admin"}}), secret_split_problems),
    "the watch short of the registry it rolls back in": (
        lambda m: _watch(m)["envFrom"].remove({"secretRef": {"name": "cs-flywheel-registry"}}),
        secret_split_problems),
    "the watch short of Kafka it announces on": (
        lambda m: _watch(m)["envFrom"].remove({"secretRef": {"name": "cs-flywheel-kafka"}}), secret_split_problems),
    "the policy signing key in the watch's env": (lambda m: _watch(m).setdefault("env", []).append(
        {"name": "FLYWHEEL_POLICY_SIGNING_KEY", "value": "CHANGE-ME"}), secret_split_problems),
    "a Secret the template does not define": (
        lambda m: _worker(m)["envFrom"].append({"secretRef": {"name": "cs-flywheel-secrets"}}), secret_split_problems),
    "a registry without TLS": (lambda m: _secret(m, "cs-flywheel-registry").update(
        FLYWHEEL_REGISTRY_URL="postgresql+psycopg://flywheel:CHANGE-ME@db:5432/flywheel"), dsn_problems),
    "an offline store that only prefers TLS": (lambda m: _secret(m, "cs-flywheel-feature-store").update(
        FLYWHEEL_POSTGRES_DSN="postgresql://flywheel:CHANGE-ME@db:5432/flywheel?sslmode=prefer"), dsn_problems),
    "Redis without TLS": (lambda m: _secret(m, "cs-flywheel-feature-store").update(
        FLYWHEEL_REDIS_URL="redis:6379,password=CHANGE-ME"), dsn_problems),
    "serving without Ray token authentication": (lambda m: ray_cluster(one(m, "RayService")).pop("authOptions"),
                                                 ray_auth_problems),
    "the refresh with token authentication turned off": (lambda m: ray_head(one(m, "RayJob"))["env"].append(
        {"name": "RAY_AUTH_MODE", "value": "disabled"}), ray_auth_problems),
    "a Ray without token authentication": (
        lambda m: ray_cluster(one(m, "RayJob")).update(rayVersion="2.51.0"), ray_auth_problems),
    "the RayJob submitted from a pod": (lambda m: one(m, "RayJob")["spec"].update(submissionMode="K8sJobMode"),
                                        network_problems),
    "the dashboard open to every pod": (lambda m: _policy(m, "cs-flywheel-serve-ray")["ingress"].append(
        {"ports": [{"port": 8265}]}), network_problems),
    "the client port open to the workers": (
        lambda m: _policy(m, "cs-flywheel-retrain-ray")["ingress"][1].pop("ports"), network_problems),
    "the operator's namespace left open": (
        lambda m: _policy(m, "cs-flywheel-serve-ray")["ingress"][0]["from"][0].pop("podSelector"), network_problems),
    "no policy on the refresh's cluster": (
        lambda m: m["network-policy.yaml"].remove(one(m, "NetworkPolicy", "cs-flywheel-retrain-ray")),
        network_problems),
    "the workers cut off from the GCS": (lambda m: _policy(m, "cs-flywheel-serve-ray")["ingress"].pop(1),
                                         network_problems),
    "a worker that may escalate": (lambda m: _worker(m)["securityContext"].update(allowPrivilegeEscalation=True),
                                   pod_security_problems),
    "a Ray pod without seccomp": (lambda m: ray_cluster(one(m, "RayJob"))["workerGroupSpecs"][0]["template"]["spec"][
        "securityContext"].pop("seccompProfile"), pod_security_problems),
    "capabilities kept": (lambda m: containers(one(m, "CronJob", RETRAIN_CRON))[0]["securityContext"].pop(
        "capabilities"), pod_security_problems),
    "a watch that may run as root": (lambda m: _watch_pod(m)["securityContext"].pop("runAsNonRoot"),
                                     pod_security_problems),
    "a watch without seccomp": (lambda m: _watch_pod(m)["securityContext"].pop("seccompProfile"),
                                pod_security_problems),
    "an init container as root": (lambda m: one(m, "Deployment")["spec"]["template"]["spec"].update(
        initContainers=[{"name": "init", "image": f"{IMAGE_REPOSITORY}:0.1.0", "securityContext": {
            "runAsUser": 0, "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}]),
        pod_security_problems),
    "the autoscaler left unrestricted": (lambda m: ray_cluster(one(m, "RayService")).pop("autoscalerOptions"),
                                         pod_security_problems),
    "a host path volume": (lambda m: one(m, "Deployment")["spec"]["template"]["spec"]["volumes"].append(
        {"name": "host", "hostPath": {"path": "/"}}), pod_security_problems),
    "a namespace that does not enforce the level": (
        lambda m: one(m, "Namespace")["metadata"]["labels"].pop("pod-security.kubernetes.io/enforce"),
        pod_security_problems),
    "no alert on the join table": (lambda m: _rules(m).remove(_alert(m, "FlywheelJoinTableLarge")), alert_problems),
    "a join-table alert that fires on a blip": (lambda m: _alert(m, "FlywheelJoinTableLarge").update({"for": "1m"}),
                                                alert_problems),
    "no alert on stalled feature-store writes": (
        lambda m: _alert(m, "FlywheelFeatureStoreStalled").update(expr=f"{STALL_ALERT} > 600"), alert_problems),
    "the Kafka CA not mounted": (lambda m: _worker(m)["volumeMounts"].pop(), mount_problems),
    "the watch without the shop file": (lambda m: _watch(m)["volumeMounts"].pop(), mount_problems),
    "the watch without its settings": (
        lambda m: _watch(m)["envFrom"].remove({"configMapRef": {"name": SETTINGS_MAP}}), mount_problems),
    "the shop from another ConfigMap": (
        lambda m: _watch_pod(m)["volumes"][-1]["configMap"].update(name="cs-flywheel-demo-shop"), mount_problems),
    "a watch every hour": (lambda m: _watch_cron(m)["spec"].update(schedule="0 * * * *"), watch_problems),
    "a watch that sleeps at night": (lambda m: _watch_cron(m)["spec"].update(schedule="*/5 6-22 * * *"),
                                     watch_problems),
    "a watch schedule that is no cron": (lambda m: _watch_cron(m)["spec"].update(schedule="every 5 minutes"),
                                         watch_problems),
    "overlapping looks": (lambda m: _watch_cron(m)["spec"].update(concurrencyPolicy="Allow"), watch_problems),
    "a hung look that blocks the watch": (lambda m: _watch_cron(m)["spec"]["jobTemplate"]["spec"].pop(
        "activeDeadlineSeconds"), watch_problems),
    "the watch running another command": (lambda m: _watch(m).update(command=["flywheel", "rollback"]),
                                          watch_problems),
    "the watch without --json": (lambda m: _watch(m).update(command=["flywheel", "watch"]), watch_problems),
    "a misspelt watch command": (lambda m: _watch(m).update(command=["flywheel", "wacth", "--json"]),
                                 command_problems),
    "a scheduler daemon beside the watch": (
        lambda m: one(m, "RayJob")["spec"].update(entrypoint="flywheel retrain --schedule"), watch_problems),
    "the watch on a stale image": (lambda m: _watch(m).update(image=f"{IMAGE_REPOSITORY}:0.0.9"), image_problems),
    "the watch left out of kustomization.yaml": (
        lambda m: m["kustomization.yaml"][0]["resources"].remove("watch-schedule.yaml"), kustomization_problems),
    "a manifest left out of kustomization.yaml": (
        lambda m: m["kustomization.yaml"][0]["resources"].remove("alerts.yaml"), kustomization_problems),
    "the Secret template applied with the rest": (
        lambda m: m["kustomization.yaml"][0]["resources"].append("secrets.template.yaml"), kustomization_problems),
    "an alert on a metric nobody exports": (
        lambda m: one(m, "PrometheusRule")["spec"]["groups"][0]["rules"][0].update(expr="flywheel_stream_lagg > 0"),
        metric_problems),
    "an alert on a serving metric nobody exports": (
        lambda m: one(m, "PrometheusRule")["spec"]["groups"][1]["rules"][0].update(
            expr="rate(flywheel_serve_timeouts_total[5m]) > 0"), metric_problems),
}


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_a_broken_manifest_fails_its_check(manifests: Manifests, breakage: str):
    mutate, check = BREAKAGES[breakage]
    broken = copy.deepcopy(manifests)
    mutate(broken)
    assert check(broken) != []
