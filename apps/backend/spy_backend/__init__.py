"""Backend API of the SPY options platform."""
