"""The deployment artefacts (Dockerfile, compose.yaml, .env.example, k8s/) read as data.

No Docker engine, no cluster and no kubectl: the files are parsed with PyYAML, and the kustomize
overlays are rendered by the small resolver below. It knows only the kustomize features these
manifests use and fails on any other, so a new feature has to be taught here before it ships.
"""

import copy
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tc_common.settings import PLACEHOLDER_SECRETS, KafkaSettings, ServiceSettings
from tc_common.topics import ALL_TOPICS
from tc_provisioner import server_config
from tc_provisioner.settings import ProvisionerSettings

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "k8s"
SERVICES = ("ingest", "store", "forecast", "api", "provisioner")
KAFKA_SERVICES = ("ingest", "store", "forecast", "api", "provisioner")
DATABASE_SERVICES = ("store", "api", "provisioner")
# The VPN agent runs beside each OpenVPN server: in k8s a container of the api's pods, in compose
# the service "vpn-agent". Its settings are prefixed VPN_AGENT_.
COMPONENTS = (*SERVICES, "vpn_agent")
KAFKA_CLIENTS = (*KAFKA_SERVICES, "vpn_agent")
# Component -> (its Deployment, its container there).
K8S_CONTAINERS = {**{s: (s, s) for s in SERVICES}, "vpn_agent": ("api", "vpn-agent")}
# The OpenVPN server: its UDP port, its directory in the containers, and the api's address in
# the tunnel (the server's own address, which the api listens on).
VPN_PORT = 1194
VPN_DIR = "/run/openvpn"
TUNNEL_API = ("10.8.0.1", 8000)


def compose_name(component: str) -> str:
    """The compose service (and Kafka user suffix) of a component: vpn_agent -> vpn-agent."""
    return component.replace("_", "-")


# Secret settings -> (Kubernetes Secret, key). Compose reads them from .env.
SECRET_SETTINGS = {
    "INGEST_TESSIE__TOKEN": ("tc-tessie", "token"),
    "STORE_POSTGRES__URL": ("tc-postgres", "store-url"),
    "API_POSTGRES__URL": ("tc-postgres", "api-url"),
    "PROVISIONER_POSTGRES__URL": ("tc-postgres", "provisioner-url"),
    "API_API_KEYS": ("tc-api-keys", "api-keys"),
    "PROVISIONER_INVITATION_SHA256": ("tc-invitations", "sha256"),
    "API_VAULT__KEYS": ("tc-vault", "keys"),
    "INGEST_VAULT__KEYS": ("tc-vault", "keys"),
    # The provisioner's own keyring (the VPN CA's and devices' private keys), and its mail.
    "PROVISIONER_VAULT__KEYS": ("tc-vault", "provisioner-keys"),
    "PROVISIONER_SMTP__PASSWORD": ("tc-smtp", "password"),
    **{
        f"{service.upper()}_KAFKA__SASL_PASSWORD": ("tc-kafka", f"{compose_name(service)}-password")
        for service in KAFKA_CLIENTS
    },
}

Obj = dict[str, Any]


def prefix(service: str) -> str:
    return f"{service.upper()}_"


def owner(setting: str) -> str:
    """The component a setting belongs to (VPN_AGENT_... is the agent's, not a "vpn" one's)."""
    (component,) = [c for c in COMPONENTS if setting.startswith(prefix(c))]
    return component


def load_all(path: Path) -> list[Obj]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


# --- a minimal kustomize -----------------------------------------------------------------------

KUSTOMIZE_KEYS = {
    "apiVersion",
    "kind",
    "namespace",
    "labels",
    "resources",
    "patches",
    "replicas",
    "images",
}


def merge_patch(target: Obj, patch: Obj, where: str) -> None:
    """Merge maps key by key. Lists would need strategic merge, which this resolver lacks."""
    for key, value in patch.items():
        if isinstance(value, list):
            raise AssertionError(f"{where}: list in a patch; render() cannot merge lists")
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            merge_patch(target[key], value, where)
        else:
            target[key] = copy.deepcopy(value)


def find(objects: list[Obj], kind: str, name: str) -> Obj:
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def containers(objects: list[Obj]) -> Iterator[Obj]:
    """Every container of every Deployment, init containers (and native sidecars) included."""
    for obj in objects:
        if obj["kind"] == "Deployment":
            pod = obj["spec"]["template"]["spec"]
            yield from pod.get("initContainers", [])
            yield from pod["containers"]


