"""MON-13 / MON-11: the daily audit checks the trail its events depend on.

EventBridge sees IAM calls only while a trail logs them, so a stopped trail, a single-region trail or event
selectors that leave out management events blind the policy-change analyzer without any error. Once per run,
with its summary, the audit asks CloudTrail (GetTrail, GetTrailStatus, GetEventSelectors on TRAIL_ARN) and
reports what it finds: each problem is a line of the summary alert, raises the alert to HIGH, and is in the
"audit complete" log line. A trail that cannot be checked (access denied, not found) is itself a problem.
A function without TRAIL_ARN (a stack from before MON-13) checks nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from lambda_support import Deadline, call_within


@dataclass(frozen=True)
class TrailHealth:
    """What the audit found about the trail: facts, and the problems among them (none: healthy)."""

    trail_arn: str
    problems: tuple[str, ...] = ()
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        return not self.problems

    def summary_lines(self) -> list[str]:
        """The alert's lines about the trail."""
        if self.healthy:
            return [
                f"Trail {self.trail_arn}: logging, multi-region, management events recorded.",
            ]
        lines = [f"WARNING: the trail {self.trail_arn} does not let iam-guard see every IAM change:"]
        lines.extend(f"   - {problem}" for problem in self.problems)
        return lines

    def to_record(self) -> dict[str, Any]:
        return {
            "trailArn": self.trail_arn,
            "healthy": self.healthy,
            "problems": list(self.problems),
            **self.facts,
        }


def records_management_events(selectors: dict[str, Any]) -> bool:
    """True when the trail's event selectors (basic or advanced) include write management events."""
    for selector in selectors.get("EventSelectors") or []:
        if selector.get("IncludeManagementEvents", True) and selector.get("ReadWriteType", "All") in (
            "All",
            "WriteOnly",
        ):
            return True
    for selector in selectors.get("AdvancedEventSelectors") or []:
        fields = {item.get("Field"): item for item in selector.get("FieldSelectors") or []}
        category = fields.get("eventCategory", {}).get("Equals") or []
        read_only = fields.get("readOnly", {}).get("Equals") or []
        if "Management" in category and "true" not in read_only:
            return True
    return False


def check_trail(cloudtrail: Any, trail_arn: str, deadline: Deadline) -> TrailHealth:
    """The trail's health; never raises for what CloudTrail answers (a refusal is itself a problem)."""
    try:
        trail = call_within(deadline, cloudtrail.get_trail, Name=trail_arn).get("Trail", {})
        status = call_within(deadline, cloudtrail.get_trail_status, Name=trail_arn)
        selectors = call_within(deadline, cloudtrail.get_event_selectors, TrailName=trail_arn)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "error")
        return TrailHealth(trail_arn, (f"the trail could not be checked: {code}",))
    facts = {
        "isLogging": bool(status.get("IsLogging")),
        "multiRegion": bool(trail.get("IsMultiRegionTrail")),
        "managementEvents": records_management_events(selectors),
    }
    problems = []
    if not facts["isLogging"]:
        problems.append("it is not logging (StopLogging): no IAM change reaches EventBridge")
    if not facts["multiRegion"]:
        problems.append("it is not multi-region: IAM's events (us-east-1) may not be recorded")
    if not facts["managementEvents"]:
        problems.append("its event selectors leave out write management events, where IAM changes are")
    return TrailHealth(trail_arn, tuple(problems), facts)
