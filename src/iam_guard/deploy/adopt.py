"""Redeploy after destroy: adopt what the earlier deployment retained.

destroy keeps the data, keys and logs (DeletionPolicy Retain) under their fixed names, so creating the
stack again would fail on "already exists". Before a stack is created, deploy looks for those resources:
- a retained resource with a fixed name (bucket, log group, table) that exists in this account is imported
  under its logical id;
- a retained KMS key has no name: it is found through an adopted resource that names it (a bucket's
  default encryption, a log group's kmsKeyId), so the data stays readable with the key it was written with.

The import is a CloudFormation IMPORT change set whose template holds only the adopted resources (their
properties that refer to anything not adopted are left out, DependsOn likewise); the normal change set
then brings the stack, and the adopted resources' settings, up to the full template. Where import cannot
apply (a bucket name owned by another account, a key pending deletion or disabled, a bucket whose key is
gone), nothing is created and the plan says exactly what to do.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

ClientFactory = Callable[[str, str], Any]
RETAIN_POLICIES = ("Retain", "RetainExceptOnCreate")

# Resource type -> the property that names it, which is also its import identifier.
NAMED_TYPES = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::DynamoDB::Table": "TableName",
}
_SUB_VARIABLE = re.compile(r"\$\{([^}!]+)\}")


@dataclass(frozen=True)
class Adoption:
    """One resource to import: logical id, type and identifier (e.g. {"BucketName": "..."})."""

    logical_id: str
    resource_type: str
    identifier: dict[str, str]

    def as_resource_to_import(self) -> dict[str, Any]:
        return {
            "ResourceType": self.resource_type,
            "LogicalResourceId": self.logical_id,
            "ResourceIdentifier": dict(self.identifier),
        }


@dataclass
class AdoptionPlan:
    """What exists of an earlier deployment: resources to import, notes, and blockers (each a problem
    and the exact steps that resolve it). A plan with blockers must not be applied."""

    adoptions: list[Adoption] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)

    def import_template(self, body: str) -> str:
        """The template of the IMPORT change set: parameters, conditions and mappings as they are, and
        only the adopted resources."""
        template = json.loads(body)
        chosen = {adoption.logical_id for adoption in self.adoptions}
        parameters = set(template.get("Parameters", {}))
        resources = {
            name: _within(spec, chosen, parameters)
            for name, spec in template["Resources"].items()
            if name in chosen
        }
        sections = ("AWSTemplateFormatVersion", "Parameters", "Conditions", "Mappings")
        kept = {key: template[key] for key in sections if template.get(key)}
        return json.dumps({**kept, "Resources": resources}, sort_keys=True)

    def describe(self, stack_name: str | None = None) -> str:
        """What was found and what happens to it; `stack_name` heads the first line when given."""
        head = "an earlier deployment's retained resources exist"
        lines = [f"stack {stack_name}: {head}" if stack_name else head]
        lines += [
            f"  adopt {a.logical_id} ({a.resource_type}): {', '.join(a.identifier.values())}"
            for a in self.adoptions
        ]
        lines += [f"  note: {note}" for note in self.notes]
        if self.blockers:
            lines.append("  they cannot all be adopted, so the stack was not created. What to do:")
            lines += [f"  - {blocker}" for blocker in self.blockers]
        return "\n".join(lines)


@dataclass(frozen=True)
class Place:
    """Where the stack goes: what its names resolve with."""

    account: str
    region: str
    partition: str
    parameters: Mapping[str, str]


def plan_adoption(body: str, place: Place, clients: ClientFactory) -> AdoptionPlan:
    """Look for the template's retained resources in the account; the plan for creating the stack."""
    template = json.loads(body)
    resources: dict[str, Any] = template.get("Resources", {})
    retained = {
        name: spec for name, spec in resources.items() if spec.get("DeletionPolicy") in RETAIN_POLICIES
    }
    plan = AdoptionPlan()
    found: dict[str, str] = {}  # logical id -> physical name of the adopted named resources
    for name, spec in sorted(retained.items()):
        name_property = NAMED_TYPES.get(spec["Type"])
        if name_property is None:
            continue
        physical = resolve(spec.get("Properties", {}).get(name_property), place, template)
        if physical is None:
            plan.notes.append(f"{name}: its name is not fixed in the template, so it is not looked for")
            continue
        state = _state(spec["Type"], physical, place.region, clients)
        if state == "absent":
            continue
        if state == "foreign":
            plan.blockers.append(
                f"{name}: the bucket name {physical} exists in another AWS account (S3 names are global). "
                "Choose another `environment` in the config, or have that account delete the bucket."
            )
            continue
        plan.adoptions.append(Adoption(name, spec["Type"], {name_property: physical}))
        found[name] = physical
    for key_name, spec in sorted(retained.items()):
        if spec["Type"] == "AWS::KMS::Key" and found:
            _adopt_key(key_name, resources, found, place, clients, plan)
    return plan


