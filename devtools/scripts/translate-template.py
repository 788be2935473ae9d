"""Prints template.yaml as CloudFormation sees it after the SAM transform, as JSON.

Usage: python translate-template.py <template> [Parameter=Value ...]

Run with the pinned SAM CLI's Python (its virtualenv holds samtranslator). Offline: each
function's CodeUri becomes a placeholder S3 object, as `sam package` would make it, and no
managed policy is looked up.
"""

import json
import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicyLookup:
    """The translator asks IAM for managed policy ARNs only for names it cannot resolve."""

    def load(self):
        return {}


def main() -> int:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with open(sys.argv[1], encoding="utf-8") as file:
        template = yaml_parse(file.read())
    for name, resource in template.get("Resources", {}).items():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = f"s3://packaged/{name}.zip"
    parameters = dict(argument.split("=", 1) for argument in sys.argv[2:])
    translated = transform(template, parameters, NoManagedPolicyLookup())
    json.dump(translated, sys.stdout, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
