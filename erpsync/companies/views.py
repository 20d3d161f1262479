from django.http import Http404, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from erpsync.companies.context import SESSION_KEY
from erpsync.companies.models import Membership


@require_POST
def company_switch(request):
    company = request.POST.get("company", "")
    a_key = company.isdigit() and int(company) < 2**63  # what a database key can be
    membership = Membership.objects.filter(user=request.user, company_id=int(company)).first() if a_key else None
    if membership is None:
        raise Http404("No such company")
    request.session[SESSION_KEY] = membership.company_id
    target = request.POST.get("next", "")
    # Only a path of this site; never a URL name (redirect() would look one up) or another site.
    safe = target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                                       require_https=request.is_secure())
    return HttpResponseRedirect(target if safe else "/")
