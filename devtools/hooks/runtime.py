"""The Lambda Runtime API loop for a Python handler file under the local emulator: what the
managed python runtime does, for `local-api --hook TRIGGER=file.py`.

Usage: python3 runtime.py HANDLER_FILE  (calls its `handler`, else `lambda_handler`)
"""

import importlib.util
import json
import os
import sys
import time
import traceback
import urllib.request

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"


class Context:
    """The parts of Lambda's context object a trigger function uses."""

    def __init__(self, request_id, deadline_ms, function_arn):
        self.aws_request_id = request_id
        self.invoked_function_arn = function_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))


def post(path, document):
    request = urllib.request.Request(
        API + path,
        data=json.dumps(document).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request).read()


def error_document(error):
    return {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "stackTrace": traceback.format_tb(error.__traceback__),
    }


def load(path):
    spec = importlib.util.spec_from_file_location("hook", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler = getattr(module, "handler", None) or getattr(module, "lambda_handler", None)
    if handler is None:
        raise AttributeError(path + " defines neither handler nor lambda_handler")
    return handler


def main():
    try:
        handler = load(sys.argv[1])
    except Exception as error:  # reported to the emulator, as Lambda reports an init error
        post("/init/error", error_document(error))
        raise
    while True:
        with urllib.request.urlopen(API + "/invocation/next") as answer:
            request_id = answer.headers["Lambda-Runtime-Aws-Request-Id"]
            deadline_ms = int(answer.headers.get("Lambda-Runtime-Deadline-Ms", "0"))
            arn = answer.headers.get("Lambda-Runtime-Invoked-Function-Arn", "")
            event = json.loads(answer.read())
        try:
            result = handler(event, Context(request_id, deadline_ms, arn))
        except Exception as error:
            post("/invocation/" + request_id + "/error", error_document(error))
            continue
        post("/invocation/" + request_id + "/response", result)


if __name__ == "__main__":
    main()
