"""Forms for signing in, the account page and the user/agency admin pages (GOV.UK widgets)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovPasswordInput,
    GovSelect,
    GovSubmitInput,
    GovTextInput,
)
from wtforms import HiddenField, PasswordField, SelectField, SelectMultipleField, StringField, SubmitField
from wtforms.validators import EqualTo, InputRequired, Length, Optional

from auth.models import AGENCY_KINDS, ROLES
from core.labels import label

ROLE_LABELS = {r: label(r, "role_choice") for r in ROLES}  # with what each role may do (core.labels)
KIND_LABELS = {k: label(k) for k in AGENCY_KINDS}  # from the one label table (core.labels)
PASSWORD_HINT = "Use 12 characters or more. Three or four unrelated words together are strong and easy to remember."


def _code_field(label: str = "Security code") -> StringField:
    return StringField(
        label,
        widget=GovTextInput(),
        description="The 6-digit code your authenticator app shows now.",
        validators=[InputRequired("Enter the 6-digit security code from your authenticator app"), Length(max=12)],
    )


class SignInForm(FlaskForm):
    email = StringField(
        "Email address", widget=GovTextInput(), validators=[InputRequired("Enter your email address"), Length(max=254)]
    )
    password = PasswordField(
        "Password", widget=GovPasswordInput(), validators=[InputRequired("Enter your password"), Length(max=256)]
    )
    submit = SubmitField("Sign in", widget=GovSubmitInput())


class TotpForm(FlaskForm):
    code = _code_field()
    submit = SubmitField("Continue", widget=GovSubmitInput())


class TotpEnrolForm(FlaskForm):
    enrolment = HiddenField()
    code = _code_field()
    submit = SubmitField("Turn on two-factor authentication", widget=GovSubmitInput())


class TotpDisableForm(FlaskForm):
    password = PasswordField(
        "Your password", widget=GovPasswordInput(), validators=[InputRequired("Enter your password"), Length(max=256)]
    )
    submit = SubmitField("Turn off two-factor authentication", widget=GovSubmitInput())


class NewPasswordMixin:
    password = PasswordField(
        "New password", widget=GovPasswordInput(), description=PASSWORD_HINT,
        validators=[InputRequired("Enter a new password"),
                    Length(max=256, message="Password must be 256 characters or fewer")],
    )
    confirm = PasswordField(
        "Confirm new password", widget=GovPasswordInput(),
        validators=[InputRequired("Confirm your new password"), EqualTo("password", "Passwords must match")],
    )


class PasswordChangeForm(NewPasswordMixin, FlaskForm):
    current = PasswordField(
        "Current password", widget=GovPasswordInput(),
        validators=[InputRequired("Enter your current password"), Length(max=256)],
    )
    submit = SubmitField("Change password", widget=GovSubmitInput())


class SetUpForm(NewPasswordMixin, FlaskForm):
    submit = SubmitField("Set password", widget=GovSubmitInput())


class TokenForm(FlaskForm):
    name = StringField(
        "Name for a new token",
        widget=GovTextInput(),
        description="Say what it is for, for example “monthly KPI spreadsheet”.",
        validators=[InputRequired("Enter a name for the token"),
                    Length(max=100, message="Name must be 100 characters or fewer")],
    )
    submit = SubmitField("Create token", widget=GovSubmitInput())


# -- administration -------------------------------------------------------------------------


class UserEditForm(FlaskForm):
    name = StringField(
        "Full name", widget=GovTextInput(), validators=[InputRequired("Enter the user’s full name"), Length(max=200)]
    )
    agency_id = SelectField(
        "Agency", widget=GovSelect(), coerce=int, validators=[InputRequired("Select the user’s agency")]
    )
    roles = SelectMultipleField(
        "Roles", widget=GovCheckboxesInput(), choices=[(r, ROLE_LABELS[r]) for r in ROLES],
        validators=[InputRequired("Select at least one role")],
    )
    submit = SubmitField("Save changes", widget=GovSubmitInput())


class UserNewForm(UserEditForm):
    email = StringField(
        "Email address", widget=GovTextInput(),
        validators=[InputRequired("Enter the user’s email address"), Length(max=254)],
    )
    password = PasswordField(
        "Initial password (optional)", widget=GovPasswordInput(),
        description="Leave blank to create a one-time set-up link the user follows to choose their own.",
        validators=[Optional(), Length(max=256, message="Password must be 256 characters or fewer")],
    )
    submit = SubmitField("Add user", widget=GovSubmitInput())


class UserFilterForm(FlaskForm):
    class Meta:
        csrf = False

    agency = SelectField("Agency", widget=GovSelect(), validators=[Optional()])
    submit = SubmitField("Show users", widget=GovSubmitInput())


class AgencyEditForm(FlaskForm):
    name = StringField(
        "Name", widget=GovTextInput(), validators=[InputRequired("Enter the agency’s name"), Length(max=200)]
    )
    kind = SelectField(
        "Kind of agency", widget=GovSelect(), choices=list(KIND_LABELS.items()),
        validators=[InputRequired("Select the kind of agency")],
    )
    submit = SubmitField("Save", widget=GovSubmitInput())


class AgencyNewForm(AgencyEditForm):
    code = StringField(
        "Code", widget=GovTextInput(),
        description="Capital letters, digits or underscores, for example POLICE. Partnership files refer to it; "
                    "it cannot be changed later.",
        validators=[InputRequired("Enter a code"), Length(max=32, message="Code must be 32 characters or fewer")],
    )
    submit = SubmitField("Add agency", widget=GovSubmitInput())
