"""Lambda functions with the project's defaults (MON-1, MON-8, CON-1, EDGE-2, EDGE-5): the newest Python
runtime, at most 60 seconds, reserved concurrency, a dead-letter queue, environment variables encrypted
with the stack key, JSON logs into a log group the stack created, code from S3 by content-hashed key."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from troposphere import GetAtt, Parameter, Ref, awslambda, iam, kms, logs, sqs

from iam_guard.contract import ENV_LOG_LEVEL

# The newest Python runtime Lambda supports; a test compares it with cfn-lint's runtime data.
PYTHON_RUNTIME = "python3.14"
MAX_TIMEOUT_SECONDS = 60

VPC_REASON = (
    "The functions call only AWS public APIs (IAM, SNS, SQS, CloudWatch Logs) and hold no network-reachable "
    "state; a VPC would add NAT or five interface endpoints per region without isolating anything."
)


class FunctionLoggingConfig(awslambda.LoggingConfig):
    """troposphere's awslambda.LoggingConfig lost LogFormat to a same-named class; the function's
    LoggingConfig has it (Text | JSON), and the log levels Lambda filters JSON lines by."""

    props = {
        **awslambda.LoggingConfig.props,
        "ApplicationLogLevel": (str, False),
        "LogFormat": (str, False),
        "SystemLogLevel": (str, False),
    }


# Lambda's names for the stdlib levels the handlers' LOG_LEVEL setting uses.
_LAMBDA_LOG_LEVELS = {"DEBUG": "DEBUG", "INFO": "INFO", "WARNING": "WARN", "WARN": "WARN", "ERROR": "ERROR"}


def application_log_level(environment: Mapping[str, Any]) -> str:
    """The function's ApplicationLogLevel from its LOG_LEVEL setting (Lambda passes it back to the code as
    AWS_LAMBDA_LOG_LEVEL)."""
    configured = str(environment.get(ENV_LOG_LEVEL, "INFO")).upper()
    if configured not in _LAMBDA_LOG_LEVELS:
        raise ValueError(f"{ENV_LOG_LEVEL} {configured!r} is not one of DEBUG|INFO|WARNING|ERROR")
    return _LAMBDA_LOG_LEVELS[configured]


@dataclass(frozen=True)
class FunctionSpec:
    """What differs between the functions: the handler and its sizing."""

    handler: str
    description: str
    timeout_seconds: int
    memory_mb: int
    reserved_concurrency: int


def code_key_parameter(logical_id: str, *, handler: str, default_key: str) -> Parameter:
    """The S3 key of a handler's zip; the default carries the zip's content hash, so an unchanged function
    is an unchanged template and a changed one a changed template."""
    return Parameter(
        logical_id,
        Type="String",
        Default=default_key,
        AllowedPattern=r"^lambda/[A-Za-z0-9_.-]+\.zip$",
        ConstraintDescription="an S3 key lambda/<handler>-<sha256 prefix>.zip as written by make package",
        Description=f"S3 key of the {handler} handler zip in ArtifactBucket (default: the current build)",
    )


def python_function(
    logical_id: str,
    *,
    name: str,
    spec: FunctionSpec,
    role: iam.Role,
    key: kms.Key,
    log_group: logs.LogGroup,
    dead_letter_queue: sqs.Queue,
    code_bucket: Parameter,
    code_key: Parameter,
    environment: Mapping[str, Any],
) -> awslambda.Function:
    """A function that cannot forget its limits: CON-1 timeout, its own encrypted log group, a DLQ."""
    if not 1 <= spec.timeout_seconds <= MAX_TIMEOUT_SECONDS:
        raise ValueError(
            f"timeout_seconds {spec.timeout_seconds} is outside 1..{MAX_TIMEOUT_SECONDS} (CON-1)"
        )
    return awslambda.Function(
        logical_id,
        FunctionName=name,
        Description=spec.description,
        Handler=spec.handler,
        Runtime=PYTHON_RUNTIME,
        Architectures=["arm64"],
        Timeout=spec.timeout_seconds,
        MemorySize=spec.memory_mb,
        ReservedConcurrentExecutions=spec.reserved_concurrency,
        Role=GetAtt(role, "Arn"),
        Code=awslambda.Code(S3Bucket=Ref(code_bucket), S3Key=Ref(code_key)),
        Environment=awslambda.Environment(Variables=dict(sorted(environment.items()))),
        KmsKeyArn=GetAtt(key, "Arn"),
        DeadLetterConfig=awslambda.DeadLetterConfig(TargetArn=GetAtt(dead_letter_queue, "Arn")),
        LoggingConfig=FunctionLoggingConfig(
            ApplicationLogLevel=application_log_level(environment),
            LogFormat="JSON",
            LogGroup=Ref(log_group),
            SystemLogLevel="WARN",
        ),
        Metadata={"checkov": {"skip": [{"id": "CKV_AWS_117", "comment": VPC_REASON}]}},
    )


def async_retry_limits(
    logical_id: str, *, function: awslambda.Function, max_retry_attempts: int, max_event_age_seconds: int
) -> awslambda.EventInvokeConfig:
    """Asynchronous invocations (EventBridge) are retried at most `max_retry_attempts` times and dropped
    into the function's DLQ after `max_event_age_seconds`: never retried forever (H-4)."""
    return awslambda.EventInvokeConfig(
        logical_id,
        FunctionName=Ref(function),
        Qualifier="$LATEST",
        MaximumRetryAttempts=max_retry_attempts,
        MaximumEventAgeInSeconds=max_event_age_seconds,
    )


def async_invoke_permission(
    logical_id: str, *, function: awslambda.Function, service: str, source_arn: Any
) -> awslambda.Permission:
    """`service` may invoke the function only for `source_arn` in this account (confused-deputy guard)."""
    return awslambda.Permission(
        logical_id,
        Action="lambda:InvokeFunction",
        FunctionName=Ref(function),
        Principal=f"{service}.amazonaws.com",
        SourceArn=source_arn,
        SourceAccount=Ref("AWS::AccountId"),
    )


def queue_event_source(
    logical_id: str, *, function: awslambda.Function, queue: sqs.Queue
) -> awslambda.EventSourceMapping:
    """One message per invocation (batch size 1): each message is one unit of work handed over."""
    return awslambda.EventSourceMapping(
        logical_id,
        EventSourceArn=GetAtt(queue, "Arn"),
        FunctionName=Ref(function),
        BatchSize=1,
        Enabled=True,
    )
