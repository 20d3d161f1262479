from django.urls import reverse

from erpsync.erp.models import AuditEvent, ErpSettings
from erpsync.projects.models import BaseType, ProjectTemplate

SETTINGS = reverse("erp:settings")


def test_only_erp_admins_see_and_change_settings(signed_in, pm, viewer, refreshed):
    for user in (pm, viewer):
        client = signed_in(user)
        assert "Settings</a>" not in client.get(reverse("erp:jobs")).content.decode()
        assert client.get(SETTINGS).status_code == 403
        assert client.post(SETTINGS, {"default_template": ""}).status_code == 403
    assert not ErpSettings.objects.exists()


def test_an_admin_sets_the_default_template_and_base_types(signed_in, admin, refreshed, company):
    template = ProjectTemplate.objects.create(company=company, name="Healthcare")
    client = signed_in(admin)
    page = client.get(SETTINGS).content.decode()
    assert "L Labor" in page and "No limit." in page
    response = client.post(SETTINGS, {"default_template": template.pk, "base_L": BaseType.LABOR, "base_M": BaseType.MATERIALS,
                                      "base_S": BaseType.PROFESSIONAL_SERVICES})
    assert response.status_code == 302
    settings = ErpSettings.objects.get(company=company)
    assert settings.default_template == template and settings.base_type_mapping["S"] == BaseType.PROFESSIONAL_SERVICES
    assert AuditEvent.objects.filter(action="erp_settings.changed", actor=admin).exists()
    jobs = client.get(reverse("erp:jobs")).content.decode()
    assert f'<option value="{template.pk}" selected>Healthcare (default)</option>' in jobs


def test_nonsense_base_types_are_refused_with_the_field_named(signed_in, admin, refreshed):
    response = signed_in(admin).post(SETTINGS, {"default_template": "", "base_L": "gold", "base_M": "materials", "base_S": "other"})
    assert response.status_code == 200 and "Select a valid choice. gold is not one of the available choices." in response.content.decode()
    assert not ErpSettings.objects.exists()


def test_test_connection_reports_each_resource(signed_in, admin, connection, export):
    (export.folder / "jcjobcostcodes.csv").unlink()
    client = signed_in(admin)
    client.post(reverse("erp:connection_test", args=[connection.pk]))
    body = client.get(SETTINGS).content.decode()
    assert "Problems" in body and "jcjob.csv: 1 rows." in body and "has no jcjobcostcodes.csv or jcjobcostcodes.json" in body
