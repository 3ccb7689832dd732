# ruff: noqa: E501 -- the docstring holds a Markdown table (one row per line) that the README reuses
"""The stable finding codes, each mapped to the requirement it implements.

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
| IAMG011 | ANA-1..5 | unknown service prefix (a typo grants nothing, or denies nothing) | low (Allow), medium (Deny) |
| IAMG012 | ANA-1..5 | unknown action or a wildcard that matches no action | low (Allow), medium (Deny) |
| IAMG013 | ANA-9 | Allow with NotPrincipal | high |
| IAMG014 | ANA-2 | resource-policy changes on `*` (s3:PutBucketPolicy, kms:PutKeyPolicy, iam:UpdateAssumeRolePolicy...) | high |
| IAMG015 | ANA-8 | actions that return credentials (sts:AssumeRole, iam:CreateServiceSpecificCredential...) on `*` | medium |
| IAMG016 | ANA-* | malformed policy document or statement | high |
| IAMG017 | ANA-9 | resource policy that admits `*` (public) without a narrowing condition | critical |
| IAMG018 | CLI-1 | iam-guard suppression without a reason (reported by `iam-guard analyze`) | high |
| IAMG019 | H-6 | policy that could not be analyzed within its time budget ("could not be analyzed within N s: ..."; the findings before it are incomplete) | high |
| IAMG020 | H-6 | policy that could not be analyzed because of an internal error of the analyzer (never reported as malformed) | high |

ANA-10 is not a code of its own: narrowing conditions lower the severity of the findings above (see
iam_guard.analysis.conditions for the table).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CodeInfo:
    """What a code means: the requirement it implements, a title and the default fix hint."""

    requirement: str
    title: str
    remediation: str


WILDCARD_ACTION = "IAMG001"
STAR_RESOURCE_WRITE = "IAMG002"
SERVICE_WILDCARD = "IAMG003"
ALLOW_NOT_ACTION = "IAMG004"
ALLOW_NOT_RESOURCE = "IAMG005"
PRIVILEGE_ESCALATION = "IAMG006"
PASSROLE_STAR = "IAMG007"
SENSITIVE_DATA_STAR = "IAMG008"
TRUST_TOO_OPEN = "IAMG009"
SERVICE_PRINCIPAL_UNSCOPED = "IAMG010"
UNKNOWN_SERVICE = "IAMG011"
UNKNOWN_ACTION = "IAMG012"
ALLOW_NOT_PRINCIPAL = "IAMG013"
RESOURCE_POLICY_CHANGE_STAR = "IAMG014"
CREDENTIALS_EXPOSURE = "IAMG015"
MALFORMED = "IAMG016"
PUBLIC_RESOURCE_POLICY = "IAMG017"
SUPPRESSION_WITHOUT_REASON = "IAMG018"
ANALYSIS_TIMEOUT = "IAMG019"
ANALYSIS_ERROR = "IAMG020"

CODES: dict[str, CodeInfo] = {
    WILDCARD_ACTION: CodeInfo(
        "ANA-1", "Wildcard action", "Name the actions the workload calls instead of '*'."
    ),
    STAR_RESOURCE_WRITE: CodeInfo(
        "ANA-2",
        "Write or permissions-management action on every resource",
        "Name the resource ARNs (or ARN patterns) the actions need instead of '*'.",
    ),
    SERVICE_WILDCARD: CodeInfo(
        "ANA-3",
        "Service-wide wildcard",
        "List the service's actions the workload needs instead of 'service:*'.",
    ),
    ALLOW_NOT_ACTION: CodeInfo(
        "ANA-4",
        "Allow with NotAction",
        "Use Action with an explicit list; NotAction in an Allow grants every other action.",
    ),
    ALLOW_NOT_RESOURCE: CodeInfo(
        "ANA-5",
        "Allow with NotResource",
        "Use Resource with explicit ARNs; NotResource in an Allow grants everything else.",
    ),
    PRIVILEGE_ESCALATION: CodeInfo(
        "ANA-6",
        "Privilege escalation",
        "Remove one action of the chain or scope it to named resources with a narrowing condition.",
    ),
    PASSROLE_STAR: CodeInfo(
        "ANA-7",
        "iam:PassRole on every role",
        "Scope iam:PassRole to the role ARNs and add an iam:PassedToService condition.",
    ),
    SENSITIVE_DATA_STAR: CodeInfo(
        "ANA-8",
        "Sensitive data readable on every resource",
        "Name the secrets, parameters, keys or bucket prefixes, or add kms:ViaService / aws:SourceVpce conditions.",
    ),
    TRUST_TOO_OPEN: CodeInfo(
        "ANA-9",
        "Trust policy open too wide",
        "Trust named role ARNs and require sts:ExternalId or aws:PrincipalOrgID.",
    ),
    SERVICE_PRINCIPAL_UNSCOPED: CodeInfo(
        "ANA-9",
        "Service principal without source conditions",
        "Add aws:SourceAccount and aws:SourceArn conditions (confused-deputy protection).",
    ),
    UNKNOWN_SERVICE: CodeInfo(
        "ANA-1",
        "Unknown service prefix",
        "Fix the service prefix; an unknown prefix grants or denies nothing.",
    ),
    UNKNOWN_ACTION: CodeInfo(
        "ANA-1", "Unknown action", "Fix the action name; an unknown action grants or denies nothing."
    ),
    ALLOW_NOT_PRINCIPAL: CodeInfo(
        "ANA-9",
        "Allow with NotPrincipal",
        "Use Principal with the named principals; Allow+NotPrincipal admits everyone else.",
    ),
    RESOURCE_POLICY_CHANGE_STAR: CodeInfo(
        "ANA-2",
        "Resource-policy changes on every resource",
        "Scope resource-policy changes to named resources; they can expose data to other accounts or the public.",
    ),
    CREDENTIALS_EXPOSURE: CodeInfo(
        "ANA-8",
        "Credentials exposure",
        "Scope the credential-returning actions to named resources or remove them.",
    ),
    MALFORMED: CodeInfo("ANA-1", "Malformed policy", "Fix the policy document so that IAM accepts it."),
    PUBLIC_RESOURCE_POLICY: CodeInfo(
        "ANA-9",
        "Resource policy open to everyone",
        "Name the principals, or add aws:PrincipalOrgID / aws:SourceAccount / aws:SourceVpce conditions.",
    ),
    SUPPRESSION_WITHOUT_REASON: CodeInfo(
        "CLI-1",
        "Suppression without a reason",
        "Give every suppression a reason that says why the finding is safe.",
    ),
    ANALYSIS_TIMEOUT: CodeInfo(
        "H-6",
        "Policy not analyzed within the time budget",
        "Review the policy by hand: no finding can be trusted as complete. Look for wildcards built to slow analysis.",
    ),
    ANALYSIS_ERROR: CodeInfo(
        "H-6",
        "Policy not analyzed: internal error",
        "Review the policy by hand and report the error to the iam-guard maintainers.",
    ),
}
