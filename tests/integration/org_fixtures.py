"""ORG-2 test and benchmark support: an organization of member accounts in the moto server, each with IAM
content created through an assumed session of that account (moto keeps one backend per account ID, and
STS AssumeRole into arn:aws:iam::<account>:role/... switches to it), the org-security stack's runtime
resources for the fan-out audit (state table, queues, results bucket, alert topic with an SQS subscriber),
and a driver that delivers queue messages to a handler as the SQS event source mapping does.

moto's STS lets anyone assume any role ARN, even one that does not exist. MemberRoleProxy (a FaultProxy,
tests/fault_injection.py) answers AssumeRole as IAM does for a role that is not there: 403 AccessDenied;
it also pages GetAccountAuthorizationDetails like IAM (PagingProxy), which moto answers in one page.
"""

from __future__ import annotations

import json
import sys
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from fault_injection import _error_response, call_identity

HANDLER_TESTS = Path(__file__).resolve().parents[1] / "handlers"
if str(HANDLER_TESTS) not in sys.path:
    sys.path.insert(0, str(HANDLER_TESTS))

from audit_helpers import PagingProxy  # noqa: E402
from handler_helpers import HANDLERS_DIR  # noqa: E402

if str(HANDLERS_DIR) not in sys.path:
    sys.path.insert(0, str(HANDLERS_DIR))

REGION = "us-east-1"
MEMBER_AUDIT_ROLE = "IamGuardOrgMemberAudit-dev-us-east-1"
ACCESS_ROLE = "OrganizationAccountAccessRole"
STATE_TABLE = "iam-guard-org-audit-state-dev-us-east-1"
RESULTS_BUCKET = "iam-guard-org-results-123456789012-dev-us-east-1"
ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
READ_ONLY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"}],
}


AUDIT_READS = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["iam:GetAccountAuthorizationDetails", "iam:GetPolicy", "iam:GetPolicyVersion"],
            "Resource": "*",
        }
    ],
}


def trust_of(*principals: str, service: str | None = None) -> dict[str, Any]:
    principal: dict[str, Any] = {"AWS": list(principals)} if principals else {"Service": service}
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}],
    }


class MemberRoleProxy(PagingProxy):
    """PagingProxy that answers AssumeRole with AccessDenied unless the role ARN was created (`roles`)."""

    def __init__(self, upstream: str, page_size: int = 100) -> None:
        super().__init__(upstream, page_size)
        self.roles: set[str] = set()
        self.denied: list[str] = []

    def _forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        lowered = {key.lower(): value for key, value in headers.items()}
        service, operation = call_identity(lowered, body)
        if (service, operation) == ("sts", "AssumeRole"):
            role_arn = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("RoleArn", [""])[0]
            if role_arn not in self.roles:
                self.denied.append(role_arn)
                status, content_type, payload = _error_response(service, "access_denied", lowered)
                return status, [("Content-Type", content_type)], payload
        return super()._forward(method, path, headers, body)


def client(service: str, endpoint: str, credentials: dict[str, str] | None = None) -> Any:
    extra = {}
    if credentials is not None:
        extra = {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        }
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION, **extra)


def member_iam(endpoint: str, account: str, role: str = ACCESS_ROLE) -> Any:
    """An IAM client of `account` (moto's backend of that account), through an assumed role."""
    credentials = client("sts", endpoint).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{role}", RoleSessionName="org-fixture"
    )["Credentials"]
    return client("iam", endpoint, credentials)


@dataclass
class Organization:
    """The organization in moto: its ID, the management account and the member accounts."""

    organization_id: str
    management: str
    members: list[str] = field(default_factory=list)


def create_organization(endpoint: str, members: int) -> Organization:
    organizations = client("organizations", endpoint)
    organization = organizations.create_organization(FeatureSet="ALL")["Organization"]
    created = Organization(organization["Id"], organization["MasterAccountId"])
    for number in range(members):
        status = organizations.create_account(
            AccountName=f"member-{number:03d}", Email=f"m{number}@example.com"
        )
        created.members.append(status["CreateAccountStatus"]["AccountId"])
    return created


def give_audit_role(endpoint: str, proxy: MemberRoleProxy, account: str, security_account: str) -> None:
    """The member audit role (what the org-member StackSet creates), trusted by the security account."""
    iam = member_iam(endpoint, account)
    iam.create_role(
        RoleName=MEMBER_AUDIT_ROLE,
        AssumeRolePolicyDocument=json.dumps(trust_of(f"arn:aws:iam::{security_account}:root")),
    )
    # moto loads no AWS managed policy (SecurityAudit): the role's read-only grant, inline.
    iam.put_role_policy(
        RoleName=MEMBER_AUDIT_ROLE,
        PolicyName="ReadOnlyIamAudit",
        PolicyDocument=json.dumps(AUDIT_READS),
    )
    proxy.roles.add(f"arn:aws:iam::{account}:role/{MEMBER_AUDIT_ROLE}")


def give_iam_content(endpoint: str, account: str, roles: int = 3, users: int = 2) -> None:
    """Ordinary IAM content: read-only roles and users, one customer-managed policy, one group."""
    iam = member_iam(endpoint, account)
    policy_arn = iam.create_policy(PolicyName="ReadReports", PolicyDocument=json.dumps(READ_ONLY))["Policy"][
        "Arn"
    ]
    iam.create_group(GroupName="readers")
    iam.attach_group_policy(GroupName="readers", PolicyArn=policy_arn)
    for number in range(roles):
        name = f"app-{number:04d}"
        iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=json.dumps(trust_of(service="lambda.amazonaws.com"))
        )
        iam.put_role_policy(RoleName=name, PolicyName="read", PolicyDocument=json.dumps(READ_ONLY))
    for number in range(users):
        name = f"user-{number:03d}"
        iam.create_user(UserName=name)
        iam.add_user_to_group(GroupName="readers", UserName=name)


