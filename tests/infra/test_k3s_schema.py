"""Every Kubernetes object the data plane renders is valid for the cluster's Kubernetes
version (kubernetes-validate's bundled schemas, strict: unknown fields fail), and every
custom resource is valid against its CRD schema (vendored in tests/infra/data/crds)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest

from tests.infra.conftest import evaluated
from tests.infra.k3s_objects import objects

CRDS = {
    (doc["group"] + "/" + doc["version"], doc["kind"]): doc
    for doc in (
        json.loads(p.read_text())
        for p in sorted((Path(__file__).parent / "data" / "crds").glob("*.json"))
    )
}


def test_the_vendored_crd_schemas_name_their_source():
    assert set(CRDS) == {
        ("monitoring.coreos.com/v1", "PrometheusRule"),
        ("monitoring.coreos.com/v1", "ServiceMonitor"),
        ("monitoring.coreos.com/v1alpha1", "ScrapeConfig"),
    }
    for doc in CRDS.values():
        assert doc["source"].startswith("prometheus-operator/prometheus-operator")
        jsonschema.Draft7Validator.check_schema(doc["openAPIV3Schema"])


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_every_object_is_valid_for_the_pinned_kubernetes_version(name):
    stack = evaluated(name)
    version = stack.config.data_plane.kubernetes_version
    rendered = objects(stack)
    assert len(rendered) > 40
    checked = 0
    for obj in rendered:
        where = f"{obj['kind']} {obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}"
        crd = CRDS.get((obj["apiVersion"], obj["kind"]))
        if crd is not None:
            errors = [
                e.message
                for e in jsonschema.Draft7Validator(crd["openAPIV3Schema"]).iter_errors(obj)
            ]
            assert not errors, f"{where}: {errors}"
        else:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                pytest.fail(f"{where}: {'.'.join(map(str, error.path))}: {error.message}")
        checked += 1
    assert checked == len(rendered)


def test_a_wrong_field_is_caught():
    """The check bites: an unknown field and a wrong type are both rejected."""
    obj = next(o for o in objects(evaluated("dev")) if o["kind"] == "Deployment")
    broken = json.loads(json.dumps(obj))
    broken["spec"]["replica"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.33", strict=True)
    rule = next(o for o in objects(evaluated("dev")) if o["kind"] == "PrometheusRule")
    broken = json.loads(json.dumps(rule))
    broken["spec"]["groups"][0]["rules"][0]["for"] = "one minute"
    schema = CRDS[("monitoring.coreos.com/v1", "PrometheusRule")]["openAPIV3Schema"]
    assert list(jsonschema.Draft7Validator(schema).iter_errors(broken))
