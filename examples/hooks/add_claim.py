"""A pre token generation hook (Cognito's version 2 event): adds the claim `plan` to every
access token and id_token. Run it with `make dev HOOKS=pre-token-generation=examples/hooks/add_claim.py`,
or deploy it as a Python Lambda function and set PreTokenGenerationHookArn to its ARN.
"""


def handler(event, context):
    event["response"]["claimsAndScopeOverrideDetails"] = {
        "accessTokenGeneration": {"claimsToAddOrOverride": {"plan": "free"}},
        "idTokenGeneration": {"claimsToAddOrOverride": {"plan": "free"}},
    }
    return event