def render(directory: Path) -> list[Obj]:
    """Render a kustomization directory the way ``kubectl kustomize`` would, for our features."""
    (kustomization,) = load_all(directory / "kustomization.yaml")
    unknown = set(kustomization) - KUSTOMIZE_KEYS
    assert not unknown, f"{directory}: render() does not support {sorted(unknown)}"

    objects: list[Obj] = []
    for entry in kustomization.get("resources", []):
        path = directory / entry
        objects += render(path) if path.is_dir() else load_all(path)

    for patch in kustomization.get("patches", []):
        assert set(patch) == {"path"}, f"{directory}: only file patches are supported"
        for doc in load_all(directory / patch["path"]):
            target = find(objects, doc["kind"], doc["metadata"]["name"])
            merge_patch(target, doc, str(directory / patch["path"]))

    for replicas in kustomization.get("replicas", []):
        find(objects, "Deployment", replicas["name"])["spec"]["replicas"] = replicas["count"]

    for image in kustomization.get("images", []):
        for container in containers(objects):
            name, _, tag = container["image"].partition(":")
            if name == image["name"]:
                new_name = image.get("newName", name)
                new_tag = image.get("newTag", tag)
                container["image"] = f"{new_name}:{new_tag}" if new_tag else new_name

    if namespace := kustomization.get("namespace"):
        for obj in objects:
            if obj["kind"] != "Namespace":
                obj["metadata"]["namespace"] = namespace

    for label in kustomization.get("labels", []):
        for obj in objects:
            obj["metadata"].setdefault("labels", {}).update(label["pairs"])
            if obj["kind"] != "Deployment":
                continue
            if label.get("includeTemplates") or label.get("includeSelectors"):
                obj["spec"]["template"]["metadata"].setdefault("labels", {}).update(label["pairs"])
            if label.get("includeSelectors"):
                obj["spec"]["selector"]["matchLabels"].update(label["pairs"])
    return objects


KUSTOMIZATIONS = sorted(p.parent for p in K8S.rglob("kustomization.yaml"))
RENDERED = {str(d.relative_to(K8S)): render(d) for d in KUSTOMIZATIONS}


def rendered_deployment(target: str, service: str) -> Obj:
    return find(RENDERED[target], "Deployment", service)


def container_of(target: str, component: str) -> Obj:
    deployment, name = K8S_CONTAINERS[component]
    return named_container(target, deployment, name)


def named_container(target: str, deployment: str, name: str) -> Obj:
    pod = rendered_deployment(target, deployment)["spec"]["template"]["spec"]
    (container,) = [
        c for c in [*pod.get("initContainers", []), *pod["containers"]] if c["name"] == name
    ]
    return container


def env_of(container: Obj) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container["env"] if "value" in e}


# --- compose.yaml ------------------------------------------------------------------------------

COMPOSE_TEXT = (ROOT / "compose.yaml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
COMPOSE_SERVICES = COMPOSE["services"]
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?+])?")


@pytest.mark.parametrize("service", SERVICES)
def test_compose_builds_each_service_from_the_root_dockerfile_with_its_service_arg(
    service: str,
) -> None:
    build = COMPOSE_SERVICES[service]["build"]

    assert build["context"] == "."
    assert build.get("dockerfile", "Dockerfile") == "Dockerfile"
    assert build["args"] == {"SERVICE": service}


@pytest.mark.parametrize("service", SERVICES)
def test_compose_environment_names_start_with_the_service_prefix(service: str) -> None:
    names = list(COMPOSE_SERVICES[service]["environment"])

    assert names
    assert [n for n in names if not n.startswith(prefix(service))] == []


@pytest.mark.parametrize("setting", sorted(SECRET_SETTINGS))
def test_compose_takes_each_secret_from_the_env_file_and_refuses_to_start_without_it(
    setting: str,
) -> None:
    service = compose_name(owner(setting))
    value = str(COMPOSE_SERVICES[service]["environment"][setting])

    variables = INTERPOLATION.findall(value)
    assert variables, f"{setting} is a literal in compose.yaml"
    assert all(operator == ":?" for _, operator in variables), f"{setting} has a default"


def test_compose_publishes_only_the_vpn_port_and_the_api_only_listens_in_the_tunnel() -> None:
    # The one way in is OpenVPN's UDP port. The api publishes nothing (not even on loopback):
    # it lives in the server's network namespace and listens on the tunnel address only.
    published = {name: svc.get("ports", []) for name, svc in COMPOSE_SERVICES.items()}
    api = COMPOSE_SERVICES["api"]

    assert {name: ports for name, ports in published.items() if ports} == {
        "openvpn": [f"{VPN_PORT}:{VPN_PORT}/udp"]
    }
    assert api["network_mode"] == "service:openvpn"
    assert api["depends_on"]["openvpn"] == {"condition": "service_healthy", "restart": True}
    assert (api["environment"]["API_HTTP__HOST"], api["environment"]["API_HTTP__PORT"]) == (
        TUNNEL_API
    )


def test_compose_openvpn_gets_only_the_tun_device_and_net_admin() -> None:
    openvpn = COMPOSE_SERVICES["openvpn"]

    assert openvpn["build"] == {
        "context": ".",
        "target": "openvpn",
        "args": {"SERVICE": "provisioner"},
    }
    assert openvpn["cap_drop"] == ["ALL"]
    assert openvpn["cap_add"] == ["NET_ADMIN"]
    assert openvpn["devices"] == ["/dev/net/tun"]
    assert openvpn["read_only"] is True
    # The image runs it as uid 10001; the binary gains NET_ADMIN through its file capability,
    # which no-new-privileges would withhold.
    assert "user" not in openvpn
    assert "security_opt" not in openvpn
    assert "tun0" in " ".join(openvpn["healthcheck"]["test"])


