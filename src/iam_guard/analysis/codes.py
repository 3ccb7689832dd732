# ruff: noqa: E501 -- the docstring holds a Markdown table (one row per line) that the README reuses
"""The stable finding codes, each mapped to the requirement it implements: a facade over the detection
units of iam_guard.analysis.detections, where each code is declared once. The table below is generated
from them (`python -m iam_guard.analysis.detections --write`); tests/analysis checks it is current.

<!-- detections table: begin -->
| code | ID | detection | base severity |
| --- | --- | --- | --- |
| IAMG001 | ANA-1 | `*` in Action of an Allow | critical on `*` resource, medium on a named resource |
| IAMG002 | ANA-2 | `*` resource for Write / Permissions-management actions that support resource-level permissions | high (permissions management), medium (write), low when every write only appends logs, reports the SSM agent's state or manages a service's network interfaces (ANA-13) |
| IAMG003 | ANA-3 | service wildcard (`iam:*`, `s3:*`) | high if it holds permissions management on `*`, medium for write, low for read-only; low in a resource policy whose only principal is this account (the default key policy, ANA-13) |
| IAMG004 | ANA-4 | Allow with NotAction | high on `*`, medium on named resources |
| IAMG005 | ANA-5 | Allow with NotResource | high with permissions management, else medium |
| IAMG006 | ANA-6 | privilege escalation (one document, or the documents of one principal combined) | high on `*`, medium on named resources |
| IAMG007 | ANA-7 | iam:PassRole on `*` | high |
| IAMG008 | ANA-8 | sensitive data actions (secrets, parameters, kms:Decrypt, object reads) on `*` | medium |
| IAMG009 | ANA-9 | trust policy open to everyone, to a whole account, or to a federated provider without conditions | critical (`*`), high (account / federation) |
| IAMG010 | ANA-9 | service principal without aws:SourceAccount / aws:SourceArn (confused deputy) | low |
| IAMG011 | ANA-1 | unknown service prefix (a typo grants nothing, or denies nothing): "unknown to this index (built DATE)" | low (Allow), medium (Deny) |
| IAMG012 | ANA-1 | unknown action or a wildcard that matches no action | low (Allow), medium (Deny) |
| IAMG013 | ANA-9 | Allow with NotPrincipal | high |
| IAMG014 | ANA-2 | resource-policy changes on `*` (s3:PutBucketPolicy, kms:PutKeyPolicy, iam:UpdateAssumeRolePolicy...) | high |
| IAMG015 | ANA-8 | actions that return credentials (sts:AssumeRole, iam:CreateServiceSpecificCredential...) on `*` | medium |
| IAMG016 | ANA-1 | malformed policy document or statement | high |
| IAMG017 | ANA-9 | resource policy that admits `*` (public) without a narrowing condition | critical |
| IAMG018 | CLI-1 | iam-guard suppression without a reason (reported by `iam-guard analyze`) | high |
| IAMG019 | H-6 | policy that could not be analyzed within its time budget ("could not be analyzed within N s: ..."; the findings before it are incomplete) | high |
| IAMG020 | H-6 | policy that could not be analyzed because of an internal error of the analyzer (never reported as malformed) | high |

| code | unit | highest severity | looks at | policy types | runs after a `*` action | examples (good / bad) |
| --- | --- | --- | --- | --- | --- | --- |
| IAMG001 | `detections/wildcard_action.py` | critical | grant | identity, resource | yes | 2 / 3 |
| IAMG002 | `detections/star_resource_writes.py` | high | grant | identity | no | 2 / 3 |
| IAMG003 | `detections/service_wildcard.py` | high | grant | identity, resource | no | 2 / 4 |
| IAMG004 | `detections/negations.py` | high | grant | identity, resource | yes | 2 / 2 |
| IAMG005 | `detections/negations.py` | high | grant | identity, resource | yes | 2 / 2 |
| IAMG006 | `detections/escalation.py` | high | policy | identity, principal | no | 3 / 3 |
| IAMG007 | `detections/passrole.py` | high | grant | identity | no | 1 / 3 |
| IAMG008 | `detections/data_access.py` | medium | grant | identity | no | 1 / 2 |
| IAMG009 | `detections/trust.py` | critical | principals | trust | always | 2 / 4 |
| IAMG010 | `detections/admission.py` | low | principals | resource, trust | always | 1 / 2 |
| IAMG011 | `detections/unknown_actions.py` | medium | actions | identity, resource, trust | always | 1 / 2 |
| IAMG012 | `detections/unknown_actions.py` | medium | actions | identity, resource, trust | always | 1 / 2 |
| IAMG013 | `detections/admission.py` | high | principals | resource, trust | always | 1 / 2 |
| IAMG014 | `detections/star_resource_writes.py` | high | grant | identity | no | 2 / 1 |
| IAMG015 | `detections/data_access.py` | medium | grant | identity | no | 1 / 1 |
| IAMG016 | `detections/incomplete.py` | high | engine | identity, principal, resource, trust | always | 2 / 3 |
| IAMG017 | `detections/admission.py` | critical | principals | resource | always | 1 / 2 |
| IAMG018 | `detections/suppression.py` | high | scanner | template | always | 1 / 2 |
| IAMG019 | `detections/incomplete.py` | high | engine | identity, principal, resource, trust | always | 1 / 1 |
| IAMG020 | `detections/incomplete.py` | high | engine | identity, principal, resource, trust | always | 2 / 2 |
<!-- detections table: end -->

ANA-10 is not a code of its own: narrowing conditions lower the severity of the findings above (see
iam_guard.analysis.conditions for the table).
"""

