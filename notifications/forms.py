"""The e-mail preference form and the CSRF-only forms behind the list's buttons."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovSubmitInput
from wtforms import RadioField, SubmitField
from wtforms.validators import InputRequired

PREFERENCE_CHOICES = [
    ("immediately", "Immediately: one e-mail for each notification"),
    ("daily", "Once a day: a summary each morning"),
    ("off", "Never: I will check the service"),
]


class PreferenceForm(FlaskForm):
    email = RadioField("How do you want to be told by e-mail?", choices=PREFERENCE_CHOICES, widget=GovRadioInput(),
                       validators=[InputRequired("Choose how you want to be told by e-mail")])
    submit = SubmitField("Save", widget=GovSubmitInput())


class MarkReadForm(FlaskForm):
    """No fields: the button posts with its CSRF token."""
