"""Trader: detector findings → signals → risk → orders through IB, reported to the backend."""
