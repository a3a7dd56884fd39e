"""detector/spy_detector"""
