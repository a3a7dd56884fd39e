"""The cost model per stack, and that it prices exactly what the program declares."""

from __future__ import annotations

from collections import Counter

import pytest

from infra.prices import FREE_TYPES
from stacks.cost import estimate, total
from tests.infra.conftest import evaluated

PREDECESSOR_BUDGET = 53.0


def test_dev_fits_the_predecessors_budget():
    dev = evaluated("dev")
    cost = total(estimate(dev.config))
    assert cost == pytest.approx(52.76, abs=0.01)
    assert cost <= PREDECESSOR_BUDGET <= dev.config.budget.monthly_usd


def test_prod_estimate_within_its_budget():
    prod = evaluated("prod")
    cost = total(estimate(prod.config))
    assert cost == pytest.approx(493.51, abs=0.01)
    assert cost <= prod.config.budget.monthly_usd


def test_every_declared_azure_type_is_priced_or_free(stack):
    declared = Counter(
        r.type_token for r in stack.resources if r.type_token.startswith("azure-native:")
    )
    priced = Counter(line.type_token for line in estimate(stack.config))
    assert set(declared) == set(priced) | (set(declared) & set(FREE_TYPES))
    assert not set(priced) & set(FREE_TYPES)
    for token, count in priced.items():
        assert declared[token] == count, token


def test_preview_command_prints_tree_cost_and_budget(capsys):
    from spy_platform.cli import main

    assert main(["preview", "--stack", "dev"]) == 0
    out = capsys.readouterr().out
    assert "azure-native:network:VirtualNetworkGateway" in out
    assert "52.76  total" in out
    assert "budget $53/month: holds" in out


def test_preview_fails_when_the_budget_does_not_hold(tmp_path, capsys):
    import shutil

    from spy_platform.cli import main
    from stacks.offline import PROJECT_DIR

    for name in ("Pulumi.yaml", "Pulumi.dev.yaml"):
        shutil.copy(PROJECT_DIR / name, tmp_path / name)
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(stack_file.read_text().replace("monthlyUsd: 53", "monthlyUsd: 45"))
    assert main(["preview", "--stack", "dev", "--project-dir", str(tmp_path)]) == 2
    assert (
        "budget.monthlyUsd 45 is below the estimated monthly cost $52.76" in capsys.readouterr().err
    )


def test_every_sku_a_component_accepts_has_a_price():
    """The SKU Literals are owned by the components; the price table covers exactly them."""
    from typing import get_args

    from infra import backend_app, dashboard, prices, realtime, registry, storage, vpn

    for sku, table in (
        (vpn.VpnSku, prices.VPN_GATEWAY),
        (backend_app.AppServiceSku, prices.APP_SERVICE_LINUX),
        (registry.RegistrySku, prices.REGISTRY),
        (realtime.SignalRSku, prices.SIGNALR_PER_UNIT),
        (dashboard.StaticSiteSku, prices.STATIC_WEB_APP),
        (storage.StorageSku, prices.STORAGE_PER_GB),
    ):
        assert set(get_args(sku)) == set(table), sku
