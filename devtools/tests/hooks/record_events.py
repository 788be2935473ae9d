"""A hook for any trigger that writes the event it receives on one line of its output
(`EVENT {...}`) and answers it unchanged: the live tests read these lines to check every
event against independent implementations of Cognito's shapes."""

import json


def handler(event, context):
    print("EVENT " + json.dumps(event), flush=True)
    return event
