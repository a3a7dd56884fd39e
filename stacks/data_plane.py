"""build_data_plane: the k3s data plane (issue 13) from the stack config, wired to what the
Azure side of the same program declares (images, backend, Log Analytics). One call from
stacks.platform; nothing is declared when `dataPlane.enabled` is false."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from infra.azure_args import AzurePlacement
from infra.backend_app import BackendApp
from infra.images import Images
from infra.k3s import logs as log_shipping
from infra.k3s.data_plane import DataPlane, DataPlaneArgs
from infra.k3s.logs import LogShippingSpec
from infra.k3s.mirror import MirroredImages, MirroredImagesArgs, Upstream
from infra.k3s.monitoring import MonitoringSpec
from infra.k3s.network import NetworkSpec
from infra.k3s.workloads import IB_GATEWAY_IMAGE, IbGatewaySettings, WorkloadSpec
from infra.log_ingestion import LogIngestion, LogIngestionArgs
from infra.observability import Observability
from spy_core import metric_names
from spy_core.default_ports import GATEWAY_PORT
from stacks.data_plane_config import DataPlaneSecrets
from stacks.stack_config import StackConfig


@dataclass(frozen=True)
class AzureSide:
    """What the data plane uses from the Azure control plane."""

    where: AzurePlacement
    tenant_id: pulumi.Input[str]
    subscription_id: pulumi.Input[str]
    observability: Observability
    images: Images
    login_server: pulumi.Input[str]
    backend: BackendApp
    service_token: pulumi.Input[str]


def image(azure: AzureSide, config: StackConfig, target: str) -> pulumi.Input[str]:
    """The image built from `target` of apps/Dockerfile (or, for a target the program does
    not build, the stack's channel tag of it in the registry)."""
    if target in azure.images.refs:
        return azure.images.refs[target]
    return pulumi.Output.concat(azure.login_server, f"/{target}:", config.images.channel)


def build_data_plane(
    config: StackConfig, secrets: DataPlaneSecrets | None, azure: AzureSide
) -> dict[str, pulumi.Output]:
    """The data plane's resources; returns its stack outputs (empty when disabled)."""
    plane = config.data_plane
    if not plane.enabled or secrets is None:
        return {}
    upstreams = (
        *((Upstream("ib-gateway", IB_GATEWAY_IMAGE),) if plane.gateway == "ib" else ()),
        *((Upstream("fluent-bit", log_shipping.IMAGE),) if plane.ships_logs else ()),
    )
    mirrored = MirroredImages(
        "k3s-images",
        MirroredImagesArgs(
            login_server=azure.login_server,
            platform=config.images.platform,
            upstreams=upstreams,
        ),
    ).refs
    logs = None
    if plane.ships_logs:
        ingestion = LogIngestion(
            "k3s-logs",
            LogIngestionArgs(
                where=azure.where,
                workspace_id=azure.observability.workspace.id,
                workspace_name=azure.observability.workspace.name,
                retention_days=config.observability.retention_days,
                publisher_object_id=plane.logs.principal_object_id,
                subscription_id=azure.subscription_id,
            ),
        )
        logs = LogShippingSpec(
            image=mirrored["fluent-bit"],
            tenant_id=azure.tenant_id,
            client_id=plane.logs.client_id,
            client_secret=secrets.logs_client_secret,
            endpoint=ingestion.endpoint,
            rule_immutable_id=ingestion.rule_immutable_id,
            buffer_limit_mb=plane.logs.buffer_limit_mb,
        )
    ib = plane.ib_gateway
    spec = WorkloadSpec(
        gateway=plane.gateway,
        marketdata_image=image(azure, config, "marketdata"),
        trader_image=image(azure, config, "trader"),
        simulator_image=image(azure, config, "gateway-sim"),
        ib_gateway_image=mirrored.get("ib-gateway", ""),
        storage_class=plane.storage_class,
        backend_url=azure.backend.url,
        ib=IbGatewaySettings(
            auto_restart_time=ib.auto_restart_time,
            time_zone=ib.time_zone,
            twofa_timeout_action=ib.twofa_timeout_action,
            java_heap_mb=ib.java_heap_mb,
        ),
        simulator_port=GATEWAY_PORT,
    )
    data_plane = DataPlane(
        "data-plane",
        DataPlaneArgs(
            kubeconfig=secrets.kubeconfig,
            workloads=spec,
            network=NetworkSpec(
                azure_vnet_cidr=config.network.address_space,
                node_cidrs=tuple(config.on_prem.lan_cidrs),
                gateway_port=spec.gateway_port,
                ib_gateway=plane.gateway == "ib",
            ),
            monitoring=MonitoringSpec(
                storage_class=plane.storage_class,
                alert_webhook_url=plane.alert_webhook_url,
                backend_host=pulumi.Output.concat(azure.backend.app.default_host_name, ":443"),
                metrics=metric_names,
            ),
            service_token=azure.service_token,
            ib_user=config.ib_gateway_user if plane.gateway == "ib" else None,
            ib_password=secrets.ib_gateway_password,
            scale_up_minutes_before_open=plane.scale_up_minutes_before_open,
            logs=logs,
        ),
        opts=pulumi.ResourceOptions(depends_on=[azure.images]),
    )
    return {"grafanaAdminPassword": data_plane.grafana_password}
