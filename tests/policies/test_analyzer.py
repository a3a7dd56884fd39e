"""The pack as the Pulumi engine runs it, without the CLI: `policies/__main__.py` started the
way the Python policy host starts it (the pack directory first on sys.path), then asked over
its gRPC analyzer interface what it holds and what it says of a resource."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import grpc
import pytest
from google.protobuf import struct_pb2
from pulumi.runtime import proto
from pulumi.runtime.proto import analyzer_pb2_grpc

from policies.rules import RESOURCE_RULES, STACK_RULES
from stacks.offline import PROJECT_DIR

MANDATORY = proto.EnforcementLevel.Value("MANDATORY")
ADVISORY = proto.EnforcementLevel.Value("ADVISORY")


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    pack = PROJECT_DIR / "policies"
    process = subprocess.Popen(
        [sys.executable, str(pack / "__main__.py")],
        cwd=pack,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = process.stdout.readline().strip()  # type: ignore[union-attr]
        assert port.isdigit(), process.stderr.read()  # type: ignore[union-attr]
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        process.kill()
        process.wait()


def test_the_pack_serves_every_rule_at_its_level(analyzer) -> None:
    from google.protobuf import empty_pb2

    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
    levels = {p.name: p.enforcementLevel for p in info.policies}
    for rule in (*RESOURCE_RULES, *STACK_RULES):
        assert levels[rule.name] == (MANDATORY if rule.level == "mandatory" else ADVISORY)
    assert levels["cannot-verify"] == levels["cannot-verify-stack"] == ADVISORY


def _analyze(analyzer, props: dict) -> list:
    properties = struct_pb2.Struct()
    properties.update(props)
    request = proto.AnalyzeRequest(
        type="azure-native:signalrservice:SignalR",
        properties=properties,
        urn="urn:pulumi:prod::spy-platform::azure-native:signalrservice:SignalR::s",
        name="s",
    )
    return list(analyzer.Analyze(request, timeout=60).diagnostics)


def test_a_mandatory_violation_and_a_cannot_verify(analyzer) -> None:
    tags = {"project": "p", "environment": "prod", "owner": "o", "cost-center": "c"}
    props = {"disableLocalAuth": False, "location": "eastus2", "tags": tags}
    found = {(d.policyName, d.enforcementLevel) for d in _analyze(analyzer, props)}
    assert found == {("signalr-local-auth-off", MANDATORY), ("cannot-verify", ADVISORY)}
    [unverified] = [d for d in _analyze(analyzer, props) if d.policyName == "cannot-verify"]
    assert "[signalr-cors-explicit] cannot verify: cors.allowedOrigins is missing" in (
        unverified.message
    )


def test_the_stack_policies_read_the_stack_from_the_urns(analyzer) -> None:
    """No policy config: the cost rule estimates dev from Pulumi.dev.yaml (~$48/month)."""
    properties = struct_pb2.Struct()
    properties.update({"amount": 10})
    budget = proto.AnalyzerResource(
        type="azure-native:consumption:Budget",
        properties=properties,
        urn="urn:pulumi:dev::spy-platform::spy:cost:CostAlerts$azure-native:consumption:Budget::b",
        name="b",
    )
    response = analyzer.AnalyzeStack(proto.AnalyzeStackRequest(resources=[budget]), timeout=60)
    [diagnostic] = [d for d in response.diagnostics if d.policyName == "budget-covers-cost"]
    assert diagnostic.enforcementLevel == MANDATORY
    assert diagnostic.urn == budget.urn
    assert "budget $10/month is below the estimated monthly cost $52.76" in diagnostic.message
