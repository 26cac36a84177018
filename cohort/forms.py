"""Forms of the cohort pages. Every form that changes a case carries the case version it was
drawn from (and when), so a stale submission becomes a conflict page, not a lost update."""

from __future__ import annotations

import contextlib

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import (
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import HiddenInput

from cohort.models import COHORT_TYPES, PATHWAYS, RISK_LEVELS
from cohort.services import ENGAGEMENT_KINDS, NEED_LEVELS
from core.forms import CATEGORY_LABELS, DATE_FORMAT, GovDateField  # noqa: F401
from core.labels import label

# Words from the one label table (core.labels).
ENGAGEMENT_LABELS = {k: label(k, "engagement") for k in ENGAGEMENT_KINDS}
NEED_LABELS = {k: label(k) for k in ("need", "no_need", "met")}


class VersionedForm(FlaskForm):
    version = IntegerField(widget=HiddenInput(), validators=[InputRequired("Reload the page and try again")])
    seen = HiddenField()


class RagForm(VersionedForm):
    rag = RadioField(
        "RAG status", choices=[("red", "Red"), ("amber", "Amber"), ("green", "Green")], widget=GovRadioInput(),
        validators=[InputRequired("Choose red, amber or green")],
    )
    rationale = TextAreaField(
        "Rationale", widget=GovTextArea(),
        validators=[InputRequired("Give a rationale for the RAG change"),
                    Length(max=5000, message="Rationale must be 5,000 characters or fewer")],
    )
    submit = SubmitField("Change RAG", widget=GovSubmitInput())


class EngagementForm(VersionedForm):
    on = GovDateField("Date of the engagement", validators=[InputRequired("Enter the date of the engagement")])
    kind = RadioField("Kind of engagement", choices=list(ENGAGEMENT_LABELS.items()), widget=GovRadioInput(),
                      validators=[InputRequired("Choose what kind of engagement it was")])
    note = TextAreaField("Note (optional)", widget=GovTextArea(),
                         validators=[Optional(), Length(max=5000, message="Note must be 5,000 characters or fewer")])
    submit = SubmitField("Add engagement", widget=GovSubmitInput())


class NeedForm(VersionedForm):
    level = RadioField("Need", choices=[(k, NEED_LABELS[k]) for k in NEED_LEVELS], widget=GovRadioInput(),
                       validators=[InputRequired("Choose whether there is a need")])
    note = TextAreaField("Note (optional)", widget=GovTextArea(),
                         validators=[Optional(), Length(max=5000, message="Note must be 5,000 characters or fewer")])
    submit = SubmitField("Save need", widget=GovSubmitInput())


class ActionForm(VersionedForm):
    description = TextAreaField(
        "What needs to be done", widget=GovTextArea(),
        validators=[InputRequired("Enter what needs to be done"),
                    Length(max=5000, message="Description must be 5,000 characters or fewer")],
    )
    owner_agency_id = SelectField("Owner agency", coerce=int, widget=GovSelect(),
                                  validators=[InputRequired("Choose the agency that owns the action")])
    owner_name = StringField("Owner's name (optional)", widget=GovTextInput(),
                             validators=[Optional(), Length(max=200)])
    due = GovDateField("Due date (optional)", validators=[Optional()])
    submit = SubmitField("Add action", widget=GovSubmitInput())


class NoteForm(VersionedForm):
    category = RadioField("What kind of information is this?", widget=GovRadioInput(),
                          validators=[InputRequired("Choose what kind of information the note holds")])
    body = TextAreaField("Note", widget=GovTextArea(),
                         validators=[InputRequired("Enter the note"),
                                     Length(max=5000, message="Note must be 5,000 characters or fewer")])
    submit = SubmitField("Add note", widget=GovSubmitInput())


class ExitForm(VersionedForm):
    reason = TextAreaField("Reason for exit", widget=GovTextArea(),
                           validators=[InputRequired("Give a reason for the exit"), Length(max=2000)])
    exited_on = GovDateField("Exit date (leave blank for today)", validators=[Optional()])
    submit = SubmitField("Exit from the panel", widget=GovSubmitInput())


class RereferForm(VersionedForm):
    submit = SubmitField("Re-refer to this panel", widget=GovSubmitInput())


def _choices(values, blank="Not set"):
    return [("", blank)] + [(str(v), str(v).capitalize()) for v in values]


class CaseDetailsForm(VersionedForm):
    """Fields a user may not write on the panel are removed before the form is shown."""

    status = SelectField("Status", choices=[("referred", "Referred"), ("active", "Active"), ("paused", "Paused")],
                         widget=GovSelect())
    lead_agency_id = SelectField("Lead agency", widget=GovSelect())
    lead_officer = StringField("Lead officer", widget=GovTextInput(), validators=[Optional(), Length(max=200)])
    order_end_date = GovDateField("Order or licence end date", validators=[Optional()])
    cohort_type = SelectField("IOM cohort", choices=_choices(COHORT_TYPES), widget=GovSelect())
    mappa_category = SelectField("MAPPA category", choices=_choices((1, 2, 3, 4)), widget=GovSelect())
    risk_level = SelectField("Risk of serious harm", choices=_choices(RISK_LEVELS), widget=GovSelect())
    mappa_level = SelectField("MAPPA level", choices=_choices((1, 2, 3)), widget=GovSelect())
    next_review = GovDateField("Next review", validators=[Optional()])
    accommodation = StringField("Accommodation", widget=GovTextInput(), validators=[Optional(), Length(max=500)])
    employment = StringField("Employment", widget=GovTextInput(), validators=[Optional(), Length(max=500)])
    submit = SubmitField("Save changes", widget=GovSubmitInput())


class TrackerColumnsForm(FlaskForm):
    """Only the CSRF token: the chosen columns are checkboxes drawn from what the viewer may read."""


class ReferSearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search changes nothing

    q = StringField("Name, PNC ID, CRO, NOMIS or CRN", widget=GovTextInput(),
                    validators=[InputRequired("Enter a name or an identifier to search for"), Length(max=200)])


class ReferExistingForm(FlaskForm):
    nominal_id = IntegerField(widget=HiddenInput(), validators=[InputRequired(), NumberRange(min=1, max=2**31 - 1)])
    ref = StringField("Your reference for this case (optional)", widget=GovTextInput(),
                      validators=[Optional(), Length(max=64)])
    submit = SubmitField("Refer this person", widget=GovSubmitInput())


class ReferNewForm(FlaskForm):
    given_name = StringField("Given name", widget=GovTextInput(),
                             validators=[InputRequired("Enter the given name"), Length(max=200)])
    family_name = StringField("Family name", widget=GovTextInput(),
                              validators=[InputRequired("Enter the family name"), Length(max=200)])
    date_of_birth = GovDateField("Date of birth (optional)", validators=[Optional()])
    gender = StringField("Gender (optional)", widget=GovTextInput(), validators=[Optional(), Length(max=50)])
    pnc = StringField("PNC ID (optional)", widget=GovTextInput(), validators=[Optional(), Length(max=32)])
    cro = StringField("CRO number (optional)", widget=GovTextInput(), validators=[Optional(), Length(max=32)])
    nomis = StringField("NOMIS number (optional)", widget=GovTextInput(), validators=[Optional(), Length(max=32)])
    crn = StringField("nDelius CRN (optional)", widget=GovTextInput(), validators=[Optional(), Length(max=32)])
    address = TextAreaField("Address (optional)", widget=GovTextArea(), validators=[Optional(), Length(max=500)])
    postcode = StringField("Postcode (optional)", widget=GovTextInput(), validators=[Optional(), Length(max=16)])
    ref = StringField("Your reference for this case (optional)", widget=GovTextInput(),
                      validators=[Optional(), Length(max=64)])
    lead_agency_id = SelectField("Lead agency", widget=GovSelect())
    lead_officer = StringField("Lead officer (optional)", widget=GovTextInput(),
                               validators=[Optional(), Length(max=200)])
    submit = SubmitField("Create and refer", widget=GovSubmitInput())

    def identity(self) -> dict:
        """The identity (and contact, when offered) to create, identifiers in canonical form."""
        from cohort import identifiers

        out: dict = {}
        for name in ("given_name", "family_name", "gender", "address", "postcode"):
            field = getattr(self, name, None)
            if field is not None and (field.data or "").strip():
                out[name] = field.data.strip()
        if self.date_of_birth.data:
            out["date_of_birth"] = self.date_of_birth.data
        for kind in ("pnc", "cro", "nomis", "crn"):
            value = (getattr(self, kind).data or "").strip()
            if value:
                out[kind] = getattr(identifiers, f"normalise_{kind}")(value)
        if out.get("postcode"):
            with contextlib.suppress(ValueError):  # not a UK postcode: keep what was typed
                out["postcode"] = identifiers.normalise_postcode(out["postcode"])
        return out

    def validate_pnc(self, field):
        _identifier("pnc", field)

    def validate_cro(self, field):
        _identifier("cro", field)

    def validate_nomis(self, field):
        _identifier("nomis", field)

    def validate_crn(self, field):
        _identifier("crn", field)


def _identifier(kind: str, field) -> None:
    if not field.data:
        return
    from cohort import identifiers

    problem = getattr(identifiers, f"validate_{kind}")(field.data)
    if problem:
        raise ValidationError(f"{field.label.text.replace(' (optional)', '')}: {problem}")


def pathway_label(pathway: str) -> str:
    return PATHWAYS[pathway][0]
