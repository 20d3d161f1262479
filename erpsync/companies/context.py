"""The company a request works in: chosen by the user, remembered in the session."""

from django.utils.cache import add_never_cache_headers
from django.utils.functional import SimpleLazyObject

from erpsync.companies.models import Membership

SESSION_KEY = "company_id"


def _membership(request) -> Membership | None:
    if not request.user.is_authenticated:
        return None
    memberships = Membership.objects.filter(user=request.user).select_related("company")
    chosen = request.session.get(SESSION_KEY)
    if chosen:
        found = memberships.filter(company_id=chosen).first()
        if found:
            return found
    return memberships.order_by("company__name").first()


class CurrentCompanyMiddleware:
    """Sets request.membership (lazily): the user's membership in the current company, or None;
    and keeps pages of signed-in users out of caches."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = SimpleLazyObject(lambda: _membership(request))
        response = self.get_response(request)
        if request.user.is_authenticated:  # a company's data stays out of shared and browser caches
            add_never_cache_headers(response)
        return response


def company_context(request) -> dict:
    membership = getattr(request, "membership", None)
    if not membership:
        return {}
    from erpsync.companies import permissions as p

    return {
        "membership": membership,
        "current_company": membership.company,
        "can": {
            "view_erp": p.can_view_erp(membership),
            "manage_jobs": p.can_manage_erp_jobs(membership),
            "import": p.can_import_erp_job(membership),
            "refresh": p.can_refresh_erp(membership),
            "administer_erp": p.can_administer_erp(membership),
            "manage_templates": p.can_manage_templates(membership),
        },
        # What grants each action, in the words the server uses when it refuses: shown beside a disabled control.
        "needs": {"import": p.IMPORT_REQUIREMENT, "manage_jobs": p.MANAGE_REQUIREMENT, "refresh": p.REFRESH_REQUIREMENT,
                  "sync": p.SYNC_REQUIREMENT, "administer_erp": p.ADMIN_REQUIREMENT,
                  "link": p.LINK_REQUIREMENT, "unlink": p.UNLINK_REQUIREMENT, "cost_codes": p.COST_CODES_REQUIREMENT},
    }
