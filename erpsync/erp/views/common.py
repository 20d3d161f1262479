"""What every ERP Integrations view needs: the permission gate and the page frame."""

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from erpsync.companies import permissions
from erpsync.erp.services import project_limit_reached


def require(check, requirement: str):
    """Refuse (403, with the reason in words) unless `check(membership)` holds."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not check(request.membership):
                raise PermissionDenied(requirement)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


VIEW_REQUIREMENT = "Seeing the ERP Integrations tool needs Read-only or higher on ERP Integrations."
can_view = require(permissions.can_view_erp, VIEW_REQUIREMENT)


def erp_page(request, template: str, tab: str, context: dict, **kwargs):
    company = request.membership.company
    limit_reached = project_limit_reached(company)
    context = {
        "section": "erp",
        "tab": tab,
        "limit_reached": limit_reached,
        "project_count": company.projects.count() if limit_reached else None,
        **context,
    }
    return render(request, template, context, **kwargs)
