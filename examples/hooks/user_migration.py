"""A user migration hook (Cognito's event, Python), in front of a stand-in old system: a table
of salted SHA-256 password hashes. At a user's first sign-in here the hook checks the name and
password against the old system and returns the user's attributes; the account is then created
here with the password hashed by argon2id, and the old system is never asked about that user
again. A real hook would call the old system's database or login API instead of OLD_USERS.

Run it with `make dev HOOKS=user-migration=examples/hooks/user_migration.py`, then sign in as
olga with "old system passphrase".
"""

import hashlib
import hmac

# The stand-in old system: name -> salt, salted SHA-256 of the password, address.
OLD_USERS = {
    "olga": {
        "salt": "s4lt-olga",
        "sha256": "df36df39d9d9093b61368e8153de1f2e4dc3750cbe2cda7967d10ed38c88a066",
        "email": "olga@old.example",
        "email_verified": "true",
    },
    "oscar": {
        "salt": "s4lt-oscar",
        "sha256": "ed41222b6e58a3a1fd77e8c73eb27727787c6295bc19440604211f10d55a4b51",
        "email": "oscar@old.example",
        "email_verified": "false",
    },
    "otto": {
        "salt": "s4lt-otto",
        "sha256": "a83a765d7592ca67b90f3de414f95d0daaea045061e1c1f4a96fca53fe236310",
        "email": "otto@old.example",
        "email_verified": "true",
    },
}


def password_matches(user, password):
    digest = hashlib.sha256((user["salt"] + password).encode()).hexdigest()
    return hmac.compare_digest(digest, user["sha256"])


def handler(event, context):
    user = OLD_USERS.get(event["userName"])
    if event["triggerSource"] == "UserMigration_Authentication":
        if user is None or not password_matches(user, event["request"]["password"]):
            raise Exception("Bad password")
    elif event["triggerSource"] != "UserMigration_ForgotPassword" or user is None:
        raise Exception("Bad triggerSource or unknown user")
    event["response"]["userAttributes"] = {
        "email": user["email"],
        "email_verified": user["email_verified"],
    }
    event["response"]["finalUserStatus"] = "CONFIRMED"
    event["response"]["messageAction"] = "SUPPRESS"
    return event
