"""The one place that knows what moto (the local AWS emulator of the integration tests and of `make
sandbox`) skips or breaks, and the only place that works around it. The product's templates are never
changed for moto: a gap is either bridged here on the emulator side (implementing a missing API call in
the in-process server) or on a copy of the rendered template body handed to the real deploy code, and
every property moto skips stays covered by the unit tests over the generated JSON (tests/test_data_store.py,
tests/test_templates.py). Imports moto lazily: only the sandbox and the tests call it.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

# Every moto gap the integration tests meet: what moto skips or breaks, and what this adapter does.
MOTO_GAPS: dict[str, str] = {
    "kms-key-tags": (
        "AWS::KMS::Key with Tags: moto passes CloudFormation's {Key, Value} tags to a KMS API that wants "
        "{TagKey, TagValue}; the key is silently not created and every GetAtt on it fails. The adapter "
        "drops Tags from KMS keys in the body it deploys (the tags are unit-tested)."
    ),
    "kms-key-policy": (
        "A KMS key created by CloudFormation keeps its KeyPolicy as a dict, and KMS calls that check it "
        "(DescribeKey) fail with HTTP 500; the adapter stores it as JSON text after each "
        "ExecuteChangeSet."
    ),
    "termination-protection": (
        "UpdateTerminationProtection is not implemented (HTTP 500) and DeleteStack ignores protection; "
        "the adapter implements the call on the in-process server and makes DeleteStack refuse a "
        "protected stack, as CloudFormation does."
    ),
    "change-set-outputs": (
        "A stack created or updated through a change set never gets its Outputs or Exports (moto builds "
        "them from the template the stack had before), and DeleteStack then fails with HTTP 500 on the "
        "missing export; the adapter rebuilds outputs and registers exports after ExecuteChangeSet. "
        "DescribeStacks on a deleted stack re-creates resources to resolve its outputs (HTTP 500 on named "
        "ones); the adapter empties a deleted stack's outputs."
    ),
    "depends-on": (
        "moto's CloudFormation ignores DependsOn and creates resources in template order, following only "
        "Ref/GetAtt: a bucket that must wait for its log bucket's policy, or a trail for its bucket's "
        "policy, can come first. The adapter orders the Resources of the body it deploys so that every "
        "DependsOn target comes first (order carries no meaning in CloudFormation)."
    ),
    "resource-events": (
        "moto records only the stack's own events (User Initiated, *_COMPLETE), none per resource, and its "
        "change sets execute synchronously, so a deploy's events all exist by the first poll. The adapter "
        "records each resource's *_IN_PROGRESS/*_COMPLETE events (DELETE_SKIPPED for a retained one) "
        "before the stack's closing event, as CloudFormation would; moto-skipped types get none. That "
        "events stream across polls, each once, is unit-tested on CloudFormation's event shape."
    ),
    "resource-import": (
        "moto treats ChangeSetType=IMPORT like CREATE: it ignores ResourcesToImport and would create the "
        "resources again (an existing bucket name fails). The adapter implements the import on the "
        "in-process server: an IMPORT change set binds each listed logical id to the existing bucket, log "
        "group, DynamoDB table or KMS key (found by its identifier; a missing one fails as CloudFormation "
        "fails) and records IMPORT_* events; the stack ends IMPORT_COMPLETE, and updates from there as usual."
    ),
    "kms-key-update": (
        "moto's CloudFormation cannot update an AWS::KMS::Key in place (no update handler: the key drops "
        "out of the stack); the adapter updates description, policy and rotation on the same key."
    ),
    "iam-managed-policy-delete": (
        "moto's DeleteStack leaves an AWS::IAM::ManagedPolicy in place (no delete handler), so a redeploy "
        "after destroy fails on the policy's fixed name; the adapter deletes it with its stack, as "
        "CloudFormation does."
    ),
    "change-set-diff": (
        "DescribeChangeSet compares template text only: a parameter-only update lists no resource change, "
        "and no change carries Replacement (the review table's Replacement column is unit-tested)."
    ),
    "review-in-progress": (
        "A CREATE change set whose execution raised leaves the stack in REVIEW_IN_PROGRESS "
        "(CloudFormation would roll back to ROLLBACK_COMPLETE)."
    ),
    "resource-failure-events": (
        "moto records no per-resource *_FAILED events and raises a resource's error synchronously from "
        "ExecuteChangeSet; the failure block then carries that error as its reason (the event table is "
        "unit-tested with CloudFormation's own event shape)."
    ),
    "bucket-policy-conditions": (
        "moto's S3 authorization turns every bucket-policy statement whose Condition does not match into "
        "DENIED, whatever its Effect (IAMPolicyStatement._check_conditions), and it has no request "
        "context: the artifact bucket's TLS-only Deny would refuse every object request over the "
        "emulator's plain HTTP. The adapter makes moto evaluate only unconditional statements."
    ),
    "unsupported-resource-types": (
        "moto's CloudFormation skips (with a warning) AWS::S3::BucketPolicy, AWS::SNS::TopicPolicy, "
        "AWS::SNS::Subscription, AWS::SQS::QueuePolicy, AWS::CloudWatch::Alarm, "
        "AWS::Lambda::EventInvokeConfig, AWS::CloudTrail::Trail and AWS::Scheduler::Schedule (the MON-13 "
        "canary; unsupported_resources() lists them "
        "per template); an output that refers to one (TrailArn) breaks DescribeStacks with HTTP 500, so "
        "the adapter drops such outputs from the body it deploys. Their properties are proven by the unit "
        "tests over the JSON."
    ),
    "bucket-settings": (
        "moto's CloudFormation S3 bucket ignores LifecycleConfiguration, VersioningConfiguration, "
        "LoggingConfiguration, PublicAccessBlockConfiguration and OwnershipControls, and drops "
        "BucketKeyEnabled from the default encryption."
    ),
    "log-group-kms": (
        "moto's CloudFormation log group ignores KmsKeyId (DescribeLogGroups has no kmsKeyId)."
    ),
    "mfa-delete": (
        "moto ignores the x-amz-mfa header and the MFADelete element of PutBucketVersioning: "
        "GetBucketVersioning never reports MFADelete, so `mfa-delete enable` honestly reports it NOT on."
    ),
    "dynamodb-table-settings": (
        "moto's CloudFormation DynamoDB table reads SSESpecification in the API's spelling (Enabled, not "
        "CloudFormation's SSEEnabled), so DescribeTable reports no encryption, and it ignores "
        "PointInTimeRecoverySpecification and TimeToLiveSpecification. The adapter maps the three "
        "CloudFormation properties onto moto's table model when the stack creates the table, so "
        "DescribeTable, DescribeContinuousBackups and DescribeTimeToLive read back what the template says."
    ),
    "events-sns-targets": (
        "moto's EventBridge delivers to Lambda, SQS, log groups, archives and buses, and raises "
        "NotImplementedError for an SNS topic target (the MON-12 tamper rules'). The adapter delivers to "
        "SNS on the in-process server: moto's own pattern matcher and input transformer "
        "(EventTemplateParser) make the message, moto's SNS publishes it to the topic's subscribers. "
        "moto also lets a schedule rule (no pattern) match every PutEvents event and then fails on its "
        "Lambda target; the adapter leaves schedules to their schedule, as EventBridge does."
    ),
    "events-test-event-pattern": (
        "TestEventPattern is not implemented (moto answers nothing): the MON-12 tests run moto's matcher "
        "through PutEvents and a probe rule instead (tests/monitoring/event_matching.py)."
    ),
    "events-from-api-calls": (
        "moto records no CloudTrail events and sends none to EventBridge: an API call such as DisableRule "
        "produces no 'AWS API Call via CloudTrail' event. The integration test puts the CloudTrail event "
        "of that call on the bus itself (PutEvents), from the recorded fixture with the deployment's names."
    ),
    "stack-set-resource": (
        "moto's CloudFormation skips AWS::CloudFormation::StackSet (ORG-1's org-security StackSet), so a "
        "stack creates no StackSet and no instances. The adapter creates them after ExecuteChangeSet "
        "through moto's own StackSets API: the StackSet (name, template body, permission model, "
        "parameters resolved from the stack's) and the StackInstancesGroup's instances for the OUs and "
        "regions (moto resolves the OUs' accounts from its Organizations backend). moto's StackSets API "
        "itself ends every operation SUCCEEDED at once (never RUNNING or FAILED, no failed instance, and "
        "ListStackSetOperationResults lists only explicitly named accounts): deploy's waiting and its "
        "per-account failure block are tested on AWS's recorded shapes (tests/fixtures/stacksets)."
    ),
    "lambda-settings": (
        "moto's CloudFormation Lambda drops DeadLetterConfig, KmsKeyArn and LoggingConfig (the function's "
        "own log group); runtime, timeout, environment and reserved concurrency are read back live."
    ),
}


def unsupported_resources(body: str) -> dict[str, str]:
    """logical id -> type of the template's resources moto's CloudFormation does not model (it skips
    them with a warning; see MOTO_GAPS['unsupported-resource-types'])."""
    from moto.cloudformation.parsing import get_model_map

    supported = get_model_map()
    resources = json.loads(body).get("Resources", {})
    return {name: spec["Type"] for name, spec in sorted(resources.items()) if spec["Type"] not in supported}


def _references(value: Any) -> set[str]:
    """Logical ids a Ref, Fn::GetAtt or Fn::Sub inside `value` points at."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                found.add(inner[0] if isinstance(inner, list) else str(inner).split(".")[0])
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) else inner
                found.update(name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text))
                found |= _references(inner[1] if isinstance(inner, list) else None)
            else:
                found |= _references(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= _references(inner)
    return found


def outputs_moto_cannot_resolve(body: str) -> list[str]:
    """Outputs whose value refers to a resource moto skipped (MOTO_GAPS['unsupported-resource-types'])."""
    skipped = set(unsupported_resources(body))
    outputs = json.loads(body).get("Outputs", {})
    return sorted(name for name, spec in outputs.items() if _references(spec.get("Value")) & skipped)


def moto_body(body: str) -> str:
    """The rendered template with the moto-breaking inputs removed: Tags of KMS keys, and outputs that
    refer to resources moto skips (see MOTO_GAPS)."""
    template = json.loads(body)
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::KMS::Key":
            resource.get("Properties", {}).pop("Tags", None)
    for name in outputs_moto_cannot_resolve(body):
        del template["Outputs"][name]
    template["Resources"] = _dependencies_first(template.get("Resources", {}))
    return json.dumps(template, indent=2) + "\n"


def _dependencies_first(resources: dict[str, Any]) -> dict[str, Any]:
    """The same resources, each after the ones its DependsOn names (MOTO_GAPS['depends-on'])."""
    ordered: dict[str, Any] = {}

    def place(name: str, path: tuple[str, ...] = ()) -> None:
        if name in ordered or name in path or name not in resources:
            return
        depends = resources[name].get("DependsOn", [])
        for dependency in [depends] if isinstance(depends, str) else depends:
            place(dependency, (*path, name))
        ordered[name] = resources[name]

    for name in sorted(resources):
        place(name)
    return ordered


def for_moto(artifact: Any) -> Any:
    """A copy of a StackArtifact whose body moto can deploy; the product's artifact is not touched."""
    return dataclasses.replace(artifact, body=moto_body(artifact.body))


_installed = False


def _patch(owner: Any, name: str, replacement: Any) -> None:
    """Replace one attribute of a moto class (the type checker cannot follow a patched method)."""
    setattr(owner, name, replacement)


def install_emulator_patches() -> None:
    """Bridge the emulator-side gaps on the in-process moto server (idempotent)."""
    global _installed
    if _installed:
        return
    from moto.cloudformation import models, responses
    from moto.cloudformation.exceptions import ValidationError
    from moto.core.responses import ActionResult
    from moto.dynamodb.models.table import Table
    from moto.events import models as events_models
    from moto.events.utils import EventTemplateParser
    from moto.iam import models as iam_models
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.kms import models as kms_models
    from moto.s3 import models as s3_models
    from moto.sns.models import sns_backends
    from moto.utilities.arns import parse_arn

    def update_termination_protection(self: Any) -> Any:
        stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
        stack.enable_termination_protection = self._get_bool_param("EnableTerminationProtection", False)
        return ActionResult({"StackId": stack.stack_id})

    original_delete_stack = models.CloudFormationBackend.delete_stack

    def delete_stack(self: Any, name_or_stack_id: str) -> None:
        matching = [s for s in self.stacks.values() if name_or_stack_id in (s.name, s.stack_id)]
        for stack in matching:
            if stack.enable_termination_protection:
                raise ValidationError(
                    name_or_stack_id,
                    message=f"Stack [{stack.name}] cannot be deleted while TerminationProtection is enabled",
                )
        original_delete_stack(self, name_or_stack_id)
        for stack in matching:
            _record_deletion_events(stack)
            # A deleted stack keeps no outputs (moto would re-create resources to resolve them).
            stack.template_dict = {k: v for k, v in stack.template_dict.items() if k != "Outputs"}
            stack.output_map = stack._create_output_map()

    original_execute = models.CloudFormationBackend.execute_change_set

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = self.describe_change_set(change_set_name)
        if change_set.change_set_type == "IMPORT":
            _execute_import(self, change_set)
        else:
            original_execute(self, change_set_name, stack_name)
        stack = self.stacks[change_set.stack_id]
        _record_change_events(stack, change_set)
        stack.template_dict = change_set.template_dict
        stack.output_map = stack._create_output_map()
        for export in stack.exports:
            self.exports[export.name] = export
        if change_set.change_set_type != "IMPORT":
            _create_stack_sets(self, stack)
        for key in kms_models.kms_backends[self.account_id][self.region_name].keys.values():
            policy: Any = key.policy  # moto types it as text; its CloudFormation path stores a dict
            if isinstance(policy, dict):
                key.policy = json.dumps(key.policy)

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        policy = json.loads(self.policy.decode())
        statements = policy.get("Statement", [])
        statements = statements if isinstance(statements, list) else [statements]
        unconditional = [statement for statement in statements if "Condition" not in statement]
        if not unconditional:
            return PermissionResult.NEUTRAL
        return IAMPolicy(json.dumps({**policy, "Statement": unconditional})).is_action_permitted(
            action, resource
        )

    original_create_table = Table.__dict__["create_from_cloudformation_json"].__func__

    def create_table(
        cls: Any, resource_name: str, cloudformation_json: dict[str, Any], *args: Any, **kw: Any
    ) -> Any:
        table = original_create_table(cls, resource_name, cloudformation_json, *args, **kw)
        properties = cloudformation_json["Properties"]
        sse = properties.get("SSESpecification") or {}
        if sse.get("SSEEnabled"):
            table.sse_specification = {**(table.sse_specification or {}), "Enabled": True}
        ttl = properties.get("TimeToLiveSpecification") or {}
        if ttl.get("Enabled"):
            table.ttl = {"TimeToLiveStatus": "ENABLED", "AttributeName": ttl["AttributeName"]}
        pitr = properties.get("PointInTimeRecoverySpecification") or {}
        if pitr.get("PointInTimeRecoveryEnabled"):
            description = table.continuous_backups["PointInTimeRecoveryDescription"]
            description["PointInTimeRecoveryStatus"] = "ENABLED"
        return table

    _patch(Table, "create_from_cloudformation_json", classmethod(create_table))

    original_send_to_targets = events_models.Rule.send_to_targets

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        if self.scheduled_expression and not self.event_pattern.get_pattern():
            return  # a schedule is never triggered by a put event (moto's empty pattern matches them all)
        topics = [target for target in self.targets if parse_arn(target["Arn"]).service == "sns"]
        others = [target for target in self.targets if target not in topics]
        saved, self.targets = self.targets, others
        try:
            original_send_to_targets(self, original_event, transform_input)
        finally:
            self.targets = saved
        if not topics or not self.event_pattern.matches_event(original_event):
            return
        for target in topics:
            transformer = target.get("InputTransformer", {})
            message = EventTemplateParser.parse(
                input_template=transformer.get("InputTemplate"),
                input_paths_map=transformer.get("InputPathsMap", {}),
                event=original_event,
            )
            arn = parse_arn(target["Arn"])
            rendered: Any = message  # moto types it as text; an input template without quotes gives JSON
            body = rendered if isinstance(rendered, str) else json.dumps(rendered)
            sns_backends[arn.account][arn.region].publish(message=body, arn=target["Arn"])

    _patch(events_models.Rule, "send_to_targets", send_to_targets)
    original_create_change_set = responses.CloudFormationResponse.create_change_set

    def create_change_set(self: Any) -> Any:
        result = original_create_change_set(self)
        if self._get_param("ChangeSetType") == "IMPORT":
            change_set = self.cloudformation_backend.describe_change_set(self._get_param("ChangeSetName"))
            change_set.resources_to_import = self._get_param("ResourcesToImport", [])
        return result

    def update_key(
        cls: Any, original_resource: Any, new_resource_name: str, cloudformation_json: Any, **_: Any
    ) -> Any:
        properties = cloudformation_json.get("Properties", {})
        original_resource.description = properties.get("Description", original_resource.description)
        if "KeyPolicy" in properties:
            original_resource.policy = json.dumps(properties["KeyPolicy"])
        if "EnableKeyRotation" in properties:
            original_resource.key_rotation_status = bool(properties["EnableKeyRotation"])
        return original_resource

    def delete_managed_policy(self: Any, account_id: str, region_name: str) -> None:
        self.backend.delete_policy(self.arn)

    _patch(responses.CloudFormationResponse, "create_change_set", create_change_set)
    _patch(iam_models.ManagedPolicy, "delete", delete_managed_policy)
    _patch(kms_models.Key, "update_from_cloudformation_json", classmethod(update_key))
    _patch(s3_models.FakeBucket, "get_permission", get_permission)
    _patch(responses.CloudFormationResponse, "update_termination_protection", update_termination_protection)
    _patch(models.CloudFormationBackend, "delete_stack", delete_stack)
    _patch(models.CloudFormationBackend, "execute_change_set", execute_change_set)
    _installed = True


_ACTION_STATUS = {"Add": "CREATE", "Modify": "UPDATE", "Remove": "DELETE"}


def _create_stack_sets(backend: Any, stack: Any) -> None:
    """MOTO_GAPS['stack-set-resource']: the stack's StackSets and their instances, through moto's
    StackSets API (an existing StackSet of the same name is left as it is: instances already there are
    kept, new OUs' instances added)."""
    active = {stack_set.name for stack_set in backend.stacksets.values() if stack_set.status != "DELETED"}
    for spec in stack.template_dict.get("Resources", {}).values():
        if spec.get("Type") != "AWS::CloudFormation::StackSet":
            continue
        properties = spec.get("Properties", {})
        name = properties["StackSetName"]
        parameters = {
            item["ParameterKey"]: _stack_value(stack, item["ParameterValue"])
            for item in properties.get("Parameters", [])
        }
        if name not in active:
            backend.create_stack_set(
                name=name,
                template=properties["TemplateBody"],
                parameters=parameters,
                tags={},
                permission_model=properties.get("PermissionModel", "SELF_MANAGED"),
                admin_role=None,
                exec_role=None,
                description=properties.get("Description"),
            )
        for group in properties.get("StackInstancesGroup", []):
            backend.create_stack_instances(
                name,
                accounts=group.get("DeploymentTargets", {}).get("Accounts", []),
                regions=group.get("Regions", []),
                parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
                deployment_targets=group.get("DeploymentTargets", {}),
            )


def _stack_value(stack: Any, value: Any) -> Any:
    """A StackSet parameter's value: a Ref to one of the stack's parameters, or the value itself."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return stack.parameters.get(value["Ref"], "")
    return value


def _resource_event(stack: Any, logical_id: str, resource_type: str, status: str, reason: str = "") -> Any:
    from moto.cloudformation.models import Event

    resource = stack.resource_map._parsed_resources.get(logical_id)
    return Event(
        stack_id=stack.stack_id,
        stack_name=stack.name,
        logical_resource_id=logical_id,
        physical_resource_id=str(getattr(resource, "physical_resource_id", "") or ""),
        resource_type=resource_type,
        resource_status=status,
        resource_status_reason=reason or None,
        resource_properties=None,
    )


def _insert_before_closing_event(stack: Any, events: list[Any]) -> None:
    stack.events[-1:-1] = events


def _record_change_events(stack: Any, change_set: Any) -> None:
    """MOTO_GAPS['resource-events']: each changed resource's events, before the stack's closing event."""
    events = []
    importing = change_set.change_set_type == "IMPORT"
    for change in change_set.changes:
        prefix = "IMPORT" if importing else _ACTION_STATUS.get(change.action)
        created = stack.resource_map._parsed_resources.get(change.logical_resource_id) is not None
        if prefix is None or (prefix != "DELETE" and not created):
            continue
        reason = "Resource creation Initiated" if prefix == "CREATE" else ""
        events.append(
            _resource_event(
                stack, change.logical_resource_id, change.resource_type, f"{prefix}_IN_PROGRESS", reason
            )
        )
        events.append(
            _resource_event(stack, change.logical_resource_id, change.resource_type, f"{prefix}_COMPLETE")
        )
    _insert_before_closing_event(stack, events)


def _record_deletion_events(stack: Any) -> None:
    """MOTO_GAPS['resource-events'] for DeleteStack: DELETE_SKIPPED for a retained resource. Once per
    stack: moto's DeleteStack by name calls itself again by stack id."""
    if getattr(stack, "_deletion_events_recorded", False) or stack.status != "DELETE_COMPLETE":
        return
    stack._deletion_events_recorded = True
    from moto.cloudformation.parsing import get_model_map

    modelled = get_model_map()
    events = []
    for logical_id, spec in stack.template_dict.get("Resources", {}).items():
        if spec["Type"] not in modelled:
            continue
        if spec.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate"):
            events.append(_resource_event(stack, logical_id, spec["Type"], "DELETE_SKIPPED"))
        else:
            events.append(_resource_event(stack, logical_id, spec["Type"], "DELETE_IN_PROGRESS"))
            events.append(_resource_event(stack, logical_id, spec["Type"], "DELETE_COMPLETE"))
    _insert_before_closing_event(stack, events)


def _existing_resource(account_id: str, region: str, item: dict[str, Any]) -> Any:
    """The emulator's object for one entry of ResourcesToImport (MOTO_GAPS['resource-import'])."""
    from moto.cloudformation.exceptions import ValidationError
    from moto.kms.models import kms_backends
    from moto.logs.models import logs_backends
    from moto.s3.models import s3_backends

    resource_type = item["ResourceType"]
    identifier = item["ResourceIdentifier"]
    found: Any = None
    if resource_type == "AWS::S3::Bucket":
        found = s3_backends[account_id]["aws"].buckets.get(identifier["BucketName"])
    elif resource_type == "AWS::KMS::Key":
        found = kms_backends[account_id][region].keys.get(identifier["KeyId"])
    elif resource_type == "AWS::Logs::LogGroup":
        found = logs_backends[account_id][region].groups.get(identifier["LogGroupName"])
    elif resource_type == "AWS::DynamoDB::Table":
        from moto.dynamodb.models import dynamodb_backends

        found = dynamodb_backends[account_id][region].tables.get(identifier["TableName"])
    if found is None:
        raise ValidationError(
            message=f"Resource {item['LogicalResourceId']} ({resource_type}) with identifier "
            f"{json.dumps(identifier)} does not exist"
        )
    found.logical_resource_id = item["LogicalResourceId"]
    found.cf_resource_type = resource_type
    return found


def _execute_import(backend: Any, change_set: Any) -> None:
    """MOTO_GAPS['resource-import']: bind the listed resources to the stack instead of creating them."""
    stack = backend.stacks[change_set.stack_id]
    stack._add_stack_event("IMPORT_IN_PROGRESS", resource_status_reason="User Initiated")
    for item in getattr(change_set, "resources_to_import", []):
        existing = _existing_resource(backend.account_id, backend.region_name, item)
        stack.resource_map._parsed_resources[item["LogicalResourceId"]] = existing
    change_set.apply()
    stack._add_stack_event("IMPORT_COMPLETE")
    change_set.execution_status = "EXECUTE_COMPLETE"
    stack.status = "IMPORT_COMPLETE"
    stack.template = change_set.template
