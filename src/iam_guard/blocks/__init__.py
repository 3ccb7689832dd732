"""Reusable building blocks: small functions that return troposphere resources with secure defaults the
caller cannot forget (encryption, retention, TLS-only, Retain on data)."""
