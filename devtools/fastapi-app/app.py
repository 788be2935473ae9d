"""The FastAPI + MongoDB tutorial app this project takes over, rebuilt for the coexistence
test: mongoengine's `UserModel` in `user_model`, passlib hashes, OAuth2 password flow.

It is the tutorial's app with the two changes docs/src/fastapi.md asks of a team that keeps it
running beside this project during the switch-over (marked `COEXISTENCE` below); with
`FASTAPI_APP_STOCK=1` it runs without them, as the tutorial ships it.

Used as a command, it calls its own routes in-process and prints the status code:

    python app.py signup|login|me USERNAME PASSWORD

with `MONGODB_URI` and `DB_NAME` naming the shared database.
"""

import datetime
import os
import sys

import jwt
from fastapi import Depends, FastAPI, HTTPException, status
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from mongoengine import BooleanField, DateTimeField, Document, StringField, connect
from passlib.context import CryptContext
from pydantic import BaseModel

STOCK = os.environ.get("FASTAPI_APP_STOCK") == "1"
# The tutorial signs HS256 tokens with a key from its settings; any key serves the test.
SECRET_KEY = os.urandom(32).hex()

if STOCK:
    pwd_context = CryptContext(schemes=["sha256_crypt", "md5_crypt"], deprecated="auto")
else:
    # COEXISTENCE: argon2 first (needs argon2-cffi), so hashes this project writes verify here
    # and the tutorial's new hashes match this project's, at its costs (ARGON2_* defaults).
    pwd_context = CryptContext(
        schemes=["argon2", "sha256_crypt", "md5_crypt"],
        deprecated="auto",
        argon2__memory_cost=19456,
        argon2__rounds=2,
        argon2__parallelism=1,
    )


class UserModel(Document):
    username = StringField(required=True, unique=True)
    password = StringField(required=True)
    disabled = BooleanField(default=False)
    created_date = DateTimeField(default=datetime.datetime.utcnow)
    modified_date = DateTimeField(default=datetime.datetime.utcnow)
    # COEXISTENCE: tolerate the fields this project adds (`username_canonical`,
    # `token_version`); the stock model is strict and fails to load such a document.
    meta = {} if STOCK else {"strict": False}


class NewUser(BaseModel):
    username: str
    password: str


app = FastAPI()
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token")


@app.post("/signup", status_code=201)
def signup(user: NewUser):
    if UserModel.objects(username=user.username).first():
        raise HTTPException(status_code=400, detail="Username already registered")
    UserModel(username=user.username, password=pwd_context.hash(user.password)).save()
    return {"message": "Created user successfully!"}


@app.post("/token")
def token(form: OAuth2PasswordRequestForm = Depends()):
    user = UserModel.objects(username=form.username).first()
    if not user or not pwd_context.verify(form.password, user.password):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="Incorrect username or password",
        )
    expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=30)
    access_token = jwt.encode({"sub": user.username, "exp": expires}, SECRET_KEY, "HS256")
    return {"access_token": access_token, "token_type": "bearer"}


@app.get("/users/me")
def me(token: str = Depends(oauth2_scheme)):
    claims = jwt.decode(token, SECRET_KEY, algorithms=["HS256"])
    user = UserModel.objects(username=claims["sub"]).first()
    if not user or user.disabled:
        raise HTTPException(status_code=400, detail="Inactive user")
    return {"username": user.username, "disabled": user.disabled}


def main() -> int:
    from fastapi.testclient import TestClient

    command, username, password = sys.argv[1:4]
    connect(db=os.environ["DB_NAME"], host=os.environ["MONGODB_URI"])
    client = TestClient(app, raise_server_exceptions=False)
    if command == "signup":
        response = client.post("/signup", json={"username": username, "password": password})
    else:
        form = {"username": username, "password": password}
        response = client.post("/token", data=form)
        if command == "me" and response.status_code == 200:
            bearer = {"Authorization": f"Bearer {response.json()['access_token']}"}
            response = client.get("/users/me", headers=bearer)
    print(response.status_code)
    return 0


if __name__ == "__main__":
    sys.exit(main())
