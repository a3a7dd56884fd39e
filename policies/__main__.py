"""The policy pack's entry point for `pulumi preview --policy-pack policies`.

Constructing the PolicyPack starts pulumi-policy's analyzer server and never returns, so
nothing imports this module: the rules live in `policies.rules`, their pulumi-policy form in
`policies.pack`, and `spy-platform policy` runs the same list offline.
"""

from pulumi_policy import PolicyPack

from policies.pack import PACK_NAME, policies

PolicyPack(PACK_NAME, policies())
