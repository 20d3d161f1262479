from django.db import migrations


def per_company(apps, schema_editor):
    """The one refresh watermark of a connection becomes one per ERP company it names today."""
    ErpWatermark = apps.get_model("erp", "ErpWatermark")
    for mark in ErpWatermark.objects.filter(resource="refresh").select_related("connection"):
        for code in mark.connection.settings.get("company_codes") or []:
            ErpWatermark.objects.get_or_create(connection=mark.connection, resource=f"refresh:{code}", defaults={"value": mark.value})
        mark.delete()


class Migration(migrations.Migration):
    dependencies = [("erp", "0006_run_leases")]

    operations = [migrations.RunPython(per_company, migrations.RunPython.noop)]