def plant_cross_account_path(endpoint: str, a: str, b: str, c: str) -> dict[str, str]:
    """user/dev in A may assume role/Bridge in B (whose trust admits A); Bridge may assume role/OrgAdmin in
    C (whose trust admits B); OrgAdmin is administrator. Returns the three principal ARNs."""
    bridge = f"arn:aws:iam::{b}:role/Bridge"
    admin = f"arn:aws:iam::{c}:role/OrgAdmin"
    assume = lambda target: {  # noqa: E731
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": target}],
    }
    iam_a = member_iam(endpoint, a)
    iam_a.create_user(UserName="dev")
    iam_a.put_user_policy(
        UserName="dev", PolicyName="assume-bridge", PolicyDocument=json.dumps(assume(bridge))
    )
    iam_b = member_iam(endpoint, b)
    iam_b.create_role(
        RoleName="Bridge", AssumeRolePolicyDocument=json.dumps(trust_of(f"arn:aws:iam::{a}:root"))
    )
    iam_b.put_role_policy(
        RoleName="Bridge", PolicyName="assume-admin", PolicyDocument=json.dumps(assume(admin))
    )
    iam_c = member_iam(endpoint, c)
    iam_c.create_role(
        RoleName="OrgAdmin", AssumeRolePolicyDocument=json.dumps(trust_of(f"arn:aws:iam::{b}:root"))
    )
    iam_c.put_role_policy(RoleName="OrgAdmin", PolicyName="admin", PolicyDocument=json.dumps(ADMIN))
    return {"user": f"arn:aws:iam::{a}:user/dev", "bridge": bridge, "admin": admin}


@dataclass
class Runtime:
    """The org-security stack's runtime resources of the fan-out audit, in moto."""

    audit_queue_url: str
    consolidation_queue_url: str
    topic_arn: str
    alerts_queue_url: str
    environment: dict[str, str]


def create_runtime(endpoint: str, organization_id: str) -> Runtime:
    dynamodb = client("dynamodb", endpoint)
    dynamodb.create_table(
        TableName=STATE_TABLE,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )
    sqs = client("sqs", endpoint)
    audit_queue = sqs.create_queue(QueueName="iam-guard-org-audit-dev-us-east-1")["QueueUrl"]
    consolidation_queue = sqs.create_queue(QueueName="iam-guard-org-audit-consolidation-dev-us-east-1")[
        "QueueUrl"
    ]
    alerts_queue = sqs.create_queue(QueueName="org-alerts-reader")["QueueUrl"]
    sns = client("sns", endpoint)
    topic_arn = sns.create_topic(Name="iam-guard-org-alerts-dev-us-east-1")["TopicArn"]
    alerts_arn = sqs.get_queue_attributes(QueueUrl=alerts_queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic_arn, Protocol="sqs", Endpoint=alerts_arn, Attributes={"RawMessageDelivery": "true"}
    )
    client("s3", endpoint).create_bucket(Bucket=RESULTS_BUCKET)
    environment = {
        "STATE_TABLE_NAME": STATE_TABLE,
        "ORG_AUDIT_QUEUE_URL": audit_queue,
        "ORG_CONSOLIDATION_QUEUE_URL": consolidation_queue,
        "RESULTS_BUCKET": RESULTS_BUCKET,
        "MEMBER_AUDIT_ROLE": MEMBER_AUDIT_ROLE,
        "ORGANIZATION_ID": organization_id,
        "ORG_AUDIT_DEADLINE_MINUTES": "180",
        "ALERT_TOPIC_ARN": topic_arn,
        "ENVIRONMENT": "dev",
    }
    return Runtime(audit_queue, consolidation_queue, topic_arn, alerts_queue, environment)


def sqs_event(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """One received message as the SQS event source mapping hands it to Lambda (batch size 1)."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": dict(message.get("Attributes", {})),
                "messageAttributes": {},
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
        ]
    }


def receive(sqs: Any, queue_url: str, limit: int = 10) -> list[dict[str, Any]]:
    return list(
        sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=limit, AttributeNames=["All"], WaitTimeSeconds=0
        ).get("Messages", [])
    )


def drain(
    sqs: Any,
    queue_url: str,
    deliver: Callable[[dict[str, Any]], Any],
    *,
    max_deliveries: int = 10_000,
) -> tuple[int, int]:
    """Deliver every message of the queue (and the ones handling them adds) as the mapping does: success
    deletes the message; a failure leaves it, visible again at once (the visibility timeout, fast-
    forwarded). Returns (deliveries, failures)."""
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    deliveries = failures = 0
    while deliveries < max_deliveries:
        batch = receive(sqs, queue_url)
        if not batch:
            return deliveries, failures
        for message in batch:
            deliveries += 1
            try:
                deliver(sqs_event(message, queue_arn))
            except Exception:
                failures += 1
                sqs.change_message_visibility(
                    QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
                continue
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    raise AssertionError(f"{queue_url}: still messages after {max_deliveries} deliveries")
