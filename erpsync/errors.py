"""The one family of errors services raise; every message tells the user what to do."""


class ApplicationError(Exception):
    def __init__(self, message: str, *, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class PermissionRefused(ApplicationError):
    pass


class NotFound(ApplicationError):
    pass


class ImportBlocked(ApplicationError):
    """The job has problems that must be fixed in the ERP before it can be imported."""


class ProjectLimitReached(ApplicationError):
    pass


class SourceFailed(ApplicationError):
    """The ERP (or its export) could not be read; nothing was changed."""


class RefreshBusy(ApplicationError):
    """A refresh of the same connection is queued or running; one runs at a time."""


class PreviewOutdated(ApplicationError):
    """What a change would do is no longer what its user was shown; nothing was changed."""
