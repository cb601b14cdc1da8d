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
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from collections.abc import Callable, Iterator
from pathlib import PurePosixPath
from typing import Any, get_args
from unittest import mock

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
SETTINGS_MAP, SECRET = "cs-flywheel-settings", "cs-flywheel-secrets"
SERVE_IMPORT_PATH = "serving.app:build_app"
SERVE_MODULE = "serving/app.py"
ENV_NAME = re.compile(r"\bFLYWHEEL_[A-Z0-9_]+\b")
METRIC_NAME = re.compile(r"\bflywheel_(?:stream|serve)_[a-z0-9_]+")

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


def settings_env(m: Manifests) -> dict[str, str]:
    """What the ConfigMap and the Secret template put in every process's environment."""
    return {**one(m, "ConfigMap", SETTINGS_MAP)["data"], **one(m, "Secret", SECRET)["stringData"]}


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
    """Secrets live in the Secret only, and the Secret template ships placeholders, never values."""
    config, secret = one(m, "ConfigMap", SETTINGS_MAP)["data"], one(m, "Secret", SECRET)["stringData"]
    secret_fields = {f"FLYWHEEL_{name.upper()}" for name, field in Settings.model_fields.items()
                     if SecretStr in (get_args(field.annotation) or (field.annotation,))}
    problems = [f"{name} is set in both the ConfigMap and the Secret" for name in sorted(config.keys() & secret)]
    problems += [f"{name} is a secret but set in the ConfigMap" for name in sorted(config.keys() & secret_fields)]
    problems += [f"the Secret template gives {name} a value, not a CHANGE-ME placeholder"
                 for name, value in secret.items() if "CHANGE-ME" not in value]
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
    job, cron = one(m, "RayJob"), one(m, "CronJob")
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
        problems.append(f"the CronJob runs on {cron['spec']['schedule']!r} {cron['spec']['timeZone']}, "
                        f"not FLYWHEEL_RETRAIN_CRON={settings.retrain_cron!r} in UTC")
    [generator] = m["kustomization.yaml"][0]["configMapGenerator"]
    [volume] = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"]
    if generator["files"] != ["rayjob.yaml=retrain-rayjob.yaml"] or volume["configMap"]["name"] != generator["name"]:
        problems.append("the CronJob does not mount retrain-rayjob.yaml as generated by kustomization.yaml")
    return problems


def mount_problems(m: Manifests) -> list[str]:
    """Every container given the settings mounts the data directory, the Kafka CA and the shop file the settings
    name."""
    settings = manifest_settings(m)
    needed = {"FLYWHEEL_DATA_DIR": PurePosixPath(settings.data_dir),
              "FLYWHEEL_SSL_CA_LOCATION": PurePosixPath(settings.ssl_ca_location).parent,
              "FLYWHEEL_SHOP": PurePosixPath(settings.shop).parent}
    problems = []
    for file, docs in m.items():
        for container in (c for doc in docs for c in containers(doc)):
            if {"configMapRef": {"name": SETTINGS_MAP}} not in container.get("envFrom", []):
                continue
            mounts = {PurePosixPath(v["mountPath"]) for v in container.get("volumeMounts", [])}
            problems += [f"{file}: {container['name']} does not mount {path} ({name})"
                         for name, path in needed.items() if path not in mounts]
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
    retrain_problems, mount_problems, kustomization_problems, metric_problems,
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
    [cron] = [d for d in rendered if d["kind"] == "CronJob"]
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
    "another weekly schedule": (lambda m: one(m, "CronJob")["spec"].update(schedule="0 4 * * 1"), retrain_problems),
    "fewer GPU workers than training workers": (lambda m: _settings_map(m).update(FLYWHEEL_TRAIN_WORKERS="4"),
                                                retrain_problems),
    "a password in the ConfigMap": (lambda m: _settings_map(m).update(FLYWHEEL_SASL_PASSWORD="hunter2"),
                                    secret_problems),
    "a real value in the Secret template": (
        lambda m: one(m, "Secret", SECRET)["stringData"].update(FLYWHEEL_POLICY_HMAC_KEY="0123abcd"), secret_problems),
    "the Kafka CA not mounted": (lambda m: _worker(m)["volumeMounts"].pop(), mount_problems),
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