def test_compose_writes_the_server_files_before_the_server_starts_and_shares_them() -> None:
    config, openvpn, agent = (COMPOSE_SERVICES[s] for s in ("vpn-config", "openvpn", "vpn-agent"))
    shared = f"vpn-run:{VPN_DIR}"

    assert config["command"] == [
        "python",
        "-m",
        "tc_provisioner.server_config",
        "--out",
        VPN_DIR,
    ]
    assert config["build"] == openvpn["build"]
    assert config["depends_on"]["provisioner"] == {"condition": "service_healthy"}
    assert openvpn["depends_on"]["vpn-config"] == {"condition": "service_completed_successfully"}
    assert agent["depends_on"]["openvpn"]["condition"] == "service_healthy"
    for service in (config, openvpn, agent):
        assert service["volumes"] == [shared]
    assert "vpn-run" in COMPOSE["volumes"]
    # The agent rewrites the CRL where the server reads it and talks to its management socket.
    assert agent["command"] == ["python", "-m", "tc_provisioner.vpn_agent"]
    assert agent["environment"]["VPN_AGENT_DIRECTORY"] == VPN_DIR
    assert agent["environment"]["VPN_AGENT_MANAGEMENT_SOCKET"] == (
        f"{VPN_DIR}/{server_config.MANAGEMENT_SOCKET}"
    )


def test_compose_starts_services_only_after_their_dependencies_are_healthy() -> None:
    for name, svc in COMPOSE_SERVICES.items():
        for dependency, rule in svc.get("depends_on", {}).items():
            assert rule["condition"] in {"service_healthy", "service_completed_successfully"}, (
                f"{name} -> {dependency}"
            )
            if rule["condition"] == "service_healthy" and dependency not in SERVICES:
                assert "test" in COMPOSE_SERVICES[dependency]["healthcheck"], dependency

    for service in KAFKA_CLIENTS:
        assert "kafka-init" in COMPOSE_SERVICES[compose_name(service)]["depends_on"], service
    for service in DATABASE_SERVICES:
        assert "postgres" in COMPOSE_SERVICES[service]["depends_on"], service


def test_compose_pins_third_party_images_to_a_version() -> None:
    images = [svc["image"] for svc in COMPOSE_SERVICES.values() if "image" in svc]

    assert images
    assert [i for i in images if ":" not in i or i.endswith((":latest", "-latest"))] == []
    assert [i for i in images if re.search(r":[^:]*latest", i)] == []


def test_compose_keeps_data_in_named_volumes() -> None:
    for name, path in (("kafka", "/var/lib/kafka/data"), ("postgres", "/var/lib/postgresql/data")):
        (volume,) = COMPOSE_SERVICES[name]["volumes"]
        source, target = volume.split(":")

        assert target == path
        assert source in COMPOSE["volumes"]


