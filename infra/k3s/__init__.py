"""The on-prem k3s data plane: workloads, monitoring and log shipping (issue 13).

Manifests are built as plain Kubernetes dicts (camelCase, as the API server reads them) by pure
functions, so the tests can validate exactly what the components hand to pulumi-kubernetes.
"""