def _adopt_key(
    key_name: str,
    resources: Mapping[str, Any],
    found: Mapping[str, str],
    place: Place,
    clients: ClientFactory,
    plan: AdoptionPlan,
) -> None:
    """Adopt the key an adopted resource is encrypted with, if its template entry names this key."""
    users = [name for name in sorted(found) if key_name in references(resources[name].get("Properties", {}))]
    key_ids = {  # key ids, whether AWS reports an ARN or an id
        key.rsplit("/", 1)[-1]
        for user in users
        if (key := _key_of(resources[user]["Type"], found[user], place, clients))
    }
    if not users:
        return
    if not key_ids:
        plan.notes.append(
            f"{key_name}: {', '.join(users)} name no KMS key in AWS, so a new key is created for them"
        )
        return
    if len(key_ids) > 1:
        plan.blockers.append(
            f"{key_name}: {', '.join(users)} are encrypted with different keys "
            f"({', '.join(sorted(key_ids))}); point them at one key (aws s3api put-bucket-encryption, "
            "aws logs associate-kms-key), then deploy again."
        )
        return
    (key_id,) = key_ids
    blocker = _key_blocker(key_name, key_id, users, place.region, clients)
    if blocker:
        plan.blockers.append(blocker)
        return
    plan.adoptions.append(Adoption(key_name, "AWS::KMS::Key", {"KeyId": key_id}))


def _key_blocker(
    key_name: str, key_id: str, users: list[str], region: str, clients: ClientFactory
) -> str | None:
    kms = clients("kms", region)
    try:
        metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "NotFoundException":
            raise
        return (
            f"{key_name}: {', '.join(users)} are encrypted with {key_id}, which no longer exists: what they "
            "hold cannot be decrypted. To start over, empty and delete them (for a bucket: "
            "aws s3 rb s3://<bucket> --force), then deploy again."
        )
    state = str(metadata.get("KeyState"))
    key = str(metadata["KeyId"])
    if state == "PendingDeletion":
        return (
            f"{key_name}: key {key} (which encrypts {', '.join(users)}) is scheduled for deletion. Keep it: "
            f"aws kms cancel-key-deletion --key-id {key} --region {region} && "
            f"aws kms enable-key --key-id {key} --region {region}, then deploy again."
        )
    if state == "Disabled":
        return (
            f"{key_name}: key {key} (which encrypts {', '.join(users)}) is disabled. "
            f"aws kms enable-key --key-id {key} --region {region}, then deploy again."
        )
    if state != "Enabled":
        return f"{key_name}: key {key} is {state}; wait until it is Enabled, then deploy again."
    return None


