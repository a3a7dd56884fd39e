"""Typed Pulumi components of the platform's Azure control plane, VPN and images."""
