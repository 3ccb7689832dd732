# ruff: noqa: E501 -- the docstring holds a Markdown table (one row per line) that the README reuses
"""ANA-9/ANA-10: which token claims really narrow a trust of a federated (OIDC) identity provider.

A trust of a well-known provider admits every workload the provider issues tokens for unless the claims
below name yours: an audience alone does not (every GitHub repository gets the same `sts.amazonaws.com`
audience). A claim narrows only with a positive operator (StringEquals/Like, not negated, not
ForAllValues) and values whose naming part holds no wildcard. Other providers (and SAML) follow the
ANA-10 table of iam_guard.analysis.conditions (an audience or subject claim, no bare `*`).

| provider (Federated principal) | claims that must all narrow | a value narrows when | why |
| --- | --- | --- | --- |
| GitHub Actions (`token.actions.githubusercontent.com`) | `sub` | it is `repo:OWNER/...` with no wildcard in OWNER | every repository on GitHub can get a token with the default audience |
| GitLab (`gitlab.com`) | `sub` | it is `project_path:GROUP/...` with no wildcard in GROUP | every project on gitlab.com can get a token |
| Terraform Cloud (`app.terraform.io`) | `sub` | it is `organization:ORG:...` with no wildcard in ORG | every organization's runs can get a token |
| Amazon EKS (`oidc.eks.REGION.amazonaws.com/id/ID`) | `sub` | it is `system:serviceaccount:NAMESPACE:...` with no wildcard in NAMESPACE | every pod of the cluster can get a token |
| Amazon Cognito (`cognito-identity.amazonaws.com`) | `aud` and `amr` | `aud` is an identity pool ID without wildcard; `amr` is `authenticated` | any pool's identities, and a pool's unauthenticated guests, can get a token |
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from iam_guard.analysis.conditions import condition_values


def _wild(text: str) -> bool:
    return not text or "*" in text or "?" in text


def _field_after(prefix: str, separator: str) -> Callable[[str], bool]:
    """A value that starts with `prefix` and whose next field (up to `separator`) has no wildcard."""

    def narrows(value: str) -> bool:
        return value.startswith(prefix) and not _wild(value[len(prefix) :].partition(separator)[0])

    return narrows


class Provider(NamedTuple):
    """A well-known OIDC provider: how to recognise it and which claims must narrow its trust."""

    name: str
    recognises: Callable[[str], bool]  # the provider host (after 'oidc-provider/', or the bare name)
    claims: tuple[tuple[str, Callable[[str], bool]], ...]  # claim -> does one value narrow?


PROVIDERS: tuple[Provider, ...] = (
    Provider(
        "GitHub Actions",
        lambda host: host == "token.actions.githubusercontent.com",
        (("sub", _field_after("repo:", "/")),),
    ),
    Provider("GitLab", lambda host: host == "gitlab.com", (("sub", _field_after("project_path:", "/")),)),
    Provider(
        "Terraform Cloud",
        lambda host: host == "app.terraform.io",
        (("sub", _field_after("organization:", ":")),),
    ),
    Provider(
        "Amazon EKS",
        lambda host: host.startswith("oidc.eks.") and ".amazonaws.com/id/" in host,
        (("sub", _field_after("system:serviceaccount:", ":")),),
    ),
    Provider(
        "Amazon Cognito",
        lambda host: host == "cognito-identity.amazonaws.com",
        (("aud", lambda value: not _wild(value)), ("amr", lambda value: value == "authenticated")),
    ),
)


def provider_host(principal: str) -> str:
    """'arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com' -> the host, lower case."""
    return (
        principal.partition("oidc-provider/")[2].lower()
        if "oidc-provider/" in principal
        else principal.lower()
    )


def known_provider(principal: str) -> Provider | None:
    host = provider_host(principal)
    return next((provider for provider in PROVIDERS if provider.recognises(host)), None)


def trust_is_narrowed(
    provider: Provider, principal: str, conditions: dict[str, dict[str, tuple[str, ...]]]
) -> bool:
    """True when the conditions restrict the provider's tokens to the account's own workloads."""
    host = provider_host(principal)
    for claim, narrows in provider.claims:
        values = condition_values(conditions, f"{host}:{claim}")
        if not values or not all(narrows(value.strip()) for value in values):
            return False
    return True