def _state(resource_type: str, physical: str, region: str, clients: ClientFactory) -> str:
    """'present' (in this account), 'absent', or 'foreign' (a bucket name owned by another account)."""
    try:
        if resource_type == "AWS::S3::Bucket":
            clients("s3", region).head_bucket(Bucket=physical)
        elif resource_type == "AWS::Logs::LogGroup":
            groups = clients("logs", region).describe_log_groups(logGroupNamePrefix=physical)["logGroups"]
            return "present" if any(g["logGroupName"] == physical for g in groups) else "absent"
        else:
            clients("dynamodb", region).describe_table(TableName=physical)
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in ("403", "Forbidden", "AccessDenied"):
            return "foreign"
        if code in ("404", "NoSuchBucket", "NotFound", "ResourceNotFoundException"):
            return "absent"
        raise
    return "present"


def _key_of(resource_type: str, physical: str, place: Place, clients: ClientFactory) -> str | None:
    """The KMS key an existing bucket or log group is encrypted with, as AWS reports it."""
    if resource_type == "AWS::S3::Bucket":
        try:
            rules = clients("s3", place.region).get_bucket_encryption(Bucket=physical)[
                "ServerSideEncryptionConfiguration"
            ]["Rules"]
        except ClientError:
            return None
        for rule in rules:
            key = rule.get("ApplyServerSideEncryptionByDefault", {}).get("KMSMasterKeyID")
            if key:
                return str(key)
        return None
    if resource_type == "AWS::Logs::LogGroup":
        groups = clients("logs", place.region).describe_log_groups(logGroupNamePrefix=physical)["logGroups"]
        return next(
            (str(g["kmsKeyId"]) for g in groups if g["logGroupName"] == physical and g.get("kmsKeyId")), None
        )
    return None


def resolve(value: Any, place: Place, template: Mapping[str, Any]) -> str | None:
    """A name as CloudFormation would resolve it: a string, a Ref to a parameter or pseudo parameter, or
    Fn::Sub over those; None for anything that depends on a resource or is not known before deploying."""
    pseudo = {
        "AWS::AccountId": place.account,
        "AWS::Region": place.region,
        "AWS::Partition": place.partition,
        "AWS::URLSuffix": "amazonaws.com.cn" if place.partition == "aws-cn" else "amazonaws.com",
    }
    defaults = {
        name: str(spec["Default"])
        for name, spec in template.get("Parameters", {}).items()
        if "Default" in spec
    }
    known = {**defaults, **place.parameters, **pseudo}
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and set(value) == {"Ref"}:
        return known.get(str(value["Ref"]))
    if isinstance(value, Mapping) and set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        text = value["Fn::Sub"]
        names = _SUB_VARIABLE.findall(text)
        if not all(name in known for name in names):
            return None
        return _SUB_VARIABLE.sub(lambda match: known[match.group(1)], text)
    return None


def references(value: Any) -> set[str]:
    """Logical ids (and parameter names) that Ref, Fn::GetAtt or Fn::Sub inside `value` point at; the
    variables Fn::Sub defines itself in its list form are not references."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                found.add(inner[0] if isinstance(inner, list) else str(inner).split(".")[0])
            elif key == "Fn::Sub":
                text, local = (inner[0], inner[1]) if isinstance(inner, list) else (inner, {})
                found |= {n.split(".")[0] for n in _SUB_VARIABLE.findall(str(text)) if n not in local}
                found |= references(local)
            else:
                found |= references(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= references(inner)
    return {name for name in found if not name.startswith("AWS::")}


def _within(spec: Mapping[str, Any], chosen: set[str], parameters: set[str]) -> dict[str, Any]:
    """A resource entry for the import template: properties that refer to a resource outside `chosen`
    left out (the following update sets them), DependsOn limited to `chosen`."""
    entry = {key: value for key, value in spec.items() if key not in ("Properties", "DependsOn")}
    allowed = chosen | parameters
    properties = {
        key: value for key, value in spec.get("Properties", {}).items() if references(value) <= allowed
    }
    if properties:
        entry["Properties"] = properties
    depends = spec.get("DependsOn", [])
    depends = [depends] if isinstance(depends, str) else depends
    if [name for name in depends if name in chosen]:
        entry["DependsOn"] = [name for name in depends if name in chosen]
    return entry
