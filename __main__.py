"""Pulumi entry point (Pulumi.yaml `main: .`): everything happens in stacks.program."""

from stacks.program import main

main()
