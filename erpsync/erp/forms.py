from django import forms

from erpsync.projects.models import ProjectTemplate

NO_TEMPLATE = "none"


class ImportForm(forms.Form):
    """The template picker of a Ready-to-Import row: a company template, a Procore template, or none.

    A Procore template ("procore:<id>") is applied in Procore; the registry applies the company
    template of the same name, if there is one.
    """

    template = forms.CharField()

    def __init__(self, *args, company, procore_templates: list[dict] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.company = company
        self.procore_templates = {str(t["id"]): t["name"] for t in procore_templates}

    def clean_template(self):
        value = self.cleaned_data["template"]
        self.procore_template_id = None
        if value == NO_TEMPLATE:
            return None
        if value.startswith("procore:"):
            procore_id = value.removeprefix("procore:")
            if procore_id not in self.procore_templates:
                raise forms.ValidationError("That Procore project template is not in the company's Procore account.")
            self.procore_template_id = int(procore_id)
            return ProjectTemplate.objects.filter(company=self.company, name=self.procore_templates[procore_id]).first()
        template = ProjectTemplate.objects.filter(company=self.company, pk=value).first() if value.isdigit() else None
        if template is None:
            raise forms.ValidationError("That project template does not exist in this company.")
        return template
