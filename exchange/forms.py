"""The import pages' forms: the upload, and the confirmation that writes the checked plan."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from govuk_frontend_wtf.wtforms_widgets import GovFileInput, GovSubmitInput
from wtforms import SubmitField


class ImportForm(FlaskForm):
    file = FileField("Upload a cohort list", widget=GovFileInput(),
                     validators=[FileRequired("Select a CSV or Excel (.xlsx) file")])
    submit = SubmitField("Upload and check", widget=GovSubmitInput())


class ConfirmForm(FlaskForm):
    submit = SubmitField("Import", widget=GovSubmitInput())
