from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from erpsync.companies.context import SESSION_KEY
from erpsync.companies.models import Membership


@require_POST
def company_switch(request):
    membership = Membership.objects.filter(user=request.user, company_id=request.POST.get("company")).first()
    if membership is None:
        raise Http404("No such company")
    request.session[SESSION_KEY] = membership.company_id
    return redirect(request.POST.get("next") if str(request.POST.get("next", "")).startswith("/") else "/")
