"""The settings of each connector kind, validated in one place for the web page and the command."""

import ipaddress
import json
from urllib.parse import urlsplit

from django import forms

from erpsync.connectors import registry
from erpsync.connectors.cmic.client import MAX_PAGE
from erpsync.connectors.base import ConnectorError
from erpsync.connectors.cmic.mapping import mapping_problems
from erpsync.connectors.cmic.pages import json_loads
from erpsync.connectors.files.source import encoding_of
from erpsync.connectors.cmic.source import PARALLEL_REQUESTS

KEEP = "Stored; leave empty to keep it."


class JsonField(forms.CharField):
    def __init__(self, **kwargs):
        super().__init__(required=False, widget=forms.Textarea(attrs={"rows": 3}), **kwargs)

    def to_python(self, value):
        value = super().to_python(value).strip()
        if not value:
            return {}
        try:
            parsed = json_loads(value)
        except ValueError as exc:
            raise forms.ValidationError(f"This is not valid JSON ({exc}).") from None
        if not isinstance(parsed, dict) or not all(isinstance(v, dict) for v in parsed.values()):
            raise forms.ValidationError('Give an object per resource, e.g. {"jobs": {"name": "JobTitle"}}.')
        return parsed


class CompanyCodesField(forms.CharField):
    """CMiC company codes, comma-separated: only these companies' rows are staged."""

    def __init__(self, **kwargs):
        super().__init__(label="CMiC company codes", help_text="Comma-separated, e.g. DB01, DB02; only these companies' rows "
                         "are staged.", **kwargs)

    def to_python(self, value):
        codes = [c.strip() for c in super().to_python(value).split(",") if c.strip()]
        if not codes:
            raise forms.ValidationError("Name at least one CMiC company code.")
        bad = [c for c in codes if len(c) > 20 or not c.isprintable()]
        if bad:
            raise forms.ValidationError(f"A CMiC company code has at most 20 visible characters: {bad[0][:30]!r} is not one.")
        return codes


class ServiceUrlField(forms.URLField):
    """An address erpsync calls: no user or password in it (those are secrets), no link-local address (cloud metadata)."""

    def to_python(self, value):
        url = super().to_python(value)
        if not url:
            return url
        parts = urlsplit(url)
        if parts.username or parts.password:
            raise forms.ValidationError("Leave the user name and password out of the address; give them in their own fields, "
                                        "where they are kept encrypted.")
        try:
            address = ipaddress.ip_address(parts.hostname.strip("[]"))
        except ValueError:
            return url  # a host name
        if address.is_link_local or address.is_multicast or address.is_unspecified:
            raise forms.ValidationError("That address is not a server erpsync may call (it is link-local, such as a cloud "
                                        "metadata service).")
        return url


ATTRIBUTES_HELP = ('Attribute names of your tenant where they differ, e.g. {"jobs": {"status": "JobStatus"}}; '
                   'null for an optional attribute your tenant lacks, e.g. {"budget_lines": {"committed_cost": null}}')


class AttributesField(JsonField):
    def to_python(self, value):
        mapping = super().to_python(value)
        problems = mapping_problems(mapping)
        if problems:
            raise forms.ValidationError(" ".join(problems))
        return mapping


class FilesConnectionForm(forms.Form):
    name = forms.CharField(max_length=120)
    folder = forms.CharField(max_length=500, help_text="The folder holding jcjob, jcjobcostcodes, … as CSV or JSON: a folder "
                             "inside this company's export folder on the server (ERPSYNC_EXPORT_ROOT/<company>/).")
    company_codes = CompanyCodesField()
    encoding = forms.CharField(max_length=40, required=False, help_text="Empty: UTF-8, with or without a byte-order mark. "
                               "Name another (cp1252, latin-1, utf-16, …) if the ERP exports in it.")
    attributes = AttributesField(help_text=ATTRIBUTES_HELP + ". An export's column headers are CMiC attribute names.")

    secret_fields: tuple = ()

    def clean_encoding(self):
        try:
            encoding_of(self.cleaned_data["encoding"])
        except ConnectorError as exc:
            raise forms.ValidationError(exc.message) from None
        return self.cleaned_data["encoding"].strip()

    def settings(self) -> dict:
        return {k: self.cleaned_data[k] for k in ("folder", "company_codes", "encoding", "attributes")}


