"""The upload form: a file and the category it belongs to (CSRF-protected like every form)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from govuk_frontend_wtf.wtforms_widgets import GovFileInput, GovRadioInput, GovSubmitInput
from wtforms import RadioField, SubmitField
from wtforms.validators import InputRequired


class UploadForm(FlaskForm):
    file = FileField("Upload a document", widget=GovFileInput(),
                     validators=[FileRequired("Select a PDF, Word document (.docx), PNG or JPEG file")])
    category = RadioField("What kind of information does it hold?", widget=GovRadioInput(),
                          validators=[InputRequired("Choose what kind of information the document holds")])
    submit = SubmitField("Upload", widget=GovSubmitInput())
