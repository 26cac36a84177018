"""Forms for meetings, agendas and outcomes (GOV.UK widgets via govuk-frontend-wtf)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxInput,
    GovDateInput,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import BooleanField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, Regexp, ValidationError

from core.forms import DATE_FORMAT, GovDateField
from core.labels import label
from panels.models import ATTENDANCE

ATTENDANCE_LABELS = {a: label(a) for a in ("present", "by_report", "apologies", "absent")}  # from core.labels


class MoveMeetingForm(FlaskForm):
    date = GovDateField("New date", format=DATE_FORMAT, widget=GovDateInput(),
                     validators=[InputRequired("Enter the new date as day, month and year")])
    time = StringField("Time", widget=GovTextInput(), description="24-hour clock, for example 14:30",
                       validators=[Optional(), Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", message="Enter a time like 14:30")])
    reason = TextAreaField("Reason for moving the meeting", widget=GovTextArea(),
                           validators=[InputRequired("Enter the reason for moving the meeting"), Length(max=500)])
    submit = SubmitField("Move meeting", widget=GovSubmitInput())


class CancelMeetingForm(FlaskForm):
    reason = TextAreaField("Reason for cancelling the meeting", widget=GovTextArea(),
                           validators=[InputRequired("Enter the reason for cancelling the meeting"), Length(max=500)])
    submit = SubmitField("Cancel meeting", widget=GovSubmitInput())


class AddItemForm(FlaskForm):
    case_id = SelectField("Add a case to the agenda", coerce=int, widget=GovSelect(),
                          validators=[InputRequired("Choose a case to add")])
    submit = SubmitField("Add to agenda", widget=GovSubmitInput())


class OutcomeForm(FlaskForm):
    rag = RadioField("RAG decision", widget=GovRadioInput(), validators=[Optional()],
                     choices=[("red", "Red"), ("amber", "Amber"), ("green", "Green")])
    rationale = TextAreaField("Rationale for the decision", widget=GovTextArea(), validators=[Length(max=5000)])
    next_review = GovDateField("Next review", format=DATE_FORMAT, widget=GovDateInput(), validators=[Optional()],
                            description="Leave blank to use the panel's review interval")
    disclosure_considered = RadioField("Was disclosure considered?", widget=GovRadioInput(), validators=[Optional()],
                                       choices=[("yes", "Yes"), ("no", "No")])
    disclosure_decision = TextAreaField("Disclosure decision", widget=GovTextArea(), validators=[Length(max=2000)])
    disclosure_reason = TextAreaField("Reason for the disclosure decision", widget=GovTextArea(),
                                      validators=[Length(max=2000)])
    submit = SubmitField("Save outcome", widget=GovSubmitInput())

    def validate_rationale(self, field):
        if self.rag.data and not (field.data or "").strip():
            raise ValidationError("Give the rationale for the RAG decision")

    def validate_disclosure_decision(self, field):
        if self.disclosure_considered.data == "yes" and not (field.data or "").strip():
            raise ValidationError("Enter the disclosure decision")


class ActionForm(FlaskForm):
    description = TextAreaField("Action", widget=GovTextArea(),
                                validators=[InputRequired("Describe the action"), Length(max=2000)])
    owner_agency_id = SelectField("Owner agency", coerce=int, widget=GovSelect(), validators=[Optional()])
    owner_name = StringField("Owner (person)", widget=GovTextInput(), validators=[Optional(), Length(max=200)])
    due = GovDateField("Due date", format=DATE_FORMAT, widget=GovDateInput(),
                    validators=[InputRequired("Enter the date the action is due")])
    confirm_past = BooleanField("The due date is in the past, and that is right", widget=GovCheckboxInput(),
                                validators=[Optional()])
    submit = SubmitField("Add action", widget=GovSubmitInput())


class MinutesForm(FlaskForm):
    minutes = TextAreaField("Minutes", widget=GovTextArea(), validators=[Length(max=100_000)])
    submit = SubmitField("Save minutes", widget=GovSubmitInput())


class SummaryForm(FlaskForm):
    summary = TextAreaField("Executive summary", widget=GovTextArea(), validators=[
        InputRequired("Enter the executive summary"),
        Length(max=5000, message="Executive summary must be 5,000 characters or fewer")])
    submit = SubmitField("Save executive summary", widget=GovSubmitInput())


def attendance_form(agencies, current: dict[int, str], formdata=None):
    """A form with one radio group per agency taking part (built for this meeting)."""

    class AttendanceForm(FlaskForm):
        submit = SubmitField("Save attendance", widget=GovSubmitInput())

    choices = [(value, ATTENDANCE_LABELS[value]) for value in ATTENDANCE]
    for agency in agencies:
        setattr(AttendanceForm, f"agency_{agency.id}",
                RadioField(agency.name, choices=choices, widget=GovRadioInput(), validators=[Optional()],
                           default=current.get(agency.id)))
    form = AttendanceForm(formdata=formdata) if formdata is not None else AttendanceForm()
    form.agency_fields = [(agency, form[f"agency_{agency.id}"]) for agency in agencies]
    return form


class ReopenForm(FlaskForm):
    reason = TextAreaField("Reason for reopening the meeting", widget=GovTextArea(),
                           validators=[InputRequired("Enter the reason for reopening the meeting"), Length(max=500)])
    submit = SubmitField("Reopen meeting", widget=GovSubmitInput())


ACTION_STATUS_CHOICES = [("done", "Done"), ("in_progress", "In progress"),
                         ("could_not", "Could not be done (say why)"), ("not_done", "Not done")]


class ActionStatusForm(FlaskForm):
    status = RadioField("How is the action going?", choices=ACTION_STATUS_CHOICES, widget=GovRadioInput(),
                        validators=[InputRequired("Choose the action's status")])
    note = TextAreaField("Note", widget=GovTextArea(), validators=[Length(max=2000)],
                         description="Required when it could not be done: say why. Do not name anyone else.")
    submit = SubmitField("Save status", widget=GovSubmitInput())

    def validate_note(self, field):
        if self.status.data == "could_not" and not (field.data or "").strip():
            raise ValidationError("Say why the action could not be done")


class ReferralDecisionForm(FlaskForm):
    decision = RadioField("Decision", choices=[("accept", "Accept: the case joins the panel's cohort"),
                                               ("reject", "Reject: the case is closed with the reason"),
                                               ("defer", "Defer: decide at a later meeting")],
                          widget=GovRadioInput(), validators=[InputRequired("Choose accept, reject or defer")])
    reason = TextAreaField("Reason", widget=GovTextArea(),
                           validators=[InputRequired("Give the reason for the decision"), Length(max=2000)])
    submit = SubmitField("Record decision", widget=GovSubmitInput())


def referral_form(criteria: list[dict]) -> FlaskForm:
    """The referral form for one panel: who, why, and that panel's criteria (fields c_<name>)."""

    class ReferralForm(FlaskForm):
        given_name = StringField("Given name", widget=GovTextInput(), validators=[Length(max=200)])
        family_name = StringField("Family name", widget=GovTextInput(),
                                  validators=[InputRequired("Enter the person's family name"), Length(max=200)])
        date_of_birth = GovDateField("Date of birth", format=DATE_FORMAT, widget=GovDateInput(),
                                     validators=[Optional()])
        pnc = StringField("PNC number", widget=GovTextInput(), validators=[Optional(), Length(max=40)])
        reason = TextAreaField("Why are you referring them?", widget=GovTextArea(),
                               validators=[InputRequired("Say why you are referring them"), Length(max=2000)])
        submit = SubmitField("Send referral", widget=GovSubmitInput())

    for c in criteria:
        label, required = c.get("label") or c["name"].replace("_", " ").capitalize(), c.get("required")
        kind = c.get("type", "bool")
        checks = [InputRequired(f"Answer: {label}")] if (required if required is not None else kind != "bool") \
            else [Optional()]
        if kind == "bool":
            field = RadioField(label, choices=[("yes", "Yes"), ("no", "No")], widget=GovRadioInput(),
                               validators=checks)
        elif kind == "choice":
            field = RadioField(label, choices=[(str(x), str(x)) for x in c.get("choices", [])],
                               widget=GovRadioInput(), validators=checks)
        elif kind == "int":
            field = StringField(label, widget=GovTextInput(), validators=[*checks, Regexp(
                r"^\d{1,4}$", message=f"{label}: a whole number")], description=c.get("hint", ""))
        else:
            field = TextAreaField(label, widget=GovTextArea(), validators=[*checks, Length(max=2000)])
        setattr(ReferralForm, f"c_{c['name']}", field)
    return ReferralForm()


class InclusionForm(FlaskForm):
    decision = RadioField("Does this person still meet the panel's criteria?",
                          choices=[("keep", "Yes: they stay on the panel"), ("remove", "No: remove them")],
                          widget=GovRadioInput(), validators=[InputRequired("Choose whether they stay or are removed")])
    reason = TextAreaField("Reason", widget=GovTextArea(),
                           validators=[InputRequired("Give the reason for the decision"), Length(max=2000)])
    submit = SubmitField("Record inclusion decision", widget=GovSubmitInput())


class AttendeeForm(FlaskForm):
    agency_id = SelectField("Agency", coerce=int, widget=GovSelect(),
                            validators=[InputRequired("Choose the attendee's agency")])
    name = StringField("Name", widget=GovTextInput(), validators=[InputRequired("Enter the attendee's name"),
                                                                  Length(max=200)])
    role = StringField("Role", widget=GovTextInput(), validators=[Optional(), Length(max=200)])
    acknowledged = BooleanField(
        "They have read and acknowledged the confidentiality statement", widget=GovCheckboxInput(),
        validators=[InputRequired("The attendee must acknowledge the confidentiality statement")])
    submit = SubmitField("Add attendee", widget=GovSubmitInput())
