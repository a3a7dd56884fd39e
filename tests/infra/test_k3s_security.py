"""Security properties of every pod the data plane declares, its RBAC, and its network
policy graph: who can reach the IB API port (exactly market data and the trader)."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from infra.k3s.workloads import APPS_NAMESPACE, IB_GATEWAY_IMAGE, TRADER_LEASE
from tests.infra.conftest import evaluated
from tests.infra.k3s_objects import (
    containers,
    named,
    objects,
    of_kind,
    pod_template,
    workloads,
)

HOST_READER = {"fluent-bit"}
"""The one container with a host path (the node's /var/log, read-only, annotated)."""
K3S_POD_CIDR = ipaddress.ip_network("10.42.0.0/16")  # k3s default cluster CIDR


def _all_containers(stack):
    for obj in workloads(stack):
        spec = pod_template(obj)["spec"]
        for container in containers(spec):
            yield obj, spec, container


def test_every_container_is_restricted(stack):
    seen = set()
    for obj, spec, c in _all_containers(stack):
        where = f"{obj['kind']}/{obj['metadata']['name']}:{c['name']}"
        seen.add(c["name"])
        resources = c["resources"]
        for kind in ("requests", "limits"):
            assert set(resources[kind]) == {"cpu", "memory"}, where
        sc = c["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False, where
        assert sc["readOnlyRootFilesystem"] is True, where
        assert sc["capabilities"] == {"drop": ["ALL"]}, where
        seccomp = sc.get("seccompProfile") or spec["securityContext"]["seccompProfile"]
        assert seccomp == {"type": "RuntimeDefault"}, where
        assert not sc.get("privileged"), where
        assert sc["runAsNonRoot"] is True and sc["runAsUser"] > 0, where
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert not spec.get("hostNetwork") and not spec.get("hostPID"), where
    assert {"marketdata", "trader"} <= seen


def test_writable_paths_are_volumes(stack):
    """With a read-only root filesystem, every mount that is writable is an emptyDir, a PVC
    (or, for the log shipper alone, its buffer on the node)."""
    for obj, spec, c in _all_containers(stack):
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        claims = {t["metadata"]["name"] for t in obj["spec"].get("volumeClaimTemplates", [])}
        for mount in c.get("volumeMounts", []):
            if mount["name"] in claims:
                continue
            volume = volumes[mount["name"]]
            kinds = set(volume) - {"name"}
            if "hostPath" in kinds:
                assert c["name"] in HOST_READER and mount["readOnly"] is True
            else:
                assert kinds <= {"emptyDir", "persistentVolumeClaim", "configMap", "secret"}
                if kinds & {"configMap", "secret"}:
                    continue
                if "emptyDir" in kinds:
                    assert volume["emptyDir"]["sizeLimit"]


def test_long_running_containers_have_probes(stack):
    for obj, spec, c in _all_containers(stack):
        if obj["kind"] == "CronJob" or c in spec.get("initContainers", []):
            continue
        assert "readinessProbe" in c and "livenessProbe" in c, c["name"]
        if c["name"] in ("marketdata", "trader"):
            assert c["livenessProbe"]["httpGet"]["path"] == "/health"
            assert c["readinessProbe"]["httpGet"]["path"] == "/ready"


def test_only_api_clients_get_a_service_account_token(stack):
    for obj in workloads(stack):
        spec = pod_template(obj)["spec"]
        if "serviceAccountName" not in spec:
            assert spec["automountServiceAccountToken"] is False, obj["metadata"]["name"]


def test_no_pod_needs_a_jit_cache(stack):
    """The numeric kernels are compiled into the image (C extensions): no pod seeds or names
    a JIT cache, so nothing is compiled at start under the read-only root filesystem."""
    for kind in ("Deployment", "StatefulSet"):
        for obj in of_kind(stack, kind):
            spec = pod_template(obj)["spec"]
            assert "initContainers" not in spec or all(
                "numba" not in c["name"] for c in spec["initContainers"]
            )
            for container in spec["containers"]:
                assert all("NUMBA" not in e["name"] for e in container.get("env", []))


def test_apps_namespace_enforces_restricted(stack):
    ns = named(stack, "Namespace", APPS_NAMESPACE)["metadata"]["labels"]
    assert ns["pod-security.kubernetes.io/enforce"] == "restricted"


def test_gateway_kind_follows_the_stack():
    dev, prod = evaluated("dev"), evaluated("prod")
    assert not of_kind(dev, "StatefulSet")
    assert named(dev, "Deployment", "gateway")
    assert not [s for s in of_kind(dev, "Secret") if s["metadata"]["name"].startswith("ib-")]
    sts = named(prod, "StatefulSet", "gateway")
    (c,) = pod_template(sts)["spec"]["containers"]
    # The registry's copy of the pinned upstream image.
    assert c["image"].endswith(".azurecr.io/ib-gateway:" + IB_GATEWAY_IMAGE.rsplit(":", 1)[1])
    env = {e["name"]: e for e in c["env"]}
    assert env["TRADING_MODE"]["value"] == "paper"
    assert env["TWS_USERID"]["valueFrom"]["secretKeyRef"]["name"] == "ib-gateway-credentials"
    assert "TWS_PASSWORD" not in env  # a file from the Secret, not an environment variable
    assert c["ports"] == [{"name": "api", "containerPort": 4004, "protocol": "TCP"}]
    assert sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "settings"
    credentials = named(prod, "Secret", "ib-gateway-credentials")
    assert credentials["stringData"]["userid"] == prod.config.ib_gateway_user


def test_trader_rbac_is_its_one_lease(stack):
    (rule,) = named(stack, "Role", "trader-lease")["rules"]
    assert rule["resources"] == ["leases"] and rule["resourceNames"] == [TRADER_LEASE]
    assert set(rule["verbs"]) <= {"get", "update", "patch"}
    assert named(stack, "Lease", TRADER_LEASE)
    binding = named(stack, "RoleBinding", "trader-lease")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "trader", "namespace": APPS_NAMESPACE}
    ]
    trader = named(stack, "Deployment", "trader")
    assert trader["spec"]["replicas"] == 2
    assert pod_template(trader)["spec"]["serviceAccountName"] == "trader"


