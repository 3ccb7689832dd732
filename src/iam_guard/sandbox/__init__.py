"""The local sandbox (OPS-3, `make sandbox`): iam-guard's whole loop on moto's server on 127.0.0.1.

`emulator` is the one place that knows what moto skips or breaks and bridges it (the integration tests use
it too); `demo` is the guided run: deploy, a risky policy, the analyzer, the alert. Needs moto[server]
(the `dev` or `sandbox` extra); nothing else in the package imports this one (tests/test_architecture.py).

    python -m iam_guard.sandbox [--config templates/dev.yaml]
"""
