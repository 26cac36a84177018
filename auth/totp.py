"""Time-based one-time passwords (RFC 6238) for the second sign-in step.

Codes are checked against the service clock (core.clock, so tests can move time), one
30-second step either side for clock drift. Each code works once: the step counter of the
last accepted code is stored on the user and a code from that step or earlier is refused.
The counter moves with a single conditional UPDATE, so two requests racing with the same
code cannot both succeed.

Enrolment does not write anything until the user proves the authenticator works: the new
secret travels in a signed, short-lived token in the confirmation form.
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import io
import re

import pyotp
import qrcode
import qrcode.image.svg
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from auth.models import User
from core import clock
from core.extensions import db

STEP_SECONDS = 30
DRIFT_STEPS = 1
ISSUER = "Manage risk panels"
ENROL_MAX_AGE = 15 * 60
_CODE = re.compile(r"^\d{6}$")


def new_secret() -> str:
    return pyotp.random_base32()


def current_counter() -> int:
    return int(clock.utcnow().replace(tzinfo=dt.UTC).timestamp()) // STEP_SECONDS


def normalise(code: str | None) -> str:
    return re.sub(r"[\s-]", "", code or "")


def matching_counter(secret: str, code: str | None) -> int | None:
    """The time step whose code this is (now, or one step either side), or None."""
    code = normalise(code)
    if not _CODE.match(code):
        return None
    totp = pyotp.TOTP(secret)
    now = current_counter()
    for counter in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(counter), code):
            return counter
    return None


def code_for(secret: str, counter: int | None = None) -> str:
    """The code for a step (now by default): for tests and the demo, never shown to users."""
    return pyotp.TOTP(secret).generate_otp(current_counter() if counter is None else counter)


def use_code(user: User, code: str | None, secret: str | None = None) -> bool:
    """Accept `code` once for `user` (against `secret`, default the user's own)."""
    secret = secret or user.totp_secret
    if not secret:
        return False
    counter = matching_counter(secret, code)
    if counter is None:
        return False
    done = db.session.execute(
        db.update(User)
        .where(User.id == user.id)
        .where((User.totp_last_counter.is_(None)) | (User.totp_last_counter < counter))
        .values(totp_last_counter=counter)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        return False  # this code (or a later one) has been used already
    db.session.expire(user, ["totp_last_counter"])
    return True


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """The otpauth:// URI as a QR code: an SVG data URI (the CSP allows data: images)."""
    img = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=4)
    buf = io.BytesIO()
    img.save(buf)
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode()


def grouped(secret: str) -> str:
    """The secret in groups of four, easier to type into an authenticator app."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="totp-enrolment")


def enrolment_token(user: User, secret: str) -> str:
    return _serializer().dumps({"u": user.uid, "s": secret})


def secret_from_token(user: User, token: str | None) -> str | None:
    """The secret being enrolled, if the token is this user's, untampered and recent."""
    if not token:
        return None
    try:
        data = _serializer().loads(token, max_age=ENROL_MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("u") != user.uid or not isinstance(data.get("s"), str):
        return None
    return data["s"]
