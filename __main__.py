"""streamstack: the whole pipeline from one validated stack config."""

import pulumi

from components.pipeline import Pipeline, PipelineArgs
from components.settings import load_settings
from components.targets import make_target

settings = load_settings()
pipeline = Pipeline("streamstack", PipelineArgs(settings=settings, target=make_target(settings)))

for name, value in pipeline.endpoints.items():
    pulumi.export(name, value)
for name, value in pipeline.credentials.items():
    pulumi.export(name, pulumi.Output.secret(value))
