"""Realtime fan-out: the local SignalR-compatible hub, the Azure SignalR publisher, and the
broadcaster that feeds either within a message budget."""
