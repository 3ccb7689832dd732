"""The stacks: each module composes building blocks into one CloudFormation template (build(config))."""
