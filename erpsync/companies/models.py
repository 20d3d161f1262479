from django.conf import settings
from django.db import models


class Company(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    project_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Most projects the company may have; empty for no limit."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "companies"

    def __str__(self) -> str:
        return self.name


class AccessLevel(models.TextChoices):
    NONE = "none", "None"
    READ_ONLY = "read_only", "Read-only"
    STANDARD = "standard", "Standard"
    ADMIN = "admin", "Admin"


class Membership(models.Model):
    """A user's place in a company, with the permission model of the reference product."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="memberships")
    erp_level = models.CharField(
        "ERP Integrations", max_length=12, choices=AccessLevel.choices, default=AccessLevel.NONE
    )
    directory_level = models.CharField(
        "Company Directory", max_length=12, choices=AccessLevel.choices, default=AccessLevel.NONE
    )
    can_create_project = models.BooleanField("Create New Project", default=False)
    can_push_to_accounting = models.BooleanField("Can Push to Accounting", default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "company"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.company}"
