"""Composition: the validated stack config and the whole platform built from it."""
