"""The IPsec/IKE parameters of the site-to-site tunnel: one model, two renderings.

The Azure connection (`infra.vpn.azure_ipsec_policy`, with the SDK's enums, whose values the
Literals below are) and the on-prem strongSwan `swanctl.conf` (through the name tables below)
are both produced from one `IpsecPolicy`, so the two ends cannot drift.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

IkeEncryption = Literal["AES128", "AES256", "GCMAES128", "GCMAES256"]
IkeIntegrity = Literal["SHA1", "SHA256", "SHA384"]
DhGroup = Literal["DHGroup2", "DHGroup14", "DHGroup24", "ECP256", "ECP384"]
IpsecEncryption = Literal["AES128", "AES256", "GCMAES128", "GCMAES256"]
IpsecIntegrity = Literal["SHA1", "SHA256", "GCMAES128", "GCMAES256"]
PfsGroup = Literal["None", "PFS2", "PFS2048", "PFS24", "ECP256", "ECP384"]

# Azure enum value -> strongSwan algorithm keyword (strongSwan docs: IKEv2 cipher suites).
STRONGSWAN_ENCRYPTION = {
    "AES128": "aes128",
    "AES256": "aes256",
    "GCMAES128": "aes128gcm16",
    "GCMAES256": "aes256gcm16",
}
STRONGSWAN_INTEGRITY = {"SHA1": "sha1", "SHA256": "sha256", "SHA384": "sha384"}
STRONGSWAN_DH = {
    "DHGroup2": "modp1024",
    "DHGroup14": "modp2048",
    "DHGroup24": "modp2048s256",
    "ECP256": "ecp256",
    "ECP384": "ecp384",
    "PFS2": "modp1024",
    "PFS2048": "modp2048",
    "PFS24": "modp2048s256",
}

AZURE_IKE_SA_LIFETIME_SECONDS = 28_800
"""Azure fixes the IKE (main mode) SA lifetime; only the IPsec SA lifetime is configurable."""

AZURE_DEFAULT_IKE = {
    ("AES256", "SHA1", "DHGroup2"),
    ("AES256", "SHA256", "DHGroup2"),
    ("AES128", "SHA1", "DHGroup2"),
    ("AES128", "SHA256", "DHGroup2"),
}
AZURE_DEFAULT_ESP = {
    ("GCMAES256", "GCMAES256"),
    ("AES256", "SHA1"),
    ("AES256", "SHA256"),
    ("AES128", "SHA1"),
}
AZURE_DEFAULT_SA_LIFETIME_SECONDS = 27_000
AZURE_DEFAULT_SA_DATA_KB = 102_400_000
"""Azure's default proposals for route-based IKEv2 ("About VPN devices and IPsec/IKE parameters
for S2S connections", Microsoft Learn): what a Basic gateway, which takes no custom policy,
negotiates. A Basic stack must pick its strongSwan proposal from these."""


class IpsecPolicy(BaseModel):
    """One IKE + one ESP proposal, lifetimes in seconds and kilobytes (Azure's units)."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )

    ike_encryption: IkeEncryption
    ike_integrity: IkeIntegrity
    dh_group: DhGroup
    ipsec_encryption: IpsecEncryption
    ipsec_integrity: IpsecIntegrity
    pfs_group: PfsGroup
    sa_lifetime_seconds: Annotated[int, Field(ge=300, le=172_799)]
    sa_data_size_kilobytes: Annotated[int, Field(ge=1024, le=2_147_483_647)]

    @model_validator(mode="after")
    def _gcm_pairs(self) -> IpsecPolicy:
        gcm = self.ipsec_encryption.startswith("GCM") or self.ipsec_integrity.startswith("GCM")
        if gcm and self.ipsec_encryption != self.ipsec_integrity:
            raise ValueError(
                "a GCM ipsecEncryption needs the same GCM ipsecIntegrity (and vice versa): "
                f"got {self.ipsec_encryption}/{self.ipsec_integrity}"
            )
        if self.sa_lifetime_seconds >= AZURE_IKE_SA_LIFETIME_SECONDS:
            raise ValueError(
                f"saLifetimeSeconds {self.sa_lifetime_seconds} must be below the IKE SA "
                f"lifetime {AZURE_IKE_SA_LIFETIME_SECONDS}"
            )
        return self

    def is_azure_default(self) -> bool:
        """True when a gateway without custom-policy support negotiates this proposal."""
        return (
            (self.ike_encryption, self.ike_integrity, self.dh_group) in AZURE_DEFAULT_IKE
            and (self.ipsec_encryption, self.ipsec_integrity) in AZURE_DEFAULT_ESP
            and self.pfs_group == "None"
            and self.sa_lifetime_seconds == AZURE_DEFAULT_SA_LIFETIME_SECONDS
            and self.sa_data_size_kilobytes == AZURE_DEFAULT_SA_DATA_KB
        )

    def ike_proposal(self) -> str:
        """strongSwan `proposals`: AEAD ciphers carry the hash as a PRF, not an integrity."""
        enc = STRONGSWAN_ENCRYPTION[self.ike_encryption]
        hash_ = STRONGSWAN_INTEGRITY[self.ike_integrity]
        middle = f"prf{hash_}" if self.ike_encryption.startswith("GCM") else hash_
        return f"{enc}-{middle}-{STRONGSWAN_DH[self.dh_group]}"

    def esp_proposal(self) -> str:
        """strongSwan `esp_proposals`; the PFS group is appended only when Azure uses one."""
        parts = [STRONGSWAN_ENCRYPTION[self.ipsec_encryption]]
        if not self.ipsec_integrity.startswith("GCM"):
            parts.append(STRONGSWAN_INTEGRITY[self.ipsec_integrity])
        if self.pfs_group != "None":
            parts.append(STRONGSWAN_DH[self.pfs_group])
        return "-".join(parts)
