"""The IAM policy analyzer (pure Python, standard library only; the action index loads on first use).

    from iam_guard.analysis import analyze_policy, analyze_principal, Finding, Severity

analyze_policy(document, policy_type) checks one identity, resource or trust policy; analyze_principal
(documents) finds privilege escalation that only appears when the identity policies of one principal are
combined. Neither raises: a malformed document is a finding. Codes: iam_guard.analysis.codes.
"""

from __future__ import annotations

from iam_guard.analysis.engine import analyze_policy, analyze_principal
from iam_guard.analysis.model import Finding, Severity

POLICY_TYPES = ("identity", "resource", "trust")

__all__ = ["POLICY_TYPES", "Finding", "Severity", "analyze_policy", "analyze_principal"]
