"""Market-data service: IBKR adapter, chain snapshots, detector runtime, record/replay."""
