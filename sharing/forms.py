"""Forms of the sharing pages: an agreement with its grant matrix, and the access-log filters."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import (
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from core.forms import CATEGORY_LABELS, DATE_FORMAT, GovDateField  # noqa: F401
from core.labels import label
from sharing.crypto import CATEGORIES

ACCESS_CHOICES = [("", "No access"), ("r", "Read"), ("rw", "Read and write")]
ACCESS_LABELS = {a: label(a, "access") for a in ("", "r", "rw")}  # from the one label table (core.labels)


def grant_field_name(agency_id: int, category: str) -> str:
    return f"grant_{agency_id}_{category}"


class IsaForm(FlaskForm):
    ref = StringField("Reference", widget=GovTextInput(),
                      validators=[InputRequired("Enter a reference"), Length(max=64)])
    title = StringField("Title", widget=GovTextInput(),
                        validators=[InputRequired("Enter a title"), Length(max=300)])
    purpose = TextAreaField("Purpose", widget=GovTextArea(), validators=[Length(max=5000)])
    panels = SelectMultipleField("Panels covered", widget=GovCheckboxesInput(), coerce=int,
                                 validators=[InputRequired("Choose the panels this agreement covers")])
    starts = GovDateField("Start date", validators=[InputRequired("Enter the start date")])
    review = GovDateField("Review date (optional)", validators=[Optional()])
    expires = GovDateField("Expiry date", validators=[InputRequired("Enter the expiry date")])
    signatories = TextAreaField("Signatories (one a line)", widget=GovTextArea(), validators=[Length(max=5000)])
    status = RadioField("Status", choices=[("draft", "Draft: nothing is shared yet"),
                                           ("active", "Active: shares from the start date")],
                        default="draft", widget=GovRadioInput(), validators=[InputRequired("Choose a status")])
    submit = SubmitField("Save agreement", widget=GovSubmitInput())

    def grant_fields(self):
        return [f for name, f in self._fields.items() if name.startswith("grant_")]


def isa_form(agencies, panels, *, creating: bool, **kwargs) -> IsaForm:
    """An agreement form with one select per agency and category (the grant matrix)."""

    class _Form(IsaForm):
        pass

    for agency in agencies:
        for category in CATEGORIES:
            setattr(_Form, grant_field_name(agency.id, category), SelectField(
                f"{agency.code} {CATEGORY_LABELS[category]}", choices=ACCESS_CHOICES, default="",
                widget=GovSelect(), validators=[Optional()],
            ))
    if not creating:
        _Form.status = None
    form = _Form(**kwargs)
    form.panels.choices = [(p.id, f"{p.code} – {p.name}") for p in panels]
    return form


class StatusForm(FlaskForm):
    """Suspend, reactivate or end: buttons only; the action comes from the button pressed."""


class LogFilterForm(FlaskForm):
    """The access-log filters: a GET form (no CSRF; it changes nothing)."""

    class Meta:
        csrf = False

    email = StringField("User email", widget=GovTextInput(), validators=[Optional(), Length(max=254)])
    agency = SelectField("Agency", widget=GovSelect(), validators=[Optional()])
    action = SelectField("Action", widget=GovSelect(), validators=[Optional()])
    outcome = SelectField("Outcome", widget=GovSelect(), validators=[Optional()])
    panel = SelectField("Panel", widget=GovSelect(), validators=[Optional()])
    nominal_id = IntegerField("Nominal ID", widget=GovTextInput(),
                              validators=[Optional(), NumberRange(min=1, max=2**31 - 1,
                                                                  message="Enter a nominal ID, like 123")])
    date_from = GovDateField("From", validators=[Optional()])
    date_to = GovDateField("To", validators=[Optional()])
    submit = SubmitField("Apply filters", widget=GovSubmitInput())

    def set_choices(self, choices: dict[str, list[str]]) -> None:
        def opts(values, any_label, words=str):
            return [("", any_label)] + [(v, words(v)) for v in values]

        self.agency.choices = opts(choices["agencies"], "Any agency")
        self.action.choices = opts(choices["actions"], "Any action", label)
        self.outcome.choices = opts(choices["outcomes"], "Any outcome", label)
        self.panel.choices = opts(choices["panels"], "Any panel")


class NominalLookupForm(FlaskForm):
    class Meta:
        csrf = False

    nominal_id = IntegerField("Nominal ID", widget=GovTextInput(),
                              validators=[InputRequired("Enter a nominal ID"),
                                          NumberRange(min=1, max=2**31 - 1, message="Enter a nominal ID, like 123")])
    submit = SubmitField("Show who has seen this nominal", widget=GovSubmitInput())


class NominalSearchForm(FlaskForm):
    """"Who has seen" by name or identifier: posted (with CSRF), so no name reaches a URL or log."""

    q = StringField("Name or identifier", widget=GovTextInput(),
                    description="A full or partial name, or a PNC, CRO, NOMIS or CRN number",
                    validators=[DataRequired("Enter a name or an identifier"),
                                Length(max=200, message="Enter at most 200 characters")])
    search = SubmitField("Search the access log", widget=GovSubmitInput())
