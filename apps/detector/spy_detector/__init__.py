"""Mispricing detector: smile fair values, static arbitrage, gamma exposure, premium flow."""

from .config import DetectorConfig, SmileSettings, StreamSettings
from .detector import ChainAnalysis, ExpiryReport, detect
from .stream import StreamingDetector, StreamUpdate

__all__ = [
    "ChainAnalysis",
    "DetectorConfig",
    "ExpiryReport",
    "SmileSettings",
    "StreamSettings",
    "StreamUpdate",
    "StreamingDetector",
    "detect",
]
