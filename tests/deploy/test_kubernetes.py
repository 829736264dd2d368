"""deploy/kubernetes: every overlay renders with `kubectl kustomize` and validates strictly
against the Kubernetes version we pin, and says what the issue asks of it."""

from __future__ import annotations

import re
import subprocess
from typing import Any

import kubernetes_validate
import pytest
import yaml
from paycore.config import load_settings, setting_variables
from paycore.runtime.addresses import TrustedProxies
from paycore.runtime.process import split_address

from tests.deploy.support import DEPLOY, binary

KUBERNETES_VERSION = "1.31.0"
POD_ADDRESS = "10.244.3.17"
"""A pod's address on a common cluster network (kind, kubeadm with flannel: 10.244.0.0/16)."""
OVERLAYS = ("dev", "production")
# Custom resources of the operators we reference: no schema ships with kubernetes-validate.
OPERATOR_KINDS = {
    ("postgresql.cnpg.io/v1", "Cluster"),
    ("postgresql.cnpg.io/v1", "ScheduledBackup"),
}


def rendered(overlay: str) -> list[dict[str, Any]]:
    kubectl = binary("kubectl", "apt-get install kubectl, or see kubernetes.io")
    output = subprocess.run(
        [kubectl, "kustomize", str(DEPLOY / "kubernetes" / "overlays" / overlay)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return [document for document in yaml.safe_load_all(output) if document]


def of_kind(resources: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_resource_validates_strictly(overlay: str) -> None:
    resources = rendered(overlay)
    assert resources
    for resource in resources:
        if (resource["apiVersion"], resource["kind"]) in OPERATOR_KINDS:
            assert resource["spec"], resource["metadata"]["name"]
            continue
        kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)


def test_an_invalid_resource_is_refused() -> None:
    deployment = of_kind(rendered("dev"), "Deployment")["paycore-serve"]
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_workloads_are_probed_limited_and_unprivileged(overlay: str) -> None:
    deployments = of_kind(rendered(overlay), "Deployment")
    assert {"paycore-serve", "paycore-edge", "paycore-worker"} <= set(deployments)
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        for container in pod["containers"]:
            assert container["resources"]["requests"] and container["resources"]["limits"], name
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, name
            assert "livenessProbe" in container or "readinessProbe" in container, name
    serve = deployments["paycore-serve"]["spec"]["template"]["spec"]["containers"][0]
    health = ["paycore", "health", "--target", "127.0.0.1:50051"]
    probe = serve["readinessProbe"]  # the health service, in plaintext or over TLS
    assert probe.get("grpc", {}).get("port") == 50051 or probe["exec"]["command"][:4] == health


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_are_referenced_never_inlined(overlay: str) -> None:
    resources = rendered(overlay)
    assert of_kind(resources, "Secret") == {}
    for deployment in of_kind(resources, "Deployment").values():
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            for variable in container.get("env", []):
                assert "value" not in variable or "SECRET" not in variable["name"]
    config = of_kind(resources, "ConfigMap")
    (data,) = (c["data"] for c in config.values())
    assert not any(word in name for name in data for word in ("TOKEN", "SECRET", "VAULT_KEY"))


def test_only_the_edge_is_reachable_from_outside_and_no_simulator_in_production() -> None:
    resources = rendered("production")
    policies = of_kind(resources, "NetworkPolicy")
    assert policies["paycore-default-deny"]["spec"]["podSelector"] == {}
    open_to_all = [
        policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
        for policy in policies.values()
        if any("from" not in rule for rule in policy["spec"].get("ingress", []))
    ]
    assert open_to_all == ["paycore-edge"]
    assert "paycore-psp" not in of_kind(resources, "Deployment")
    assert set(of_kind(resources, "Ingress")) == {"paycore-edge"}
    assert "paycore-psp" in of_kind(rendered("dev"), "Deployment")


def test_a_dashboard_browser_stays_on_the_edge_it_signed_in_on() -> None:
    """The dashboard's sessions are in one edge's memory and production runs several edges:
    without affinity a browser's next page lands on another edge, signed out."""
    assert of_kind(rendered("production"), "Deployment")["paycore-edge"]["spec"]["replicas"] > 1
    (ingress,) = of_kind(rendered("production"), "Ingress").values()
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert annotations["nginx.ingress.kubernetes.io/session-cookie-path"] == "/dashboard"


def test_production_scales_serve_and_edge_and_keeps_them_up() -> None:
    resources = rendered("production")
    autoscalers = of_kind(resources, "HorizontalPodAutoscaler")
    assert set(autoscalers) == {"paycore-serve", "paycore-edge"}
    assert autoscalers["paycore-serve"]["spec"]["minReplicas"] == 3
    budgets = of_kind(resources, "PodDisruptionBudget")
    assert {"paycore-serve", "paycore-edge", "paycore-worker"} <= set(budgets)
    (job,) = of_kind(resources, "Job").values()
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_variable_the_manifests_set_is_one_paycore_reads(overlay: str) -> None:
    """A misspelt name is silently ignored: production once set PAYCORE_TLS_CERT_FILE (read by
    nothing) and ran plaintext."""
    resources = rendered(overlay)
    (config,) = of_kind(resources, "ConfigMap").values()
    named = set(config["data"])
    for deployment in [
        *of_kind(resources, "Deployment").values(),
        *of_kind(resources, "Job").values(),
    ]:
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            named |= {variable["name"] for variable in container.get("env", [])}
    unknown = {name for name in named if name.startswith("PAYCORE_")} - setting_variables()
    assert not unknown, unknown


def test_production_wires_tls_and_synchronous_postgresql_replicas() -> None:
    resources = rendered("production")
    (config,) = of_kind(resources, "ConfigMap").values()
    settings = load_settings(config["data"])
    tls_files = {
        "grpc (serve)": settings.grpc_tls_cert_file,
        "grpc key": settings.grpc_tls_key_file,
        "grpc client CA (mTLS)": settings.grpc_tls_client_ca_file,
        "https (edge)": settings.http_tls_cert_file,
        "https key": settings.http_tls_key_file,
        "the CA the edge trusts": settings.grpc_tls_ca_file,
        "the edge's client certificate": settings.grpc_client_cert_file,
        "its key": settings.grpc_client_key_file,
    }
    for what, path in tls_files.items():
        assert path.startswith("/etc/paycore/tls/"), what
    deployments = of_kind(resources, "Deployment")
    for name in ("paycore-serve", "paycore-edge"):
        pod = deployments[name]["spec"]["template"]["spec"]
        assert {"name": "tls", "secret": {"secretName": "paycore-tls", "defaultMode": 0o440}} in (
            pod["volumes"]
        )
    # The kubelet's gRPC probes speak plaintext only: serve's ask through `paycore health`,
    # which speaks TLS as the edge does; the edge's HTTP probes speak HTTPS.
    (serve,) = deployments["paycore-serve"]["spec"]["template"]["spec"]["containers"]
    for probe in ("readinessProbe", "startupProbe"):
        command = serve[probe]["exec"]["command"]
        assert command[:2] == ["paycore", "health"], (probe, command)
        assert command[command.index("--server-name") + 1] == "paycore-serve", probe
    (edge,) = deployments["paycore-edge"]["spec"]["template"]["spec"]["containers"]
    assert edge["readinessProbe"]["httpGet"]["scheme"] == "HTTPS"
    clusters = of_kind(resources, "Cluster")
    assert set(clusters) == {"paycore-shard-0", "paycore-shard-1"}
    for cluster in clusters.values():
        assert cluster["spec"]["instances"] >= 3
        assert cluster["spec"]["postgresql"]["synchronous"]["number"] >= 1
        assert cluster["spec"]["backup"]["barmanObjectStore"]["wal"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_serve_believes_the_client_address_its_edges_forward(overlay: str) -> None:
    """The edge runs in pods of its own: serve must trust their x-forwarded-for, or every HTTP
    client counts as the edge's address, and one client's 20 bad keys throttle every merchant
    behind that edge (and one bucket of publishable-key calls serves every buyer)."""
    resources = rendered(overlay)
    (config,) = of_kind(resources, "ConfigMap").values()
    trusted = TrustedProxies(load_settings(config["data"]).trusted_proxies)
    assert POD_ADDRESS in trusted
    if overlay == "production":  # the Ingress controller in front of the edge
        edge_trusted = TrustedProxies(load_settings(config["data"]).edge_trusted_proxies)
        assert POD_ADDRESS in edge_trusted


def environment_of(resources: list[dict[str, Any]], container: dict[str, Any]) -> dict[str, str]:
    """What the container's process reads: its ConfigMap's data, then its own `env`."""
    (config,) = of_kind(resources, "ConfigMap").values()
    environment = dict(config["data"])
    environment.update(
        {variable["name"]: variable["value"] for variable in container.get("env", [])}
    )
    return environment


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_metrics_listen_where_the_probes_and_prometheus_look(overlay: str) -> None:
    """The worker serves /metrics on PAYCORE_WORKER_METRICS_ADDR (127.0.0.1:9465 unless set),
    not PAYCORE_METRICS_ADDR: its liveness probe and Prometheus asked port 9464, where nothing
    listened, so the kubelet restarted every worker and no worker metric was scraped."""
    resources = rendered(overlay)
    deployments = of_kind(resources, "Deployment")
    for name, setting in (
        ("paycore-serve", "metrics_addr"),
        ("paycore-worker", "worker_metrics_addr"),
        ("paycore-edge", "edge_metrics_addr"),
    ):
        pod = deployments[name]["spec"]["template"]
        (container,) = pod["spec"]["containers"]
        settings = load_settings(environment_of(resources, container))
        host, port = split_address(getattr(settings, setting))
        ports = {entry["name"]: entry["containerPort"] for entry in container["ports"]}
        assert (host, port) == ("0.0.0.0", ports["metrics"]), name
        assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(port), name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_liveness_asks_the_process_not_what_it_depends_on(overlay: str) -> None:
    """serve's health is NOT_SERVING while a database is unreachable, and the edge's /healthz
    is 503 while serve is: as liveness probes they had the kubelet restart every serve pod
    during a PostgreSQL failover longer than 30 s, and every edge while serve rolled. Readiness
    takes them out of the Service; liveness only asks whether the process answers at all."""
    deployments = of_kind(rendered(overlay), "Deployment")
    for name in ("paycore-serve", "paycore-edge"):
        (container,) = deployments[name]["spec"]["template"]["spec"]["containers"]
        assert set(container["livenessProbe"]) & {"tcpSocket"}, (name, container["livenessProbe"])
        readiness = container["readinessProbe"]
        assert set(readiness) & {"grpc", "exec", "httpGet"}, (name, readiness)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_checkout_urls_are_ones_a_buyer_can_open(overlay: str) -> None:
    """serve and the worker render each checkout session's url (and the 3-D Secure return)
    from PAYCORE_CHECKOUT_URL, by default http://<PAYCORE_HTTP_ADDR>: the base's 0.0.0.0:8080
    made every url http://0.0.0.0:8080/c/pay/..., in production too, behind an HTTPS Ingress."""
    resources = rendered(overlay)
    deployments = of_kind(resources, "Deployment")
    for name in ("paycore-serve", "paycore-worker"):
        (container,) = deployments[name]["spec"]["template"]["spec"]["containers"]
        settings = load_settings(environment_of(resources, container))
        settings.check_pages_url()
        if overlay == "production":
            (ingress,) = of_kind(resources, "Ingress").values()
            (rule,) = ingress["spec"]["rules"]
            assert settings.pages_url == f"https://{rule['host']}", name


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A label selector (matchLabels, matchExpressions) against a set of labels."""
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values")
        if (
            (operator == "Exists" and key not in labels)
            or (operator == "DoesNotExist" and key in labels)
            or (operator == "In" and labels.get(key) not in values)
            or (operator == "NotIn" and labels.get(key) in values)
        ):
            return False
    return True


def admits(
    policies: list[dict[str, Any]],
    pod: dict[str, str],
    port: int,
    peer: dict[str, str],
    peer_namespace: dict[str, str] | None = None,
) -> bool:
    """Whether the namespace's NetworkPolicies let a peer pod (in this namespace, or in one
    labelled `peer_namespace`) reach a pod's port."""
    applicable = [p for p in policies if selects(p["spec"]["podSelector"], pod)]
    if not applicable:
        return True
    for policy in applicable:
        for rule in policy["spec"].get("ingress", []):
            if rule.get("ports") and port not in [entry["port"] for entry in rule["ports"]]:
                continue
            for source in rule.get("from", [{}]):
                if "namespaceSelector" in source:
                    if peer_namespace is None or not selects(
                        source["namespaceSelector"], peer_namespace
                    ):
                        continue
                elif peer_namespace is not None and source:
                    continue
                if selects(source.get("podSelector", {}), peer):
                    return True
    return False


def test_postgresql_shards_are_reachable_under_the_default_deny() -> None:
    """Production's CloudNativePG clusters live in paycore's namespace, where the default deny
    refuses every ingress nothing else allows: paycore's processes must still reach 5432, the
    instances each other (replication, 8000 for the instance manager), and the operator both
    (CloudNativePG's networking page: ports 8000 and 5432)."""
    resources = rendered("production")
    policies = list(of_kind(resources, "NetworkPolicy").values())
    clusters = of_kind(resources, "Cluster")
    assert clusters
    workloads = {**of_kind(resources, "Deployment"), **of_kind(resources, "Job")}
    for name in clusters:
        instance = {"cnpg.io/cluster": name, "cnpg.io/instanceRole": "primary"}
        replica = {"cnpg.io/cluster": name, "cnpg.io/instanceRole": "replica"}
        for workload in ("paycore-serve", "paycore-worker", "paycore-migrate"):
            labels = workloads[workload]["spec"]["template"]["metadata"]["labels"]
            assert admits(policies, instance, 5432, labels), (workload, name)
        assert admits(policies, instance, 5432, replica), name
        assert admits(policies, instance, 8000, replica), name
        operator = {"app.kubernetes.io/name": "cloudnative-pg"}
        namespace = {"kubernetes.io/metadata.name": "cnpg-system"}
        assert admits(policies, instance, 8000, operator, namespace), name
        assert admits(policies, instance, 5432, operator, namespace), name
        assert not admits(policies, instance, 5432, {"app": "anything-else"}), name
        assert not admits(policies, instance, 5432, {}, {"kubernetes.io/metadata.name": "x"})
    edge = workloads["paycore-edge"]["spec"]["template"]["metadata"]["labels"]
    assert admits(policies, edge, 8080, {}, {"kubernetes.io/metadata.name": "ingress"})
    serve = workloads["paycore-serve"]["spec"]["template"]["metadata"]["labels"]
    assert not admits(policies, serve, 50051, {}, {"kubernetes.io/metadata.name": "ingress"})


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_a_mounted_secret_is_readable_by_the_non_root_process(overlay: str) -> None:
    """The kubelet writes a secret volume's files as root:root unless the pod sets fsGroup, when
    they are root:<fsGroup> with the group read bit added to defaultMode. A mode without the
    others' read bit (production's TLS key, 0440) is then unreadable to uid 10001 without it:
    serve and the edge would fail to load their certificates at start."""
    checked = 0
    for name, deployment in of_kind(rendered(overlay), "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        context = pod.get("securityContext", {})
        for volume in pod.get("volumes", []):
            if "secret" not in volume:
                continue
            checked += 1
            mode = volume["secret"].get("defaultMode", 0o644)
            if context.get("runAsUser", 0) == 0 or mode & 0o004:
                continue
            assert "fsGroup" in context, (name, volume["name"], oct(mode))
            assert context["fsGroup"] == context.get("runAsGroup"), name
    if overlay == "production":
        assert checked >= 2  # serve's and the edge's paycore-tls


def test_production_connections_fit_each_shards_max_connections() -> None:
    """Every paycore process opens up to pool_size + max_overflow (twice PAYCORE_DB_POOL_SIZE,
    storage/shards.py) connections to every shard: serve at its autoscaler's maximum plus a
    rolling update's surge pod, times its --workers, the worker's replicas plus a surge, and
    the migrate Job must fit in max_connections less the superuser reserve and the operator's
    own connections, or a scale-out under load meets "too many clients"."""
    resources = rendered("production")
    deployments = of_kind(resources, "Deployment")
    autoscalers = of_kind(resources, "HorizontalPodAutoscaler")

    def processes(name: str) -> int:
        spec = deployments[name]["spec"]
        scaled = autoscalers.get(name)
        replicas = scaled["spec"]["maxReplicas"] if scaled else spec["replicas"]
        args = spec["template"]["spec"]["containers"][0]["args"]
        per_pod = int(args[args.index("--workers") + 1]) if "--workers" in args else 1
        return int(replicas + 1) * per_pod

    container = deployments["paycore-serve"]["spec"]["template"]["spec"]["containers"][0]
    per_process = 2 * load_settings(environment_of(resources, container)).database_pool_size
    total = (processes("paycore-serve") + processes("paycore-worker") + 1) * per_process
    for name, cluster in of_kind(resources, "Cluster").items():
        limit = int(cluster["spec"]["postgresql"]["parameters"]["max_connections"])
        assert total <= limit - 3 - 10, (name, total, limit)  # superuser reserve, CloudNativePG


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_runs_the_one_published_image(overlay: str) -> None:
    """The base's `images` names the registry; a resource an overlay adds (dev's simulator) is
    outside the base's transformer and kept the bare `paycore`, which no registry serves
    (docker.io/library/paycore: ImagePullBackOff)."""
    images = set()
    for resource in rendered(overlay):
        if resource["kind"] not in ("Deployment", "Job"):
            continue
        for container in resource["spec"]["template"]["spec"]["containers"]:
            images.add(container["image"])
    assert len(images) == 1, images
    (image,) = images
    assert "/" in image and ":" in image.rpartition("/")[2], image


def test_a_release_runs_the_migrate_job_alone_before_the_rest() -> None:
    """A Job's pod template cannot change: `kubectl apply -k` with a new release's image over
    the last release's Job (kept an hour, ttlSecondsAfterFinished) failed "field is
    immutable", and once that Job was gone it migrated while the Deployments rolled.
    deploy/README's release steps delete the old Job, apply the Job alone (a label selector
    that picks it and nothing else), wait for it, then apply everything."""
    readme = (DEPLOY / "README.md").read_text()
    steps = readme.split("### A release", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    lines = [line for line in steps.splitlines() if line.strip()]
    production = "deploy/kubernetes/overlays/production"
    (job,) = of_kind(rendered("production"), "Job")
    deleting = next(i for i, line in enumerate(lines) if f"delete job {job}" in line)
    selected_at, selector = next(
        (i, line.split(" -l ", 1)[1].split()[0])
        for i, line in enumerate(lines)
        if f"apply -k {production} -l " in line
    )
    key, _, value = selector.partition("=")
    chosen = [
        r for r in rendered("production") if r["metadata"].get("labels", {}).get(key) == value
    ]
    assert [(r["kind"], r["metadata"]["name"]) for r in chosen] == [("Job", job)]
    waiting = next(i for i, line in enumerate(lines) if "condition=complete" in line)
    assert f"job/{job}" in lines[waiting]
    everything = next(
        i for i, line in enumerate(lines) if line.rstrip().endswith(f"apply -k {production}")
    )
    assert deleting < selected_at < waiting < everything


def test_a_new_shard_on_kubernetes_restarts_every_process_that_routes() -> None:
    """deploy/README's "More shards" said "add the new database to PAYCORE_DATABASE_URLS of
    every process (a rolling restart)" with no word on Kubernetes, where the list sits in the
    Secret paycore-secrets and a changed Secret reaches no running pod's environment. Its
    Kubernetes steps restart every Deployment whose process routes by shard (serve, worker)
    and run `paycore shards` in one of the rendered Deployments."""
    readme = (DEPLOY / "README.md").read_text()
    section = readme.split("## More shards", 1)[1].split("\n## ", 1)[0]
    steps = section.split("On Kubernetes", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    deployments = of_kind(rendered("production"), "Deployment")
    routing = {
        name
        for name, deployment in deployments.items()
        if deployment["spec"]["template"]["spec"]["containers"][0]["args"][0] in ("serve", "worker")
    }
    assert routing == {"paycore-serve", "paycore-worker"}
    (restart,) = [line for line in steps.splitlines() if "rollout restart" in line]
    assert {f"deployment/{name}" for name in routing} <= set(restart.split())
    moves = [line for line in steps.splitlines() if "paycore shards move" in line]
    assert moves
    for line in moves:
        (target,) = re.findall(r"exec (?:deploy|deployment)/([\w-]+) -- paycore shards", line)
        assert target in deployments, line
