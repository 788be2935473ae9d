"""A post confirmation hook for the live tests that always raises: the address must stay
verified, and the account's history must say the hook failed."""


def handler(event, context):
    raise RuntimeError("the CRM is down")
