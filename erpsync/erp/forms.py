from django import forms

from erpsync.projects.models import ProjectTemplate

NO_TEMPLATE = "none"


class ImportForm(forms.Form):
    """The template picker of a Ready-to-Import row: a company template, or none."""

    template = forms.CharField()

    def __init__(self, *args, company, **kwargs):
        super().__init__(*args, **kwargs)
        self.company = company

    def clean_template(self):
        value = self.cleaned_data["template"]
        if value == NO_TEMPLATE:
            return None
        template = ProjectTemplate.objects.filter(company=self.company, pk=value).first() if value.isdigit() else None
        if template is None:
            raise forms.ValidationError("That project template does not exist in this company.")
        return template
