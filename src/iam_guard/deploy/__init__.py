"""Deploying the generated stacks with boto3 (DEP-1): artifact bucket, handler zips, change sets,
termination protection, flat outputs, destroy, and the S3 MFA-delete switch (DS-2).

Credentials, region overrides and endpoints come only from the standard AWS environment and profiles,
so AWS_ENDPOINT_URL points all of it at an emulator. Nothing here prints or writes a credential or the
audit external ID.
"""
