"""Bad stack settings stop the program with a message naming the setting, before any resource."""

from __future__ import annotations

import pytest

from stacks.offline import PlatformMocks, evaluate
from stacks.stack_config import StackConfigError

P = "spy-platform:"


def _set(settings, path, value):
    *parents, leaf = path.split(".")
    node = settings
    for key in parents:
        node = node[key]
    node[leaf] = value


CASES = [
    ("network.addressSpace", "10.40.0.0/33", "spy-platform:network.addressSpace", "CIDR"),
    ("network.addressSpace", "10.40.0.1/22", "spy-platform:network.addressSpace", "host bits"),
    ("network.addressSpace", "192.168.50.0/24", "overlaps onPrem.lanCidrs 192.168.50.0/24", ""),
    ("network.addressSpace", "10.40.0.0/26", "spy-platform:network.addressSpace", "/16 and /24"),
    ("onPrem.lanCidrs", ["192.168.0.0/16", "192.168.50.0/24"], "onPrem.lanCidrs", "overlaps"),
    ("onPrem.publicIp", "300.1.2.3", "spy-platform:onPrem.publicIp", "not an IPv4 address"),
    ("onPrem.publicIp", "10.1.2.3", "spy-platform:onPrem.publicIp", "not a public address"),
    ("vpn.sku", "VpnGw9", "spy-platform:vpn.sku", "Input should be"),
    ("signalr.sku", "Premium_P1", "spy-platform:signalr.sku", "Input should be"),
    ("appService.sku", "F1", "spy-platform:appService.sku", "Input should be"),
    ("vpn.ipsecPolicy.dhGroup", "ECP384", "spy-platform:vpn", "Basic VPN SKU"),
    ("vpn.ipsecPolicy.ipsecIntegrity", "GCMAES256", "vpn.ipsecPolicy", "GCM"),
    ("budget.monthlyUsd", 40, "spy-platform:budget.monthlyUsd 40 is below", "$52.76"),
    ("budget.startDate", "2026-12-15", "spy-platform:budget.startDate", "first day"),
    ("budget.alertEmails", ["not-an-email"], "spy-platform:budget.alertEmails", "e-mail"),
    ("keyVault.softDeleteRetentionDays", 3, "spy-platform:keyVault.softDeleteRetentionDays", ""),
    ("network.extra", "x", "spy-platform:network.extra", "Extra inputs"),
    # operations (issue 16): an alert nobody receives, thresholds out of range
    ("operations.receivers", {"emails": []}, "operations.receivers", "no e-mail or webhook"),
    ("operations.receivers.emails", ["pager"], "operations.receivers.emails", "e-mail"),
    ("operations.receivers.webhooks", [{"name": "p", "uri": "http://x"}], "webhooks.0.uri", ""),
    ("operations.thresholds.signalrQuotaPercent", 150, "thresholds.signalrQuotaPercent", "100"),
    ("operations.thresholds.errorRatePercent", 0, "thresholds.errorRatePercent", "greater"),
    ("operations.thresholds.p95LatencyMs", 10, "thresholds.p95LatencyMs", "50"),
    ("operations.thresholds.ingestSilenceMinutes", 0, "thresholds.ingestSilenceMinutes", ""),
    ("operations.availability.failedLocations", 3, "operations.availability", "never fire"),
    ("operations.availability.failedLocations", 1, "availability.failedLocations", "2"),
    ("operations.availability.locations", ["mars", "us-va-ash-azr"], "locations", "unknown"),
    ("operations.availability.frequencySeconds", 60, "availability.frequencySeconds", ""),
    ("operations.logAlertFrequencyMinutes", 1, "operations.logAlertFrequencyMinutes", ""),
]


@pytest.mark.parametrize(("path", "value", "names", "says"), CASES, ids=[c[0] for c in CASES])
def test_bad_setting_is_rejected_before_any_resource(dev_settings, path, value, names, says):
    top, _, rest = path.partition(".")
    if rest:
        _set(dev_settings[P + top], rest, value)
    else:
        dev_settings[P + top] = value
    mocks = PlatformMocks()
    with pytest.raises(StackConfigError) as caught:
        evaluate("dev", dev_settings, mocks=mocks)
    assert names in str(caught.value)
    assert says in str(caught.value)
    assert "Pulumi.dev.yaml" in str(caught.value)
    assert not [r for r in mocks.resources if r.custom], "a resource was declared"


def test_missing_required_setting(dev_settings):
    del dev_settings[P + "vpn"]
    with pytest.raises(StackConfigError, match="spy-platform:vpn: Field required"):
        evaluate("dev", dev_settings)


def test_missing_secret_is_a_clear_error(dev_settings):
    mocks = PlatformMocks()
    with pytest.raises(StackConfigError) as caught:
        evaluate("dev", dev_settings, fill_missing_secrets=False, mocks=mocks)
    assert "spy-platform:ibGatewayPassword" in str(caught.value)
    assert "pulumi config set --secret ibGatewayPassword --stack dev" in str(caught.value)
    assert not mocks.resources


def test_encrypted_secret_in_the_stack_file_counts_as_set(dev_settings):
    for key in ("ibGatewayPassword", "kubeconfig", "logsClientSecret"):
        dev_settings[P + key] = {"secure": "v1:AAAA"}
    result = evaluate("dev", dev_settings, fill_missing_secrets=False)
    assert any("encrypted" in note for note in result.notes)


def test_vpn_config_validates_through_the_programs_path(tmp_path, capsys):
    """`spy-platform vpn-config` reads the stack file the way the program does (engine text,
    then load_stack_config), so a bad setting gets the program's message."""
    import shutil

    from spy_platform.cli import main
    from stacks.offline import PROJECT_DIR

    shutil.copy(PROJECT_DIR / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    stack_file = tmp_path / "Pulumi.dev.yaml"
    text = (PROJECT_DIR / "Pulumi.dev.yaml").read_text()
    stack_file.write_text(text.replace("addressSpace: 10.40.0.0/22", "addressSpace: 10.40.0.1/22"))
    out = tmp_path / "swanctl.conf"
    code = main(["vpn-config", "--stack", "dev", "--project-dir", str(tmp_path), "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert "Pulumi.dev.yaml: invalid stack settings" in err
    assert "spy-platform:network.addressSpace" in err and "host bits" in err
    assert not out.exists()
