"""Forms for signing in and account management (GOV.UK widgets via govuk-frontend-wtf)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovPasswordInput, GovSubmitInput, GovTextInput
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import InputRequired, Length


class SignInForm(FlaskForm):
    email = StringField(
        "Email address", widget=GovTextInput(), validators=[InputRequired("Enter your email address"), Length(max=254)]
    )
    password = PasswordField(
        "Password", widget=GovPasswordInput(), validators=[InputRequired("Enter your password"), Length(max=256)]
    )
    submit = SubmitField("Sign in", widget=GovSubmitInput())
