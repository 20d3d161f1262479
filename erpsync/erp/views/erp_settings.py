from django import forms
from django.core.exceptions import ValidationError
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from erpsync.companies import permissions
from erpsync.erp.models import ErpConnection, ErpSettings, ProcoreConnection, ProcoreEnvironment, StagedCostType
from erpsync.erp.services import erp_connection_save, erp_connection_test, erp_settings_update
from erpsync.erp.services.settings import procore_connection_save, procore_connection_test
from erpsync.erp.connection_forms import ServiceUrlField, connection_form, initial_from, secrets_from
from erpsync.connectors import registry
from erpsync.erp.views.common import erp_page, require
from erpsync.errors import ApplicationError
from erpsync.projects.models import BaseType, CostType, ProjectTemplate
from erpsync.erp.services.importing import base_type_for

admin_only = require(permissions.can_administer_erp, permissions.ADMIN_REQUIREMENT)


class SettingsForm(forms.Form):
    default_template = forms.ModelChoiceField(queryset=ProjectTemplate.objects.none(), required=False, empty_label="Do not apply a template")
    auto_add_cost_codes = forms.BooleanField(required=False, label="Refresh the cost codes of synced projects with new ones after each refresh")

    def __init__(self, *args, company, categories: list[tuple[str, str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["default_template"].queryset = ProjectTemplate.objects.filter(company=company)
        self.categories = categories
        for code, name, current in categories:
            self.fields[f"base_{code}"] = forms.ChoiceField(choices=BaseType.choices, initial=current, label=f"{code} {name}")

    def mapping(self) -> dict[str, str]:
        return {code: self.cleaned_data[f"base_{code}"] for code, _, _ in self.categories}

    def base_type_fields(self):
        return [self[f"base_{code}"] for code, _, _ in self.categories]


def _categories(company, settings) -> list[tuple[str, str, str]]:
    mapping = settings.base_type_mapping if settings else {}
    names = dict(StagedCostType.objects.filter(connection__company=company).values_list("code", "name"))
    names.update(CostType.objects.filter(company=company).values_list("code", "name"))
    return [(code, name, base_type_for(code, name, mapping)) for code, name in sorted(names.items())]


@admin_only
def settings_page(request):
    company = request.membership.company
    settings = ErpSettings.objects.filter(company=company).select_related("default_template").first()
    categories = _categories(company, settings)
    if request.method == "POST":
        form = SettingsForm(request.POST, company=company, categories=categories)
        if form.is_valid():
            try:
                erp_settings_update(company=company, user=request.user, default_template=form.cleaned_data["default_template"],
                                    base_type_mapping=form.mapping(), auto_add_cost_codes=form.cleaned_data["auto_add_cost_codes"])
            except ApplicationError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, "The ERP settings were saved.")
                return redirect("erp:settings")
    else:
        form = SettingsForm(company=company, categories=categories,
                            initial={"default_template": settings.default_template if settings else None,
                                     "auto_add_cost_codes": settings.auto_add_cost_codes if settings else False})
    return erp_page(request, "erp/settings.html", "settings", {
        "form": form, "connections": company.erp_connections.order_by("name"), "company": company,
        "procore": ProcoreConnection.objects.filter(company=company).first(),
    })


@require_POST
@admin_only
def connection_test(request, pk):
    connection = get_object_or_404(ErpConnection, pk=pk, company=request.membership.company)
    connection = erp_connection_test(connection=connection, user=request.user)
    if connection.last_test_ok:
        messages.success(request, f"{connection.name}: the connection works.")
    else:
        messages.error(request, f"{connection.name}: the test found problems; see below.")
    return redirect("erp:settings")


@admin_only
def connection_edit(request, pk=None):
    company = request.membership.company
    connection = get_object_or_404(ErpConnection, pk=pk, company=company) if pk else None
    kind = connection.kind if connection else request.GET.get("kind", "cmic")
    if kind not in registry.SOURCES:
        kind = "cmic"
    stored = connection.get_secrets() if connection else {}
    if request.method == "POST":
        form = connection_form(kind, request.POST, stored_secrets=stored)
        if form.is_valid():
            try:
                connection = erp_connection_save(company=company, user=request.user, kind=kind, name=form.cleaned_data["name"],
                                                 settings=form.settings(), secrets=secrets_from(form), connection=connection)
            except ValidationError as exc:
                form.add_error(None, " ".join(exc.messages))
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"The connection {connection.name} was saved. Test it to see that it works.")
                return redirect("erp:settings")
    else:
        form = connection_form(kind, initial=initial_from(connection) if connection else None, stored_secrets=stored)
    return erp_page(request, "erp/connection_form.html", "settings", {
        "form": form, "connection": connection, "kind_label": registry.LABELS[kind], "kind": kind,
    })


class ProcoreForm(forms.Form):
    environment = forms.ChoiceField(choices=ProcoreEnvironment.choices)
    procore_company_id = forms.IntegerField(label="Procore company id", min_value=1, max_value=2**63 - 1)
    client_id = forms.CharField(label="Client id", max_length=200)
    client_secret = forms.CharField(label="Client secret", widget=forms.PasswordInput(render_value=False), required=False)
    base_url = ServiceUrlField(label="API URL (custom only)", required=False, assume_scheme="https")
    login_url = ServiceUrlField(label="Login URL (custom only)", required=False, assume_scheme="https")

    def __init__(self, *args, has_secret: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.has_secret = has_secret
        for name in ("base_url", "login_url"):  # shown only while Custom URLs is chosen (the stylesheet hides them)
            self.fields[name].shown_for = "environment-custom"
        if has_secret:
            self.fields["client_secret"].help_text = "Stored; leave empty to keep it."

    def clean(self):
        data = super().clean()
        if data.get("environment") == ProcoreEnvironment.CUSTOM:
            for name in ("base_url", "login_url"):
                if not data.get(name):
                    self.add_error(name, "Required for custom URLs.")
        if not self.has_secret and not data.get("client_secret"):
            self.add_error("client_secret", "Required.")
        return data


@admin_only
def procore_edit(request):
    company = request.membership.company
    connection = ProcoreConnection.objects.filter(company=company).first()
    if request.method == "POST":
        form = ProcoreForm(request.POST, has_secret=bool(connection and connection.secrets_encrypted))
        if form.is_valid():
            procore_connection_save(company=company, user=request.user, **form.cleaned_data)
            messages.success(request, "The Procore connection was saved. Test it to read your project templates.")
            return redirect("erp:settings")
    else:
        initial = {f: getattr(connection, f) for f in ("environment", "procore_company_id", "client_id", "base_url", "login_url")} if connection else {}
        form = ProcoreForm(initial=initial, has_secret=bool(connection and connection.secrets_encrypted))
    return erp_page(request, "erp/procore_form.html", "settings", {"form": form, "procore": connection})


@require_POST
@admin_only
def procore_test(request):
    connection = get_object_or_404(ProcoreConnection, company=request.membership.company)
    connection = procore_connection_test(connection=connection, user=request.user)
    (messages.success if connection.last_test_ok else messages.error)(request, f"Procore: {connection.last_test_message}")
    return redirect("erp:settings")
