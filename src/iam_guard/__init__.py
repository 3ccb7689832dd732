"""iam-guard: hardened CloudFormation for IAM security monitoring and a secure financial data store."""

__version__ = "0.1.0"
