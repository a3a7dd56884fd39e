"""cli/spy_platform"""
