from django.conf import settings
from django.db import models

from erpsync.companies.models import Company
from erpsync.connectors import registry
from erpsync.crypto import decrypt_json, encrypt_json
from erpsync.projects.models import Project, ProjectTemplate


class ErpConnection(models.Model):
    """Where a company's ERP data comes from. Secrets live only in `secrets_encrypted`."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="erp_connections")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=30, choices=list(registry.LABELS.items()))
    settings = models.JSONField(default=dict, blank=True)
    secrets_encrypted = models.TextField(blank=True, editable=False)
    last_test_at = models.DateTimeField(null=True, blank=True)
    last_test_ok = models.BooleanField(null=True, blank=True)
    last_test_report = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["company", "name"], name="connection_name_unique")]

    def __str__(self) -> str:
        return self.name

    @property
    def erp_name(self) -> str:
        return registry.ERP_NAMES.get(self.kind, self.kind)

    def get_secrets(self) -> dict:
        return decrypt_json(self.secrets_encrypted)

    def set_secrets(self, secrets: dict) -> None:
        self.secrets_encrypted = encrypt_json(secrets)

    def source(self):
        """The connection's Source; a files connection reads only inside its company's export folder."""
        settings = dict(self.settings)
        if self.kind == "cmic_files":
            from erpsync.erp.exports import company_export_folder, export_folder

            settings["folder"] = str(export_folder(self.company, settings.get("folder", "")))
            settings["confined_to"] = str(company_export_folder(self.company))
        return registry.source_class(self.kind)(**settings, **self.get_secrets())


class ProcoreEnvironment(models.TextChoices):
    PRODUCTION = "production", "Production"
    SANDBOX = "sandbox", "Developer sandbox"
    CUSTOM = "custom", "Custom URLs"


class ProcoreConnection(models.Model):
    """A company's Procore account: imported jobs are published there too."""

    company = models.OneToOneField(Company, on_delete=models.CASCADE, related_name="procore_connection")
    environment = models.CharField(max_length=20, choices=ProcoreEnvironment.choices, default=ProcoreEnvironment.PRODUCTION)
    base_url = models.URLField(blank=True)
    login_url = models.URLField(blank=True)
    procore_company_id = models.BigIntegerField()
    client_id = models.CharField(max_length=200)
    secrets_encrypted = models.TextField(blank=True, editable=False)
    templates = models.JSONField(default=list, blank=True)  # [{id, name}], cached for the template picker
    templates_fetched_at = models.DateTimeField(null=True, blank=True)
    last_test_at = models.DateTimeField(null=True, blank=True)
    last_test_ok = models.BooleanField(null=True, blank=True)
    last_test_message = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"Procore company {self.procore_company_id}"

    def set_secrets(self, secrets: dict) -> None:
        self.secrets_encrypted = encrypt_json(secrets)

    def client(self, **kwargs):
        from erpsync.connectors.procore.client import ProcoreClient

        return ProcoreClient(company_id=self.procore_company_id, client_id=self.client_id,
                             client_secret=decrypt_json(self.secrets_encrypted).get("client_secret", ""),
                             environment=self.environment, base_url=self.base_url, login_url=self.login_url, **kwargs)


class ErpSettings(models.Model):
    """A company's ERP Integrations settings."""

    company = models.OneToOneField(Company, on_delete=models.CASCADE, related_name="erp_settings")
    default_template = models.ForeignKey(ProjectTemplate, null=True, blank=True, on_delete=models.SET_NULL)
    # CMiC category code → cost type base type; codes not listed map to "other".
    base_type_mapping = models.JSONField(default=dict, blank=True)
    # After a refresh, new phases of synced jobs are added to their projects without asking.
    auto_add_cost_codes = models.BooleanField(default=False, db_default=False)

    class Meta:
        verbose_name_plural = "ERP settings"


class ErpWatermark(models.Model):
    """Up to when a connection's resource has been pulled, for incremental pulls."""

    connection = models.ForeignKey(ErpConnection, on_delete=models.CASCADE, related_name="watermarks")
    resource = models.CharField(max_length=40)
    value = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "resource"], name="watermark_unique")]


class StagedJobStatus(models.TextChoices):
    READY = "ready", "Ready to Import"
    SYNCED = "synced", "Synced"
    ARCHIVED = "archived", "Archived"


class PublishStatus(models.TextChoices):
    NONE = "", "Not published"
    PUBLISHING = "publishing", "Publishing"
    PUBLISHED = "published", "Published"
    FAILED = "failed", "Publish failed"
    INTERRUPTED = "interrupted", "Publish interrupted"


