"""Who may do what in a company; the one place these rules are written."""

from erpsync.companies.models import AccessLevel, Membership

_RANK = {AccessLevel.NONE: 0, AccessLevel.READ_ONLY: 1, AccessLevel.STANDARD: 2, AccessLevel.ADMIN: 3}


def _at_least(level: str, minimum: AccessLevel) -> bool:
    return _RANK.get(AccessLevel(level), 0) >= _RANK[minimum]


def can_view_erp(m: Membership | None) -> bool:
    return m is not None and _at_least(m.erp_level, AccessLevel.READ_ONLY)


def can_manage_erp_jobs(m: Membership | None) -> bool:
    """Archive, restore and unlink jobs."""
    return m is not None and _at_least(m.erp_level, AccessLevel.STANDARD)


def can_import_erp_job(m: Membership | None) -> bool:
    return can_manage_erp_jobs(m) and (
        m.can_create_project or _at_least(m.directory_level, AccessLevel.ADMIN)
    )


def can_refresh_erp(m: Membership | None) -> bool:
    """Refresh and Sync buttons belong to accounting approvers."""
    return can_manage_erp_jobs(m) and m.can_push_to_accounting


def can_administer_erp(m: Membership | None) -> bool:
    return m is not None and _at_least(m.erp_level, AccessLevel.ADMIN)


def can_manage_templates(m: Membership | None) -> bool:
    return m is not None and _at_least(m.directory_level, AccessLevel.ADMIN)


IMPORT_REQUIREMENT = (
    "Adding a job as a project needs Standard or Admin on ERP Integrations and either Admin on "
    "the Company Directory or the Create New Project privilege."
)
MANAGE_REQUIREMENT = "Archiving and restoring jobs needs Standard or Admin on ERP Integrations."
REFRESH_REQUIREMENT = (
    "Refreshing from the ERP needs Standard or Admin on ERP Integrations and the "
    "Can Push to Accounting privilege."
)
SYNC_REQUIREMENT = (
    "Syncing job costs needs Standard or Admin on ERP Integrations and the Can Push to Accounting privilege."
)
ADMIN_REQUIREMENT = "Changing ERP settings needs Admin on ERP Integrations."
LINK_REQUIREMENT = "Linking a job to an existing project needs Admin on ERP Integrations."
UNLINK_REQUIREMENT = "Unlinking a job from its project needs Standard or Admin on ERP Integrations."
COST_CODES_REQUIREMENT = (
    "Refreshing a project's cost codes from the ERP needs Standard or Admin on ERP Integrations and the "
    "Can Push to Accounting privilege."
)
