"""The search form (POSTed with a CSRF token, so the term never appears in a URL)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput, GovTextInput
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length


class PeopleSearchForm(FlaskForm):
    q = StringField("Name, alias, PNC ID, CRO, NOMIS number or CRN", widget=GovTextInput(),
                    filters=[lambda s: s.strip() if isinstance(s, str) else s],
                    validators=[DataRequired("Enter a name, an alias or an identifier to search for"),
                                Length(min=2, max=200, message="Enter between 2 and 200 characters")])
    submit = SubmitField("Search", widget=GovSubmitInput())