class CmicConnectionForm(forms.Form):
    name = forms.CharField(max_length=120)
    base_url = ServiceUrlField(label="Base URL", help_text="e.g. https://atlas-api.cmiccloud.com", assume_scheme="https")
    environment = forms.CharField(max_length=60, help_text="e.g. cmicprod or cmictest")
    company_codes = CompanyCodesField()
    auth = forms.ChoiceField(label="Authentication", choices=[("basic", "API user and password"), ("oauth", "OAuth 2 client credentials")])
    client_id = forms.CharField(label="CMiC client id", max_length=60, required=False, help_text="Basic: the part before || in CLIENTID||USERID")
    user_id = forms.CharField(label="API user", max_length=60, required=False)
    password = forms.CharField(widget=forms.PasswordInput(render_value=False), required=False)
    token_url = ServiceUrlField(label="Token URL", required=False, assume_scheme="https")
    oauth_client_id = forms.CharField(label="OAuth client id", max_length=200, required=False)
    client_secret = forms.CharField(label="OAuth client secret", widget=forms.PasswordInput(render_value=False), required=False)
    scope = forms.CharField(max_length=300, required=False)
    page_size = forms.IntegerField(min_value=1, max_value=MAX_PAGE, initial=500, help_text=f"Rows per request, at most {MAX_PAGE}.")
    timeout = forms.IntegerField(min_value=1, max_value=300, initial=30, help_text="Seconds to wait for one answer.")
    parallel_requests = forms.IntegerField(
        min_value=1, max_value=8, initial=PARALLEL_REQUESTS,
        help_text="How many resources a refresh reads at once, each over a connection of its own; "
                  "lower it if your CMiC tenant limits concurrent requests.")
    attributes = AttributesField(help_text=ATTRIBUTES_HELP)
    resources = JsonField(help_text='Container paths where they differ, e.g. {"jobs": {"path": "jc-rest-api/rest/2/jcjob"}}')

    secret_fields = ("password", "client_secret")

    def __init__(self, *args, stored_secrets: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.stored_secrets = stored_secrets or {}
        # Each authentication's own fields are shown only while it is chosen (the stylesheet hides the others).
        for name in ("client_id", "user_id", "password"):
            self.fields[name].shown_for = "auth-basic"
        for name in ("token_url", "oauth_client_id", "client_secret", "scope"):
            self.fields[name].shown_for = "auth-oauth"
        for name in self.secret_fields:
            if self.stored_secrets.get(name):
                self.fields[name].help_text = KEEP

    def clean(self):
        data = super().clean()
        secret = lambda name: data.get(name) or self.stored_secrets.get(name)  # noqa: E731
        if data.get("auth") == "basic":
            for name in ("client_id", "user_id"):
                if not data.get(name):
                    self.add_error(name, "Required for the API user and password.")
            if not secret("password"):
                self.add_error("password", "Required for the API user and password.")
        elif data.get("auth") == "oauth":
            for name in ("token_url", "oauth_client_id", "scope"):
                if not data.get(name):
                    self.add_error(name, "Required for OAuth 2 client credentials.")
            if not secret("client_secret"):
                self.add_error("client_secret", "Required for OAuth 2 client credentials.")
        return data

    def settings(self) -> dict:
        keys = ("base_url", "environment", "company_codes", "auth", "client_id", "user_id", "token_url", "oauth_client_id",
                "scope", "page_size", "timeout", "parallel_requests", "attributes", "resources")
        return {k: self.cleaned_data[k] for k in keys}


FORMS = {"cmic": CmicConnectionForm, "cmic_files": FilesConnectionForm}


def connection_form(kind: str, *args, **kwargs):
    if kind not in FORMS:
        raise ValueError(f"Unknown connector kind {kind!r}; known kinds: {', '.join(registry.SOURCES)}")
    form_class = FORMS[kind]
    if form_class is FilesConnectionForm:
        kwargs.pop("stored_secrets", None)
    return form_class(*args, **kwargs)


def secrets_from(form) -> dict:
    """The secrets typed into the form; an empty field keeps what is stored."""
    return {name: form.cleaned_data[name] for name in form.secret_fields if form.cleaned_data.get(name)}


def initial_from(connection) -> dict:
    initial = {"name": connection.name, **connection.settings}
    if isinstance(initial.get("company_codes"), list):
        initial["company_codes"] = ", ".join(initial["company_codes"])
    for key in ("attributes", "resources"):
        if isinstance(initial.get(key), dict):
            initial[key] = json.dumps(initial[key]) if initial[key] else ""
    return initial