def test_compose_creates_topics_from_the_shared_constants_and_never_spells_them() -> None:
    init_command = " ".join(COMPOSE_SERVICES["kafka-init"]["command"])

    assert "ALL_TOPICS" in init_command
    assert [t for t in ALL_TOPICS if t in COMPOSE_TEXT] == []
    assert COMPOSE_SERVICES["kafka"]["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_compose_runs_the_tessie_simulator_only_in_the_sim_profile() -> None:
    assert COMPOSE_SERVICES["tessie-sim"]["profiles"] == ["sim"]
    assert COMPOSE_SERVICES["tessie-sim"]["build"]["args"] == {"SERVICE": "tessie_sim"}
    assert [s for s in SERVICES if "profiles" in COMPOSE_SERVICES[s]] == []
    assert COMPOSE_SERVICES["ingest"]["depends_on"]["tessie-sim"]["required"] is False


def compose_kafka_settings(client: str) -> tuple[KafkaSettings, str]:
    """A Kafka client's settings in compose.yaml (the password from .env.example), and the
    ``${...}`` its password is taken from."""
    env = COMPOSE_SERVICES[compose_name(client)]["environment"]
    start = "KAFKA__" if client == "kafka-init" else f"{prefix(client)}KAFKA__"
    kafka = {k.removeprefix(start).lower(): str(v) for k, v in env.items() if k.startswith(start)}
    ((variable, _),) = INTERPOLATION.findall(kafka["sasl_password"])
    settings = KafkaSettings.model_validate({**kafka, "sasl_password": ENV_EXAMPLE[variable]})
    return settings, kafka["sasl_password"]


KAFKA_ENV = COMPOSE_SERVICES["kafka"]["environment"]
LISTENERS = dict(entry.split("://") for entry in KAFKA_ENV["KAFKA_LISTENERS"].split(","))
LISTENER_PROTOCOLS = dict(
    entry.split(":") for entry in KAFKA_ENV["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
)


@pytest.mark.parametrize("client", [*KAFKA_CLIENTS, "kafka-init"])
def test_compose_kafka_clients_authenticate_with_scram_as_the_user_the_broker_is_given(
    client: str,
) -> None:
    settings, password = compose_kafka_settings(client)
    advertised = dict(
        entry.split("://") for entry in KAFKA_ENV["KAFKA_ADVERTISED_LISTENERS"].split(",")
    )
    (listener,) = [name for name, at in advertised.items() if at == settings.bootstrap_servers]
    formatting = COMPOSE_SERVICES["kafka-format"]

    assert (settings.security_protocol, settings.sasl_mechanism) == (
        "SASL_PLAINTEXT",
        "SCRAM-SHA-512",
    )
    assert LISTENER_PROTOCOLS[listener] == settings.security_protocol
    assert KAFKA_ENV[f"KAFKA_LISTENER_NAME_{listener}_SASL_ENABLED_MECHANISMS"] == "SCRAM-SHA-512"
    # The broker's storage is formatted with this very user and password.
    assert formatting["environment"]["SCRAM_PASSWORD"] == password
    user = f"{settings.sasl_mechanism}=[name={settings.sasl_username},password=$$SCRAM_PASSWORD]"
    assert user in formatting["command"][0]
    assert formatting["volumes"] == COMPOSE_SERVICES["kafka"]["volumes"]
    assert formatting["environment"]["CLUSTER_ID"] == KAFKA_ENV["CLUSTER_ID"]
    assert COMPOSE_SERVICES["kafka"]["depends_on"]["kafka-format"] == {
        "condition": "service_completed_successfully"
    }


def test_compose_kafka_listens_without_authentication_only_on_its_loopback() -> None:
    unauthenticated = {n: a for n, a in LISTENERS.items() if LISTENER_PROTOCOLS[n] == "PLAINTEXT"}

    assert unauthenticated
    assert [a for a in unauthenticated.values() if not a.startswith("127.0.0.1:")] == []
    assert "127.0.0.1:9094" in " ".join(COMPOSE_SERVICES["kafka"]["healthcheck"]["test"])


# --- .env.example ------------------------------------------------------------------------------

ENV_EXAMPLE = {
    name: value.strip("'\"")
    for name, _, value in (
        line.partition("=")
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
}


def strings(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)
    elif isinstance(node, str):
        yield node


def test_env_example_documents_every_variable_compose_reads() -> None:
    used = {name for text in strings(COMPOSE) for name, _ in INTERPOLATION.findall(text)}

    assert "POSTGRES_PASSWORD" in used

    assert sorted(used - set(ENV_EXAMPLE)) == []


def test_env_example_secrets_are_fake_yet_pass_the_placeholder_check() -> None:
    # Fake so nobody mistakes them for real credentials; not in the refused list, so
    # `cp .env.example .env && docker compose --profile sim up` starts.
    for name in (
        "POSTGRES_PASSWORD",
        "INGEST_TESSIE__TOKEN",
        "API_API_KEYS",
        "KAFKA_SASL_PASSWORD",
        "PROVISIONER_SMTP__PASSWORD",
    ):
        value = ENV_EXAMPLE[name]

        assert re.search(r"dev-only|not-a", value), name
        assert value.lower() not in PLACEHOLDER_SECRETS, name


COMPOSE_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}")


def with_env_example(value: object) -> str:
    """A compose value as `cp .env.example .env && docker compose up` gives it."""

    def variable(match: re.Match[str]) -> str:
        name, operator, argument = match.groups()
        if ENV_EXAMPLE.get(name):
            return ENV_EXAMPLE[name]
        assert operator in {"-", ":-"}, f"{name} is required and not in .env.example"
        return str(argument)

    return COMPOSE_VARIABLE.sub(variable, str(value))


def provisioner_settings(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    for name in [n for n in os.environ if n.startswith("PROVISIONER_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return ProvisionerSettings()


@pytest.mark.parametrize("service", ["provisioner", "vpn-config"])
def test_compose_provisioner_issues_profiles_with_the_env_example(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {k: with_env_example(v) for k, v in COMPOSE_SERVICES[service]["environment"].items()}

    settings = provisioner_settings(env, monkeypatch)

    # vpn needs vault and smtp (ProvisionerSettings refuses it otherwise).
    assert settings.vpn is not None
    assert settings.vault is not None
    assert settings.smtp is not None
    assert (settings.vpn.api_address, settings.vpn.api_port) == TUNNEL_API
    assert settings.vpn.public_port == VPN_PORT


def test_env_file_is_kept_out_of_git_and_out_of_images() -> None:
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()
    assert ".env*" in (ROOT / ".dockerignore").read_text().splitlines()


# --- Dockerfile --------------------------------------------------------------------------------


def dockerfile_stages() -> dict[str, list[str]]:
    """Instructions (continuations joined) per stage name, in order."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    stages: dict[str, list[str]] = {"": []}
    current = ""
    for line in lines:
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            current = line.split()[-1] if " AS " in line.upper() else line
            stages[current] = []
        stages[current].append(line)
    return stages


STAGES = dockerfile_stages()


def test_dockerfile_installs_locked_dependencies_before_copying_the_sources() -> None:
    builder = STAGES["builder"]
    dependency_sync = next(i for i, s in enumerate(builder) if "--no-install-workspace" in s)
    copy_services = builder.index("COPY services/ services/")
    full_sync = max(i for i, s in enumerate(builder) if "uv sync" in s)

    assert dependency_sync < copy_services < full_sync
    for step in (builder[dependency_sync], builder[full_sync]):
        assert "--frozen --no-dev" in step
        assert '--package "tc-${SERVICE}"' in step
    assert "ARG SERVICE" in builder
    assert any(s.startswith("COPY --from=uv /uv") for s in builder)


def test_dockerfile_runtime_runs_the_service_as_a_non_root_user_with_a_healthcheck() -> None:
    runtime = STAGES["runtime"]
    (user,) = [s.split()[1] for s in runtime if s.startswith("USER ")]
    (healthcheck,) = [s for s in runtime if s.startswith("HEALTHCHECK ")]
    (cmd,) = [s for s in runtime if s.startswith("CMD ")]

    assert user.split(":")[0] not in {"0", "root"}
    assert "/healthz" in healthcheck
    assert "urllib.request" in healthcheck
    assert "tc_${SERVICE}" in cmd
    assert any("SERVICE=${SERVICE}" in s and "PATH=/app/.venv/bin:$PATH" in s for s in runtime)
    # Only the venv is shipped: no sources, no uv, no dev stack.
    assert [s for s in runtime if s.startswith("COPY")] == [
        "COPY --from=builder /app/.venv /app/.venv"
    ]


def test_dockerfile_openvpn_stage_runs_debians_openvpn_as_the_service_user_with_net_admin() -> None:
    openvpn = STAGES["openvpn"]
    (user,) = [s.split()[1] for s in openvpn if s.startswith("USER ")]
    (install,) = [s for s in openvpn if "apt-get install" in s]
    (healthcheck,) = [s for s in openvpn if s.startswith("HEALTHCHECK ")]

    assert openvpn[0] == "FROM ${PYTHON_IMAGE} AS openvpn"
    assert " openvpn " in install
    assert "setcap cap_net_admin+ep /usr/sbin/openvpn" in install
    assert "rm -rf /var/lib/apt/lists/*" in install
    assert user.split(":")[0] not in {"0", "root"}
    assert "tun0" in healthcheck
    # The provisioner's venv, for server_config (and the verify hook) in the same image.
    assert "COPY --from=builder /app/.venv /app/.venv" in openvpn
    # A build without --target still makes a service image.
    assert list(STAGES)[-1] == "runtime"


def test_dockerignore_keeps_local_state_and_the_dev_stack_out_of_the_build_context() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().splitlines())

    assert {".git", ".venv", ".run", "**/__pycache__", "libs/devstack/src"} <= ignored


# --- k8s/ --------------------------------------------------------------------------------------


def test_there_is_a_base_and_a_local_overlay() -> None:
    assert set(RENDERED) == {"base", "overlays/local"}


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=lambda d: str(d.relative_to(K8S)))
def test_kustomizations_list_only_files_that_exist(directory: Path) -> None:
    (kustomization,) = load_all(directory / "kustomization.yaml")
    listed = [*kustomization.get("resources", [])]
    listed += [p["path"] for p in kustomization.get("patches", [])]

    assert listed
    assert [p for p in listed if not (directory / p).exists()] == []


def test_base_lists_every_manifest_file_it_contains() -> None:
    (kustomization,) = load_all(K8S / "base" / "kustomization.yaml")
    on_disk = {
        str(p.relative_to(K8S / "base"))
        for p in (K8S / "base").rglob("*.yaml")
        if p.name != "kustomization.yaml"
    }

    assert set(kustomization["resources"]) == on_disk


PROBES = ("startupProbe", "readinessProbe", "livenessProbe")
EXEC_PROBE_URL = re.compile(r"urlopen\('http://([0-9.]+):([0-9]+)(/[a-z]+)'")


def probed(container: Obj, probe: str) -> tuple[str, int | str]:
    """(path, port) a probe asks. The kubelet cannot reach an api bound to the tunnel address,
    so the api's probes are exec probes that ask it there from inside the container."""
    if "httpGet" in container[probe]:
        return container[probe]["httpGet"]["path"], container[probe]["httpGet"]["port"]
    command = container[probe]["exec"]["command"]
    assert command[:2] == ["python", "-c"], command
    match = EXEC_PROBE_URL.search(command[2])
    assert match, command
    host, port, path = match.groups()
    assert host == env_of(container)[f"{prefix(container['name'])}HTTP__HOST"], command
    ports = {p["containerPort"]: p["name"] for p in container["ports"]}
    return path, ports[int(port)]


@pytest.mark.parametrize("target", ["base", "overlays/local"])
@pytest.mark.parametrize("service", COMPONENTS)
def test_each_service_has_a_deployment_probed_on_livez_and_healthz_with_resources(
    target: str, service: str
) -> None:
    container = container_of(target, service)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    paths = {probe: probed(container, probe)[0] for probe in PROBES}

    # A failing liveness or startup probe restarts the pod: they ask /livez, which depends on
    # no broker or database, so an outage of those only takes the pod out of the Service
    # (readiness on /healthz) instead of restarting every pod at once.
    assert paths == {
        "startupProbe": "/livez",
        "readinessProbe": "/healthz",
        "livenessProbe": "/livez",
    }
    for probe in PROBES:
        assert probed(container, probe)[1] in ports, probe
    assert set(container["resources"]["requests"]) == {"cpu", "memory"}
    assert "memory" in container["resources"]["limits"]
    assert {"name": f"{prefix(service)}HTTP__PORT", "value": str(ports["http"])} in container["env"]


@pytest.mark.parametrize("service", SERVICES)
def test_each_deployment_runs_as_non_root_on_a_read_only_filesystem(service: str) -> None:
    pod = rendered_deployment("base", service)["spec"]["template"]["spec"]
    pod_containers = [*pod.get("initContainers", []), *pod["containers"]]

    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    for container in pod_containers:
        name = container["name"]
        assert "runAsUser" not in container.get("securityContext", {}), name
        assert "runAsNonRoot" not in container.get("securityContext", {}), name
        assert "privileged" not in container["securityContext"], name
        assert container["securityContext"]["readOnlyRootFilesystem"] is True, name
        if name == "openvpn":
            continue  # test_openvpn_is_the_one_container_with_a_capability
        assert container["securityContext"]["allowPrivilegeEscalation"] is False, name
        assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}, name


def test_namespace_warns_at_restricted_and_enforces_only_what_openvpn_needs() -> None:
    labels = find(RENDERED["base"], "Namespace", "teslaconnectivity")["metadata"]["labels"]
    pod_security = {
        k.removeprefix("pod-security.kubernetes.io/"): v
        for k, v in labels.items()
        if k.startswith("pod-security.kubernetes.io/") and not k.endswith("-version")
    }

    # NET_ADMIN and a hostPath are outside "baseline": the api pods need "privileged".
    assert pod_security == {"enforce": "privileged", "warn": "restricted", "audit": "restricted"}


def test_openvpn_is_the_one_container_with_a_capability() -> None:
    # The documented exception: a tun device needs NET_ADMIN, which the openvpn binary (uid
    # 10001, like every service) gains through its file capability; a file capability is only
    # granted without no_new_privs, i.e. with allowPrivilegeEscalation.
    privileged = [
        c["name"]
        for c in containers(RENDERED["base"])
        if c["securityContext"].get("allowPrivilegeEscalation") is not False
        or "add" in c["securityContext"]["capabilities"]
    ]
    openvpn = named_container("base", "api", "openvpn")

    assert privileged == ["openvpn"]
    assert openvpn["securityContext"] == {
        "allowPrivilegeEscalation": True,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"], "add": ["NET_ADMIN"]},
    }


def test_no_secret_with_data_is_committed() -> None:
    manifests = [doc for path in K8S.rglob("*.yaml") for doc in load_all(path)]

    assert [d for d in manifests if d.get("kind") == "Secret"] == []
    assert [d for d in manifests if "secretGenerator" in d] == []
    config = find(RENDERED["base"], "ConfigMap", "tc-config")
    assert set(config["data"]) & set(SECRET_SETTINGS) == set()


@pytest.mark.parametrize("service", COMPONENTS)
def test_each_secret_setting_comes_from_a_named_secret(service: str) -> None:
    from_secrets = {
        e["name"]: (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
        for e in container_of("base", service)["env"]
        if "valueFrom" in e
    }
    expected = {k: v for k, v in SECRET_SETTINGS.items() if k.startswith(prefix(service))}

    assert from_secrets == expected


@pytest.mark.parametrize("service", COMPONENTS)
def test_k8s_settings_names_start_with_the_service_prefix(service: str) -> None:
    container = container_of("base", service)

    assert [e["name"] for e in container["env"] if not e["name"].startswith(prefix(service))] == []
    assert [ref["configMapRef"]["name"] for ref in container["envFrom"]] == ["tc-config"]


def test_config_map_keys_each_belong_to_one_service() -> None:
    config = find(RENDERED["base"], "ConfigMap", "tc-config")
    prefixes = tuple(prefix(s) for s in COMPONENTS)

    assert [k for k in config["data"] if not k.startswith(prefixes)] == []
    for service in KAFKA_CLIENTS:
        assert f"{prefix(service)}KAFKA__BOOTSTRAP_SERVERS" in config["data"]


@pytest.mark.parametrize("target", ["base", "overlays/local"])
def test_only_the_vpn_is_exposed_and_only_on_its_udp_port(target: str) -> None:
    objects = RENDERED[target]
    services = {s["metadata"]["name"]: s for s in objects if s["kind"] == "Service"}
    vpn = services.pop("vpn")
    openvpn = named_container(target, "api", "openvpn")
    (port,) = vpn["spec"]["ports"]
    (container_port,) = [p for p in openvpn["ports"] if p["name"] == port["targetPort"]]

    # The api has no Service: it listens on the tunnel address inside its pods.
    assert sorted(services) == sorted(set(SERVICES) - {"api"})
    assert {s["spec"].get("type", "ClusterIP") for s in services.values()} == {"ClusterIP"}
    assert [o for o in objects if o["kind"] == "Ingress"] == []
    assert vpn["spec"]["type"] == "LoadBalancer"
    assert vpn["spec"]["selector"] == {"app.kubernetes.io/name": "api"}
    assert (port["protocol"], port["port"]) == ("UDP", VPN_PORT)
    assert (container_port["protocol"], container_port["containerPort"]) == ("UDP", VPN_PORT)
    assert [p for c in containers(objects) for p in c.get("ports", []) if "hostPort" in p] == []


@pytest.mark.parametrize("target", ["base", "overlays/local"])
def test_network_policy_admits_to_the_api_pods_only_the_vpn_port(target: str) -> None:
    policies = [o for o in RENDERED[target] if o["kind"] == "NetworkPolicy"]
    (policy,) = [
        p
        for p in policies
        if p["spec"]["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "api"}
    ]

    assert "Ingress" in policy["spec"]["policyTypes"]
    # One rule, from anywhere (no "from"), on one port.
    assert policy["spec"]["ingress"] == [{"ports": [{"protocol": "UDP", "port": VPN_PORT}]}]


@pytest.mark.parametrize("target", ["base", "overlays/local"])
def test_k8s_api_listens_on_the_tunnel_address_the_profiles_route_to(target: str) -> None:
    config = find(RENDERED[target], "ConfigMap", "tc-config")["data"]
    api = env_of(container_of(target, "api"))

    assert (api["API_HTTP__HOST"], int(api["API_HTTP__PORT"])) == TUNNEL_API
    assert (
        config["PROVISIONER_VPN__API_ADDRESS"],
        int(config["PROVISIONER_VPN__API_PORT"]),
    ) == TUNNEL_API
    assert int(config["PROVISIONER_VPN__PUBLIC_PORT"]) == VPN_PORT


def mounts(container: Obj) -> dict[str, str]:
    return {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}


def test_k8s_openvpn_and_its_agent_share_the_server_directory_and_management_socket() -> None:
    pod = rendered_deployment("base", "api")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    files, openvpn = (named_container("base", "api", n) for n in ("vpn-files", "openvpn"))
    agent = env_of(container_of("base", "vpn_agent"))

    # The Secret made from `server_config --server-dir /run/openvpn` is copied into VPN_DIR
    # first; openvpn is a native sidecar (started, and probed up, before the api binds 10.8.0.1).
    assert [c["name"] for c in pod["initContainers"]] == ["vpn-files", "openvpn"]
    assert "restartPolicy" not in files
    assert openvpn["restartPolicy"] == "Always"
    assert volumes[mounts(files)["/etc/tc/vpn-server"]]["secret"]["secretName"] == "tc-vpn-server"
    assert files["command"][-1].endswith(f"-t {VPN_DIR} /etc/tc/vpn-server/*")
    assert openvpn["command"] == ["openvpn", "--config", f"{VPN_DIR}/server.conf"]
    assert volumes["vpn-run"]["emptyDir"]["medium"] == "Memory"
    assert volumes[mounts(openvpn)["/dev/net/tun"]]["hostPath"] == {
        "path": "/dev/net/tun",
        "type": "CharDevice",
    }
    for container in (files, openvpn, container_of("base", "vpn_agent")):
        assert mounts(container)[VPN_DIR] == "vpn-run", container["name"]
    assert mounts(container_of("base", "api")).get(VPN_DIR) is None
    assert agent["VPN_AGENT_DIRECTORY"] == VPN_DIR
    assert agent["VPN_AGENT_MANAGEMENT_SOCKET"] == f"{VPN_DIR}/{server_config.MANAGEMENT_SOCKET}"


def test_k8s_provisioner_has_every_production_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    config = find(RENDERED["base"], "ConfigMap", "tc-config")["data"]
    container = container_of("base", "provisioner")
    # Stand-ins for the Secrets' values, as the pod gets them.
    secrets = {
        "PROVISIONER_POSTGRES__URL": "postgresql://tc:from-the-secret@postgres/tc",
        "PROVISIONER_INVITATION_SHA256": f'["{"0" * 64}"]',
        "PROVISIONER_VAULT__KEYS": '{"1": "Qt7b0eC0kB8pS0pdY8vyyTXb9m9zpp+lNoqSg8K+d2A="}',
        "PROVISIONER_SMTP__PASSWORD": "from-the-secret",
        "PROVISIONER_KAFKA__SASL_PASSWORD": "from-the-secret",
    }
    assert {e["name"] for e in container["env"] if "valueFrom" in e} == set(secrets)
    env = {k: v for k, v in config.items() if k.startswith(prefix("provisioner"))}

    settings = provisioner_settings({**env, **env_of(container), **secrets}, monkeypatch)

    # Production refuses to start without vpn, a keyring and mail over checked TLS.
    assert settings.environment == "production"
    assert settings.vpn is not None
    assert settings.vault is not None
    assert settings.smtp is not None
    assert settings.smtp.security in {"starttls", "tls"}


@pytest.mark.parametrize("target", ["base", "overlays/local"])
def test_every_object_is_labelled_and_namespaced(target: str) -> None:
    for obj in RENDERED[target]:
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/part-of"] == "teslaconnectivity", obj["metadata"]
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == "teslaconnectivity", obj["metadata"]
        if obj["kind"] in {"Deployment", "Service"}:
            assert labels["app.kubernetes.io/name"] == obj["metadata"]["name"]
        if obj["kind"] == "Deployment":
            template_labels = obj["spec"]["template"]["metadata"]["labels"]
            selector = obj["spec"]["selector"]["matchLabels"]
            assert selector == {"app.kubernetes.io/name": obj["metadata"]["name"]}
            assert selector.items() <= template_labels.items()


def test_ingest_never_runs_two_pollers() -> None:
    for target in RENDERED:
        deployment = rendered_deployment(target, "ingest")
        assert deployment["spec"]["replicas"] == 1, target
        assert deployment["spec"]["strategy"]["type"] == "Recreate", target


def test_local_overlay_pins_a_tag_for_every_service_image() -> None:
    images = {s: container_of("overlays/local", s)["image"] for s in SERVICES}
    vpn_images = {
        c["name"]: c["image"]
        for c in containers([rendered_deployment("overlays/local", "api")])
        if c["name"] != "api"
    }

    assert images == {s: f"teslaconnectivity/{s}:dev" for s in SERVICES}
    assert vpn_images == {
        "vpn-files": "teslaconnectivity/openvpn:dev",
        "openvpn": "teslaconnectivity/openvpn:dev",
        "vpn-agent": "teslaconnectivity/provisioner:dev",
    }


@pytest.mark.parametrize("target", ["base", "overlays/local"])
@pytest.mark.parametrize("service", KAFKA_CLIENTS)
def test_each_kafka_service_gets_the_topic_contracts_replication(target: str, service: str) -> None:
    data = find(RENDERED[target], "ConfigMap", "tc-config")["data"]
    kafka = {
        k.removeprefix(f"{prefix(service)}KAFKA__").lower(): v
        for k, v in data.items()
        if k.startswith(f"{prefix(service)}KAFKA__")
    }
    # The password comes from a Secret (test_each_secret_setting_comes_from_a_named_secret).
    settings = KafkaSettings.model_validate({**kafka, "sasl_password": "from-the-secret"})
    production = data[f"{prefix(service)}ENVIRONMENT"] == "production"

    # Production refuses a single copy (ServiceSettings); one broker on a laptop has one.
    assert settings.replication_factor == (3 if production else 1)
    assert settings.min_insync_replicas == (2 if production else 1)


KAFKA_CA_DIR = "/etc/tc/kafka-ca"


@pytest.mark.parametrize("service", KAFKA_CLIENTS)
def test_k8s_kafka_clients_use_sasl_ssl_with_their_own_user_and_the_mounted_ca(
    service: str,
) -> None:
    data = find(RENDERED["base"], "ConfigMap", "tc-config")["data"]
    start = f"{prefix(service)}KAFKA__"
    kafka = {k.removeprefix(start).lower(): v for k, v in data.items() if k.startswith(start)}
    container = container_of("base", service)
    pod = rendered_deployment("base", K8S_CONTAINERS[service][0])["spec"]["template"]["spec"]
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == KAFKA_CA_DIR]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]

    # Production settings as the pod gets them: the password from its Secret.
    settings = ServiceSettings(
        environment=data[f"{prefix(service)}ENVIRONMENT"],
        kafka={**kafka, "sasl_password": "from-the-secret"},
    ).kafka
    assert (settings.security_protocol, settings.sasl_mechanism) == ("SASL_SSL", "SCRAM-SHA-512")
    assert settings.sasl_username == f"tc-{compose_name(service)}"
    assert settings.ssl_check_hostname is True
    assert str(settings.ssl_cafile) == f"{KAFKA_CA_DIR}/ca.crt"
    assert mount.get("readOnly") is True
    assert volume["secret"] == {
        "secretName": "tc-kafka-ca",
        "items": [{"key": "ca.crt", "path": "ca.crt"}],
    }
