"""core/spy_core"""
