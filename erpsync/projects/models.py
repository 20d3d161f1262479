from django.conf import settings
from django.db import models
from django.db.models import Q

from erpsync.companies.models import Company
from erpsync.projects.amounts import MONEY, PERCENT, QUANTITY


class ProjectStage(models.TextChoices):
    BIDDING = "bidding", "Bidding"
    PRE_CONSTRUCTION = "pre_construction", "Pre-construction"
    COURSE_OF_CONSTRUCTION = "course_of_construction", "Course of construction"
    POST_CONSTRUCTION = "post_construction", "Post-construction"
    WARRANTY = "warranty", "Warranty"


class ProjectTemplate(models.Model):
    """The defaults a new project takes."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="project_templates")
    name = models.CharField(max_length=120)
    stage = models.CharField(max_length=30, choices=ProjectStage.choices, default=ProjectStage.PRE_CONSTRUCTION)
    project_type = models.CharField(max_length=80, blank=True)
    office = models.CharField(max_length=80, blank=True)
    time_zone = models.CharField(max_length=64, default="America/New_York")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["company", "name"], name="template_name_unique")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TemplateTeamMember(models.Model):
    template = models.ForeignKey(ProjectTemplate, on_delete=models.CASCADE, related_name="team")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    role = models.CharField(max_length=80)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["template", "user", "role"], name="template_member_unique")]


class Project(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="projects")
    project_number = models.CharField(max_length=30)
    name = models.CharField(max_length=120)
    address = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=80, blank=True)
    state = models.CharField(max_length=40, blank=True)
    zip = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True, default="US")
    start_date = models.DateField(null=True, blank=True)
    completion_date = models.DateField(null=True, blank=True)
    stage = models.CharField(max_length=30, choices=ProjectStage.choices, default=ProjectStage.PRE_CONSTRUCTION)
    project_type = models.CharField(max_length=80, blank=True)
    office = models.CharField(max_length=80, blank=True)
    time_zone = models.CharField(max_length=64, default="America/New_York")
    template = models.ForeignKey(ProjectTemplate, null=True, blank=True, on_delete=models.SET_NULL)
    erp_kind = models.CharField(max_length=20, blank=True)
    erp_company_code = models.CharField(max_length=20, blank=True)
    erp_job_code = models.CharField(max_length=30, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    procore_id = models.BigIntegerField(null=True, blank=True)
    procore_template_id = models.BigIntegerField(null=True, blank=True)  # the Procore template picked at import
    # Linked to a Procore project that existed before (not created by us): its cost codes are matched by code.
    procore_adopted = models.BooleanField(default=False, db_default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company", "project_number"], name="project_number_unique"),
            # One project per ERP job, however many imports race.
            models.UniqueConstraint(
                fields=["company", "erp_kind", "erp_company_code", "erp_job_code"],
                condition=~Q(erp_job_code=""),
                name="project_erp_job_unique",
            ),
        ]
        indexes = [models.Index(fields=["company", "name"])]
        ordering = ["project_number"]

    def __str__(self) -> str:
        return f"{self.project_number} {self.name}"

    @property
    def is_linked_to_erp(self) -> bool:
        return bool(self.erp_job_code)


class ProjectTeamMember(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="team")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    role = models.CharField(max_length=80)


class SubJob(models.Model):
    """An ERP job under the project's controlling job; its cost codes stay apart."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="sub_jobs")
    code = models.CharField(max_length=30)
    name = models.CharField(max_length=120)
    procore_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "code"], name="sub_job_unique")]
        ordering = ["code"]


class BaseType(models.TextChoices):
    LABOR = "labor", "Labor"
    MATERIALS = "materials", "Materials"
    EQUIPMENT = "equipment", "Equipment"
    COMMITMENT = "commitment", "Commitment"
    PROFESSIONAL_SERVICES = "professional_services", "Professional services"
    OTHER = "other", "Other"


class CostType(models.Model):
    """A company cost type (CMiC category)."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="cost_types")
    code = models.CharField(max_length=16)
    name = models.CharField(max_length=120)
    base_type = models.CharField(max_length=30, choices=BaseType.choices, default=BaseType.OTHER)
    procore_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["company", "code"], name="cost_type_code_unique")]
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class CostCode(models.Model):
    """A project cost code (CMiC phase); parents are division headings."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="cost_codes")
    sub_job = models.ForeignKey(SubJob, null=True, blank=True, on_delete=models.CASCADE, related_name="cost_codes")
    code = models.CharField(max_length=16)
    description = models.CharField(max_length=120, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    active = models.BooleanField(default=True)
    procore_id = models.BigIntegerField(null=True, blank=True)
    # The ERP's phase: kept in step with the ERP (renamed, made inactive) and published to Procore.
    # A code typed into the project by hand is not, and stays as it is.
    from_erp = models.BooleanField(default=False, db_default=False)
    # Its name changed since it reached Procore: the next publish sends it again.
    procore_outdated = models.BooleanField(default=False, db_default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "code"], condition=Q(sub_job__isnull=True), name="cost_code_unique"
            ),
            models.UniqueConstraint(
                fields=["project", "sub_job", "code"],
                condition=Q(sub_job__isnull=False),
                name="sub_job_cost_code_unique",
            ),
        ]
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class BudgetLine(models.Model):
    """A cost code × cost type pair on a project (CMiC's job category)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="budget_lines")
    cost_code = models.ForeignKey(CostCode, on_delete=models.CASCADE, related_name="budget_lines")
    cost_type = models.ForeignKey(CostType, on_delete=models.PROTECT, related_name="budget_lines")
    # The cost type is assigned to the cost code in Procore (Procore keys an assignment by the pair;
    # it may or may not give it an id of its own, kept in procore_id when it does).
    assigned_in_procore = models.BooleanField(default=False, db_default=False)  # bulk inserts leave it to the database
    procore_id = models.BigIntegerField(null=True, blank=True)
    # The ERP's job category: its job cost follows the ERP. One typed in by hand keeps its own figures.
    from_erp = models.BooleanField(default=False, db_default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cost_code", "cost_type"], name="budget_line_unique")]


class JobCost(models.Model):
    budget_line = models.OneToOneField(BudgetLine, on_delete=models.CASCADE, related_name="job_cost")
    original_budget = models.DecimalField(**MONEY)
    approved_changes = models.DecimalField(**MONEY)
    revised_budget = models.DecimalField(**MONEY)
    committed_cost = models.DecimalField(**MONEY)
    job_to_date_cost = models.DecimalField(**MONEY)
    job_to_date_units = models.DecimalField(**QUANTITY)
    month_to_date_cost = models.DecimalField(**MONEY)
    percent_complete = models.DecimalField(**PERCENT)
    as_of = models.DateTimeField()
    pushed_at = models.DateTimeField(null=True, blank=True)  # when these figures last reached Procore


class CostTransaction(models.Model):
    """Posted job-cost detail: the job's direct costs."""

    budget_line = models.ForeignKey(BudgetLine, on_delete=models.CASCADE, related_name="transactions")
    erp_key = models.CharField(max_length=80)
    date = models.DateField()
    amount = models.DecimalField(**MONEY)
    units = models.DecimalField(**QUANTITY)
    source = models.CharField(max_length=20, blank=True)
    reference = models.CharField(max_length=80, blank=True)
    # Posted in the ERP and read from it: the job-to-date figures of a line that follows the ERP are summed from these only.
    from_erp = models.BooleanField(default=False, db_default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["budget_line", "erp_key"], name="cost_transaction_unique")]
