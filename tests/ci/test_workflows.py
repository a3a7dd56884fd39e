"""The GitHub workflows, checked offline: against GitHub's workflow and Dependabot schemas
(check-jsonschema's vendored copies), and by what they do: which jobs a pull request runs,
that prod deploys only behind the `production` approval, that no job holds a write
permission it does not use, and that a mandatory policy failure stops the run before `up`."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))
CHECK_JSONSCHEMA = Path(sys.executable).with_name("check-jsonschema")


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    if "uses" in job:  # a reusable workflow: its one job's steps
        called = load(Path(job["uses"]).name)
        return [s for j in called["jobs"].values() for s in j["steps"]]
    return job.get("steps", [])


def action(step: dict[str, Any]) -> str:
    return step.get("uses", "").split("@")[0]


def runs_up(step: dict[str, Any]) -> bool:
    return action(step) == "pulumi/actions" and step["with"]["command"] == "up"


@pytest.mark.parametrize(
    ("schema", "files"),
    [
        ("vendor.github-workflows", FILES),
        ("vendor.dependabot", [ROOT / ".github" / "dependabot.yml"]),
    ],
)
def test_schemas(schema: str, files: list[Path]) -> None:
    result = subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", schema, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_pull_request_runs_tests_scans_policy_and_preview_but_never_deploys() -> None:
    on_pr = {
        (path.stem, job)
        for path in FILES
        if "pull_request" in (load(path.name)["on"] or {})
        for job in load(path.name)["jobs"]
    }
    assert on_pr == {("ci", "test"), ("ci", "scan"), ("preview", "policy"), ("preview", "preview")}
    preview = load("preview.yml")["jobs"]["preview"]
    [pulumi] = [s for s in preview["steps"] if action(s) == "pulumi/actions"]
    assert pulumi["with"].items() >= {"command": "preview", "policyPacks": "policies"}.items()
    assert pulumi["with"]["comment-on-pr"] is True
    assert preview["needs"] == "policy"
    assert load("ci.yml")["jobs"]["test"]["steps"][-1]["run"] == "make test"


def test_prod_deploys_after_dev_behind_the_production_approval() -> None:
    deploy = load("deploy.yml")
    assert deploy["on"] == {"push": {"branches": ["main"]}}
    jobs = deploy["jobs"]
    assert jobs["deploy-dev"]["needs"] == "policy"
    assert jobs["deploy-prod"]["needs"] == "deploy-dev"
    assert jobs["deploy-prod"]["with"] == {"stack": "prod", "environment": "production"}
    [called] = load("deploy-stack.yml")["jobs"].values()
    assert called["environment"] == "${{ inputs.environment }}"
    ups = [s for s in called["steps"] if runs_up(s)]
    assert [bool(s["with"].get("target")) for s in ups] == [True, False]  # registry, then all


def test_no_long_lived_cloud_secret_and_oidc_login_only() -> None:
    for path in [*FILES, ROOT / ".github" / "dependabot.yml"]:
        assert "secrets." not in path.read_text(), path.name
    for path in FILES:
        for job in load(path.name)["jobs"].values():
            for step in steps(job):
                if action(step) == "azure/login":
                    assert set(step["with"]) == {"client-id", "tenant-id", "subscription-id"}


# A write permission is allowed where a step uses it.
NEEDS_WRITE = {
    "id-token": lambda s: action(s) == "azure/login",
    "pull-requests": lambda s: action(s) == "pulumi/actions" and s["with"].get("comment-on-pr"),
}


def test_no_job_holds_a_write_permission_it_does_not_use() -> None:
    for path in FILES:
        workflow = load(path.name)
        assert workflow["permissions"] == {"contents": "read"}, path.name
        for name, job in workflow["jobs"].items():
            granted = job.get("permissions", workflow["permissions"])
            for scope, level in granted.items():
                if level != "write":
                    continue
                assert scope in NEEDS_WRITE, f"{path.name}:{name} writes {scope}"
                assert any(map(NEEDS_WRITE[scope], steps(job))), f"{path.name}:{name} {scope}"
            for step in steps(job):
                if action(step) == "azure/login":
                    assert granted.get("id-token") == "write", f"{path.name}:{name}"


def test_every_up_is_preceded_by_the_offline_policy_gate() -> None:
    for path in FILES:
        for name, job in load(path.name)["jobs"].items():
            job_steps = steps(job)
            ups = [i for i, s in enumerate(job_steps) if runs_up(s)]
            if not ups:
                continue
            gates = [
                i for i, s in enumerate(job_steps) if "spy-platform policy" in s.get("run", "")
            ]
            assert gates and gates[0] < ups[0], f"{path.name}:{name}"
            assert job_steps[ups[0]]["with"]["policyPacks"] == "policies"


def test_a_mandatory_failure_stops_the_workflow_naming_rule_and_resource(
    tmp_path: Path, capsys
) -> None:
    """The gate step's own command, on a stack file that breaks a mandatory rule (a region
    outside the allowed ones), exits non-zero (a failing step stops the job before `up`)."""
    from spy_platform.cli import main

    [called] = load("deploy-stack.yml")["jobs"].values()
    [gate] = [s for s in called["steps"] if "spy-platform policy" in s.get("run", "")]
    argv = shlex.split(gate["run"].replace("${{ inputs.stack }}", "dev"))[1:]
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path)
    settings = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    settings["config"]["spy-platform:location"] = "westeurope"
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump(settings))
    assert main([*argv, "--project-dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "MANDATORY allowed-regions" in out
    assert "azure-native:storage:StorageAccount::spydevst: location 'westeurope'" in out
    assert "FAILED" in out


def test_actions_are_pinned_by_commit_and_checkouts_keep_no_credentials() -> None:
    for path in FILES:
        text = path.read_text()
        for ref, comment in re.findall(r"uses: ([\w./-]+@\S+)(.*)", text):
            if ref.startswith("./"):
                continue
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), f"{path.name}: {ref}"
            assert re.fullmatch(r" # v\d+(\.\d+)*", comment), f"{path.name}: {ref} needs # vX"
        for job in load(path.name)["jobs"].values():
            for step in steps(job):
                if action(step) == "actions/checkout":
                    assert step["with"]["persist-credentials"] is False, path.name


def test_the_registry_bootstrap_targets_resources_the_program_declares() -> None:
    from tests.infra.conftest import evaluated

    [called] = load("deploy-stack.yml")["jobs"].values()
    [first, _] = [s for s in called["steps"] if runs_up(s)]
    declared = {(r.type_token, r.name) for r in evaluated("dev").resources}
    for line in first["with"]["target"].splitlines():
        urn = line.replace("${{ inputs.stack }}", "dev")
        stack, project, types, name = urn.removeprefix("urn:pulumi:").split("::")
        assert (stack, project) == ("dev", "spy-platform")
        assert (types.rsplit("$", 1)[-1], name) in declared, urn


def test_the_dashboard_deploy_writes_the_stacks_config_and_csp_from_its_outputs(
    tmp_path: Path,
) -> None:
    """The deploy step's own shell (bar npm and the upload) on the dev stack's evaluated
    outputs: config.json names the stack's backend, the CSP's connect-src its exact hosts;
    the deployment token comes from a secret output, in the environment only."""
    import json

    from tests.infra.conftest import evaluated

    [called] = load("deploy-stack.yml")["jobs"].values()
    [step] = [s for s in called["steps"] if "static-web-apps-cli" in s.get("run", "")]
    stack = evaluated("dev")
    env = {}
    for name, value in step["env"].items():
        [output] = re.fullmatch(r"\$\{\{ steps\.up\.outputs\.(\w+) \}\}", value).groups()
        env[name] = stack.outputs[output]
    assert step["env"]["SWA_CLI_DEPLOYMENT_TOKEN"].endswith("dashboardDeploymentToken }}")
    assert "dashboardDeploymentToken" in stack.secret_outputs
    assert "TOKEN" not in step["run"] and "token" not in step["run"]
    if shutil.which("jq") is None:
        pytest.skip("no jq here (GitHub's runners have it)")
    (tmp_path / "frontend" / "dist").mkdir(parents=True)
    shutil.copy(ROOT / "frontend" / "staticwebapp.config.json", tmp_path / "frontend")
    script = "\n".join(
        line for line in step["run"].splitlines() if not line.startswith(("npm ", "npx "))
    )
    env["PATH"] = os.environ["PATH"]
    subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env, check=True)
    dist = tmp_path / "frontend" / "dist"
    backend = stack.outputs["backendUrl"]
    assert json.loads((dist / "config.json").read_text())["apiBase"] == backend
    csp = json.loads((dist / "staticwebapp.config.json").read_text())["globalHeaders"][
        "content-security-policy"
    ]
    [connect] = [d for d in csp.split("; ") if d.startswith("connect-src ")]
    host = backend.removeprefix("https://")
    signalr = stack.outputs["signalrEndpoint"]
    assert connect.split()[1:] == [
        "'self'",
        backend,
        f"wss://{host}",
        signalr,
        f"wss://{signalr.removeprefix('https://')}",
    ]
    assert "*" not in connect
