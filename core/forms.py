"""Form pieces shared by every feature: the GOV.UK date field and category labels."""

from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovDateInput
from wtforms import DateField
from wtforms.utils import unset_value

from core.labels import label

DATE_FORMAT = "%d %m %Y"
# The ISA categories in words, from the one label table (core.labels).
CATEGORY_LABELS = {c: label(c, "category") for c in (
    "identity", "contact", "offending", "risk", "health", "substance_misuse", "resettlement", "intelligence")}


class GovDateField(DateField):
    """A GOV.UK day / month / year date. A post without the three inputs reads as blank
    (not a crash in the widget); an impossible date says which field is wrong."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("format", DATE_FORMAT)
        kwargs.setdefault("widget", GovDateInput())
        super().__init__(label, validators, **kwargs)

    def process(self, formdata, data=unset_value, extra_filters=None):
        super().process(formdata, data, extra_filters)
        if self.raw_data is not None and len(self.raw_data) != 3:
            self.raw_data = None if not self.raw_data else (list(self.raw_data) + ["", "", ""])[:3]

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(f"{self.label.text.removesuffix(' (optional)')} must be a real date") from exc