class StagedJob(models.Model):
    """An ERP job as last pulled, waiting to be imported, imported, or archived."""

    # No index of their own: the Jobs list's indexes start with the company, the unique key with the connection.
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="staged_jobs", db_index=False)
    connection = models.ForeignKey(ErpConnection, on_delete=models.CASCADE, related_name="staged_jobs", db_index=False)
    erp_company_code = models.CharField(max_length=20)
    job_code = models.CharField(max_length=60)
    controlling_code = models.CharField(max_length=60, blank=True)
    name = models.CharField(max_length=255, blank=True)
    erp_status = models.CharField(max_length=30, blank=True)
    address = models.CharField(max_length=255, blank=True)
    city = models.CharField(max_length=120, blank=True)
    state = models.CharField(max_length=60, blank=True)
    zip = models.CharField(max_length=30, blank=True)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    raw = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=StagedJobStatus.choices, default=StagedJobStatus.READY)
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.SET_NULL, related_name="erp_jobs")
    problems = models.JSONField(default=list, blank=True)
    cost_code_count = models.PositiveIntegerField(default=0)
    sub_job_count = models.PositiveIntegerField(default=0)
    first_pulled_at = models.DateTimeField(auto_now_add=True)
    pulled_at = models.DateTimeField()  # when a refresh last brought a change to it
    last_job_cost_sync_at = models.DateTimeField(null=True, blank=True)
    publish_status = models.CharField(max_length=12, choices=PublishStatus.choices, default=PublishStatus.NONE, blank=True)
    publish_step = models.CharField(max_length=60, blank=True)
    publish_error = models.TextField(blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    # A synced job: how many of its staged cost codes its project does not have yet (set by each refresh).
    new_cost_codes = models.PositiveIntegerField(default=0, db_default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "erp_company_code", "job_code"], name="staged_job_unique"
            )
        ]
        # One index per filter × sort of the Jobs list (control jobs of a company by status).
        indexes = [
            models.Index(fields=["company", "controlling_code", "status", "job_code"], name="staged_job_by_code"),
            models.Index(fields=["company", "controlling_code", "status", "name"], name="staged_job_by_name"),
            models.Index(fields=["company", "controlling_code", "status", "start_date"], name="staged_job_by_start"),
            models.Index(fields=["company", "controlling_code", "status", "end_date"], name="staged_job_by_end"),
            models.Index(fields=["company", "controlling_code", "status", "cost_code_count"], name="staged_job_by_codes"),
        ]

    def __str__(self) -> str:
        return f"{self.job_code} {self.name}"

    @property
    def badge(self) -> tuple[str, str]:
        """Where the job stands, for the eye: (style, words)."""
        if self.status == StagedJobStatus.READY:
            return ("blocked", "Blocked") if self.problems else ("ready", "Ready")
        if self.status == StagedJobStatus.ARCHIVED:
            return ("archived", "Archived")
        return {PublishStatus.PUBLISHING: ("running", "Publishing"), PublishStatus.FAILED: ("failed", "Publish failed"),
                PublishStatus.INTERRUPTED: ("interrupted", "Interrupted")}.get(self.publish_status, ("synced", "Synced"))

    @property
    def is_sub_job(self) -> bool:
        return bool(self.controlling_code)

    @property
    def can_be_linked(self) -> bool:
        """Ready to Import, and nothing blocks it but its number being taken (which linking solves)."""
        return (self.status == StagedJobStatus.READY and not self.is_sub_job
                and all(p.get("code") == "number_taken" for p in self.problems))

    @property
    def can_be_imported(self) -> bool:
        return self.status == StagedJobStatus.READY and not self.problems and not self.is_sub_job


class StagedJobStructure(models.Model):
    """A staged job's phases and job categories as the ERP last sent them: one document per job.

    Refreshes rewrite a job's structure as a whole and everything reads it a job at a time, so
    one row per job serves better than one per phase: the first refresh of a large ERP writes
    tens of thousands of rows rather than hundreds of thousands.
    """

    job = models.OneToOneField(StagedJob, primary_key=True, on_delete=models.CASCADE, related_name="structure")
    # [code, name, parent code, active] per phase, by code.
    cost_codes = models.JSONField(default=list)
    # [phase, category, active, original budget, approved changes, budget units, committed cost,
    # percent complete] per job category, by phase and category; amounts are exact decimal strings.
    budget_lines = models.JSONField(default=list)


class StagedCostType(models.Model):
    """A master category of the ERP company, as last pulled."""

    connection = models.ForeignKey(ErpConnection, on_delete=models.CASCADE, related_name="staged_cost_types")
    erp_company_code = models.CharField(max_length=20)
    code = models.CharField(max_length=30)
    name = models.CharField(max_length=255)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "erp_company_code", "code"], name="staged_cost_type_unique")
        ]


class SyncRunKind(models.TextChoices):
    REFRESH = "refresh", "Refresh"
    IMPORT = "import", "Import"
    JOB_COSTS = "job_costs", "Job-cost sync"
    PUBLISH = "publish", "Publish to Procore"
    LINK = "link", "Link"
    COST_CODES = "cost_codes", "Cost-code refresh"


class SyncRunOutcome(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    INTERRUPTED = "interrupted", "Interrupted"  # the process doing it stopped (see SyncRun.heartbeat_at)


class SyncRun(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="sync_runs")
    connection = models.ForeignKey(ErpConnection, null=True, on_delete=models.SET_NULL, related_name="sync_runs")
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.SET_NULL)
    kind = models.CharField(max_length=20, choices=SyncRunKind.choices)
    outcome = models.CharField(max_length=20, choices=SyncRunOutcome.choices, default=SyncRunOutcome.QUEUED)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    progress_label = models.CharField(max_length=120, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The process doing a running run renews this every few seconds; a run whose lease is older
    # than settings.RUN_LEASE_SECONDS has lost its process and is interrupted (see services/runs.py).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    task_id = models.CharField(max_length=64, blank=True)  # the background task doing it, if any
    worker = models.CharField(max_length=200, blank=True)  # "host:pid" of the process doing it
    job = models.ForeignKey("StagedJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")  # an import's or publish's

    class Meta:
        indexes = [models.Index(fields=["company", "-created_at"]), models.Index(fields=["outcome", "heartbeat_at"])]
        ordering = ["-created_at"]
        constraints = [
            # One refresh of a connection at a time, whoever starts it (the web, the command line, the schedule).
            models.UniqueConstraint(fields=["connection"], condition=models.Q(kind="refresh", outcome__in=["queued", "running"]),
                                    name="one_active_refresh_per_connection"),
        ]

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


class AuditEvent(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="audit_events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=60)
    object_repr = models.CharField(max_length=255)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["company", "-created_at"])]
        ordering = ["-created_at"]
