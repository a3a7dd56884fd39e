"""Mispricing detector: smile fair values, static arbitrage, gamma exposure, premium flow."""

from .config import DetectorConfig, SmileSettings
from .detector import ChainAnalysis, ExpiryReport, detect

__all__ = ["ChainAnalysis", "DetectorConfig", "ExpiryReport", "SmileSettings", "detect"]
