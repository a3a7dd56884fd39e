"""The on-prem end of the site-to-site VPN: strongSwan's `swanctl.conf`.

Rendered from the same `TunnelSpec` the Azure connection is declared from (infra.vpn), so the
proposals, lifetimes, dead-peer detection and traffic selectors of both ends are one value.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.ipsec import AZURE_IKE_SA_LIFETIME_SECONDS, IpsecPolicy

REKEY_FRACTION = 0.9
"""strongSwan rekeys at 90% of each lifetime and lets the last 10% run out (`over_time`), so
its hard expiry equals Azure's lifetime and the initiator renews before Azure would."""

PSK_PLACEHOLDER = "<pre-shared key: Key Vault secret vpn-psk>"
GATEWAY_PLACEHOLDER = "<azure-gateway-public-ip>"


@dataclass(frozen=True)
class TunnelSpec:
    """Everything both ends of the tunnel must agree on."""

    name: str
    on_prem_public_ip: str
    on_prem_cidrs: tuple[str, ...]
    azure_cidrs: tuple[str, ...]
    policy: IpsecPolicy
    dpd_timeout_seconds: int

    @property
    def dpd_delay_seconds(self) -> int:
        """strongSwan probes three times within Azure's DPD timeout, so a live peer is never
        declared dead by Azure for lack of an answer."""
        return max(self.dpd_timeout_seconds // 3, 1)

    @property
    def ike_rekey_seconds(self) -> int:
        return int(AZURE_IKE_SA_LIFETIME_SECONDS * REKEY_FRACTION)

    @property
    def child_rekey_seconds(self) -> int:
        return int(self.policy.sa_lifetime_seconds * REKEY_FRACTION)

    @property
    def child_life_bytes(self) -> int:
        return self.policy.sa_data_size_kilobytes * 1024

    @property
    def child_rekey_bytes(self) -> int:
        return int(self.child_life_bytes * REKEY_FRACTION)


def render_swanctl(spec: TunnelSpec, azure_gateway_ip: str | None, psk: str | None) -> str:
    """The complete `swanctl.conf`; missing values become visible placeholders."""
    remote = azure_gateway_ip or GATEWAY_PLACEHOLDER
    secret = (psk or PSK_PLACEHOLDER).replace("\\", "\\\\").replace('"', '\\"')
    ike_over = AZURE_IKE_SA_LIFETIME_SECONDS - spec.ike_rekey_seconds
    child_life = spec.policy.sa_lifetime_seconds
    return f"""\
# strongSwan swanctl.conf for the on-prem end of {spec.name}.
# Rendered by the Pulumi program (infra/swanctl.py) from the same values as the Azure
# connection; regenerate it (spy-platform vpn-config) instead of editing it.
connections {{
    {spec.name} {{
        version = 2
        local_addrs = %any
        remote_addrs = {remote}
        proposals = {spec.policy.ike_proposal()}
        rekey_time = {spec.ike_rekey_seconds}s
        over_time = {ike_over}s
        dpd_delay = {spec.dpd_delay_seconds}s
        mobike = no
        local {{
            auth = psk
            id = {spec.on_prem_public_ip}
        }}
        remote {{
            auth = psk
            id = {remote}
        }}
        children {{
            azure {{
                local_ts = {", ".join(spec.on_prem_cidrs)}
                remote_ts = {", ".join(spec.azure_cidrs)}
                esp_proposals = {spec.policy.esp_proposal()}
                rekey_time = {spec.child_rekey_seconds}s
                life_time = {child_life}s
                rekey_bytes = {spec.child_rekey_bytes}
                life_bytes = {spec.child_life_bytes}
                dpd_action = restart
                close_action = start
                start_action = start
            }}
        }}
    }}
}}
secrets {{
    ike-{spec.name} {{
        id-azure = {remote}
        id-onprem = {spec.on_prem_public_ip}
        secret = "{secret}"
    }}
}}
"""