def test_session_scaler_may_only_scale_its_workloads(stack):
    from spy_platform.cli import _build_parser

    role = named(stack, "Role", "session-scaler")
    for rule in role["rules"]:
        assert all(r.endswith("/scale") for r in rule["resources"])
        assert set(rule["verbs"]) == {"get", "patch"}
    cron = named(stack, "CronJob", "session-scaler")
    assert cron["spec"]["timeZone"] == "America/New_York"
    (container,) = pod_template(cron)["spec"]["containers"]
    args = _build_parser().parse_args([*container["command"][1:], *container["args"]])
    allowed = {
        (rule["resources"][0].removesuffix("s/scale"), name)
        for rule in role["rules"]
        for name in rule["resourceNames"]
    }
    assert {(t.kind, t.name) for t in args.targets} == allowed
    kinds = {"deployment": "Deployment", "statefulset": "StatefulSet"}
    for target in args.targets:
        assert named(stack, kinds[target.kind], target.name)


def test_priority_and_disruption_budgets(stack):
    (pc,) = of_kind(stack, "PriorityClass")
    for kind, name in (("Deployment", "trader"),):
        assert (
            pod_template(named(stack, kind, name))["spec"]["priorityClassName"]
            == (pc["metadata"]["name"])
        )
    gateway = next(w for w in workloads(stack) if w["metadata"]["name"] == "gateway")
    assert pod_template(gateway)["spec"]["priorityClassName"] == pc["metadata"]["name"]
    budgets = {p["metadata"]["name"] for p in of_kind(stack, "PodDisruptionBudget")}
    assert budgets == {"gateway", "marketdata", "trader"}


# --- the network policy graph ------------------------------------------------------------