from __future__ import annotations

from dataclasses import dataclass

from iam_guard.analysis.detections import (
    REGISTRY,
    admission,
    data_access,
    escalation,
    incomplete,
    negations,
    passrole,
    service_wildcard,
    star_resource_writes,
    suppression,
    trust,
    unknown_actions,
    wildcard_action,
)


@dataclass(frozen=True)
class CodeInfo:
    """What a code means: the requirement it implements, a title and the default fix hint."""

    requirement: str
    title: str
    remediation: str


WILDCARD_ACTION = wildcard_action.UNIT.code
STAR_RESOURCE_WRITE = star_resource_writes.WRITES.code
SERVICE_WILDCARD = service_wildcard.UNIT.code
ALLOW_NOT_ACTION = negations.NOT_ACTION.code
ALLOW_NOT_RESOURCE = negations.NOT_RESOURCE.code
PRIVILEGE_ESCALATION = escalation.UNIT.code
PASSROLE_STAR = passrole.UNIT.code
SENSITIVE_DATA_STAR = data_access.SENSITIVE_DATA.code
TRUST_TOO_OPEN = trust.UNIT.code
SERVICE_PRINCIPAL_UNSCOPED = admission.SERVICE_PRINCIPAL.code
UNKNOWN_SERVICE = unknown_actions.SERVICES.code
UNKNOWN_ACTION = unknown_actions.ACTIONS_UNIT.code
ALLOW_NOT_PRINCIPAL = admission.NOT_PRINCIPAL.code
RESOURCE_POLICY_CHANGE_STAR = star_resource_writes.RESOURCE_POLICY_CHANGES.code
CREDENTIALS_EXPOSURE = data_access.CREDENTIALS.code
MALFORMED = incomplete.MALFORMED.code
PUBLIC_RESOURCE_POLICY = admission.PUBLIC_RESOURCE_POLICY.code
SUPPRESSION_WITHOUT_REASON = suppression.UNIT.code
ANALYSIS_TIMEOUT = incomplete.TIMEOUT.code
ANALYSIS_ERROR = incomplete.INTERNAL_ERROR.code

CODES: dict[str, CodeInfo] = {
    unit.code: CodeInfo(unit.requirement, unit.title, unit.remediation)
    for unit in sorted(REGISTRY, key=lambda unit: unit.code)
}
