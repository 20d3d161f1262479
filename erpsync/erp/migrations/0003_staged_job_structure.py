import django.db.models.deletion
from django.db import migrations, models


def rows_to_documents(apps, schema_editor):
    """Each staged job's phase and category rows become its structure document."""
    StagedJob = apps.get_model("erp", "StagedJob")
    StagedCostCode = apps.get_model("erp", "StagedCostCode")
    StagedBudgetLine = apps.get_model("erp", "StagedBudgetLine")
    Structure = apps.get_model("erp", "StagedJobStructure")
    for job_id in StagedJob.objects.values_list("pk", flat=True).iterator():
        codes = [[c, n, p, a] for c, n, p, a in StagedCostCode.objects.filter(job_id=job_id).order_by("code").values_list(
            "code", "name", "parent_code", "active")]
        lines = [
            [phase, category, active, *(str(amount) for amount in amounts)]
            for phase, category, active, *amounts in StagedBudgetLine.objects.filter(job_id=job_id).order_by(
                "phase_code", "category_code").values_list(
                "phase_code", "category_code", "active", "original_budget", "approved_changes", "budget_units",
                "committed_cost", "percent_complete")
        ]
        if codes or lines:
            Structure.objects.create(job_id=job_id, cost_codes=codes, budget_lines=lines)


def documents_to_rows(apps, schema_editor):
    StagedCostCode = apps.get_model("erp", "StagedCostCode")
    StagedBudgetLine = apps.get_model("erp", "StagedBudgetLine")
    for structure in apps.get_model("erp", "StagedJobStructure").objects.iterator():
        StagedCostCode.objects.bulk_create(
            StagedCostCode(job_id=structure.job_id, code=c, name=n, parent_code=p, active=a) for c, n, p, a in structure.cost_codes
        )
        StagedBudgetLine.objects.bulk_create(
            StagedBudgetLine(job_id=structure.job_id, phase_code=phase, category_code=category, active=active,
                             original_budget=budget, approved_changes=changes, budget_units=units, committed_cost=committed,
                             percent_complete=percent)
            for phase, category, active, budget, changes, units, committed, percent in structure.budget_lines
        )


class Migration(migrations.Migration):

    dependencies = [
        ('erp', '0002_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='StagedJobStructure',
            fields=[
                ('job', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='structure', serialize=False, to='erp.stagedjob')),
                ('cost_codes', models.JSONField(default=list)),
                ('budget_lines', models.JSONField(default=list)),
            ],
        ),
        migrations.RunPython(rows_to_documents, documents_to_rows),
        migrations.RemoveConstraint(
            model_name='stagedbudgetline',
            name='staged_budget_line_unique',
        ),
        migrations.RemoveConstraint(
            model_name='stagedcostcode',
            name='staged_cost_code_unique',
        ),
        migrations.RemoveField(
            model_name='stagedcostcode',
            name='job',
        ),
        migrations.DeleteModel(
            name='StagedBudgetLine',
        ),
        migrations.DeleteModel(
            name='StagedCostCode',
        ),
    ]
