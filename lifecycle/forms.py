"""Forms of the lifecycle pages: the export purpose, rectification, marking an export destroyed."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovSelect, GovSubmitInput, GovTextArea, GovTextInput
from wtforms import RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from core.forms import GovDateField
from core.labels import label
from lifecycle.models import EXPORT_PURPOSES
from sharing.gateway import CONTACT_FIELDS, IDENTITY_FIELDS

EXPORT_FORMATS = (("csv", "CSV"), ("xlsx", "Excel (.xlsx)"), ("print", "A print view"))
RECTIFIABLE = tuple(f for f in (*IDENTITY_FIELDS, *CONTACT_FIELDS) if f not in ("aliases", "date_of_birth"))


class ExportForm(FlaskForm):
    fmt = RadioField("Format", widget=GovRadioInput(), choices=EXPORT_FORMATS,
                     validators=[InputRequired("Choose a format")])
    purpose = RadioField("Why are you exporting?", widget=GovRadioInput(),
                         choices=[(p, label(p)) for p in EXPORT_PURPOSES],
                         validators=[InputRequired("Choose why you are exporting")])
    note = TextAreaField("More about the purpose (optional, no personal data)", widget=GovTextArea(),
                         validators=[Optional(), Length(max=500)])
    destroy_by = GovDateField("Destroy every copy by", validators=[InputRequired("Enter the destroy-by date")])
    submit = SubmitField("Export", widget=GovSubmitInput())


class RectifyForm(FlaskForm):
    field = SelectField("Field to correct", widget=GovSelect(),
                        choices=[(f, f.replace("_", " ").capitalize()) for f in RECTIFIABLE])
    value = StringField("Correct value", widget=GovTextInput(),
                        validators=[InputRequired("Enter the correct value"), Length(max=200)])
    reason = TextAreaField("Reason for the correction", widget=GovTextArea(),
                           validators=[InputRequired("Give a reason for the correction"), Length(max=2000)])
    submit = SubmitField("Correct the record", widget=GovSubmitInput())


class DestroyedForm(FlaskForm):
    submit = SubmitField("I have destroyed every copy", widget=GovSubmitInput())