def _matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def _peer_admits(peer: dict[str, Any], pod: dict[str, Any], policy_ns: str) -> bool:
    if "ipBlock" in peer:
        block = ipaddress.ip_network(peer["ipBlock"]["cidr"])
        excepted = [ipaddress.ip_network(e) for e in peer["ipBlock"].get("except", [])]
        return K3S_POD_CIDR.overlaps(block) and not any(K3S_POD_CIDR.subnet_of(e) for e in excepted)
    if "namespaceSelector" in peer:
        ns_labels = {"kubernetes.io/metadata.name": pod["namespace"]}
        if not _matches(peer["namespaceSelector"], ns_labels):
            return False
    elif pod["namespace"] != policy_ns:
        return False
    return _matches(peer.get("podSelector", {}), pod["labels"])


def _port_ok(rule: dict[str, Any], port: int) -> bool:
    return "ports" not in rule or any(p.get("port") == port for p in rule["ports"])


def _allowed(policies, pod, peer, port, direction: str) -> bool:
    key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    applying = [
        p
        for p in policies
        if p["metadata"]["namespace"] == pod["namespace"]
        and direction in p["spec"]["policyTypes"]
        and _matches(p["spec"]["podSelector"], pod["labels"])
    ]
    if not applying:
        return True
    return any(
        _port_ok(rule, port)
        and (
            peers_key not in rule
            or any(_peer_admits(x, peer, p["metadata"]["namespace"]) for x in rule[peers_key])
        )
        for p in applying
        for rule in p["spec"].get(key, [])
    )


def _pods(stack) -> list[dict[str, Any]]:
    pods = [
        {
            "name": w["metadata"]["name"],
            "namespace": w["metadata"]["namespace"],
            "labels": pod_template(w)["metadata"]["labels"],
        }
        for w in workloads(stack)
    ]
    # Stand-ins for what else runs on the cluster: the chart's Prometheus, a stranger.
    pods.append({"name": "prometheus", "namespace": "spy-monitoring", "labels": {"app": "p"}})
    pods.append({"name": "stranger", "namespace": "default", "labels": {"app": "x"}})
    return pods


def test_only_market_data_and_the_trader_reach_the_gateway_api(stack):
    policies = of_kind(stack, "NetworkPolicy")
    pods = _pods(stack)
    (gateway,) = [p for p in pods if p["name"] == "gateway"]
    port = named(stack, "Service", "gateway")["spec"]["ports"][0]["port"]
    reach = {
        p["name"]
        for p in pods
        if p is not gateway
        and _allowed(policies, gateway, p, port, "Ingress")
        and _allowed(policies, p, gateway, port, "Egress")
    }
    assert reach == {"marketdata", "trader"}


def test_app_egress_is_gateway_backend_and_dns(stack):
    policies = of_kind(stack, "NetworkPolicy")
    vnet = stack.config.network.address_space
    for app in ("marketdata", "trader"):
        (egress,) = [p for p in policies if p["metadata"]["name"] == f"{app}-egress"]
        blocks = [
            peer["ipBlock"]["cidr"]
            for rule in egress["spec"]["egress"]
            for peer in rule["to"]
            if "ipBlock" in peer
        ]
        assert blocks == [vnet]
    assert any(p["metadata"]["name"] == "default-deny" for p in policies)
    namespaces = {p["metadata"]["namespace"] for p in policies if p["spec"]["podSelector"] == {}}
    assert namespaces == {"spy", "spy-monitoring"}


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_no_secret_reaches_a_manifest_in_plain_text(name):
    """Secrets enter manifests only as secret Outputs (the kubeconfig, IB password, SP
    secret, Grafana password, service token)."""
    from tests.infra.conftest import plain_strings

    stack = evaluated(name)
    strings = [
        s
        for r in stack.resources
        if r.type_token.startswith(("kubernetes:", "pulumi:providers:kubernetes"))
        for s in plain_strings(r.inputs)
    ]
    assert not [s for s in strings if "offline-placeholder-secret" in s or "mmmm" in s]
    assert objects(stack)
