"""Refusals and lost sessions during an htmx action, said where the user looks.

htmx swaps an answer into the element that asked (a table row) and ignores 4xx answers: a
refusal would go unseen, and a lost session would put the sign-in page inside the row. For
htmx requests, a refusal or a missing record is said at the top of the page, and a lost session
sends the whole page to sign in. Plain requests get the usual pages.
"""

from urllib.parse import quote, urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import resolve_url
from django.utils.html import format_html

STALE = "This page is out of date (you signed in again, perhaps in another tab); reload it and try again."


def _said(text: str) -> HttpResponse:
    response = HttpResponse(format_html(
        '<div id="messages" aria-live="polite"><p class="message error" role="alert" tabindex="-1" autofocus>{}</p></div>', text))
    response["HX-Retarget"] = "#messages"
    response["HX-Reswap"] = "outerHTML"
    return response


class HtmxErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not getattr(request, "htmx", False):
            return response
        login = resolve_url(settings.LOGIN_URL)
        if response.status_code in (301, 302) and response.get("Location", "").startswith(login):
            page = urlsplit(request.htmx.current_url or "/")
            redirect = HttpResponse()
            redirect["HX-Redirect"] = f"{login}?next={quote(page.path + (f'?{page.query}' if page.query else ''))}"
            return redirect
        if response.status_code == 403:
            return _said(STALE)  # the CSRF check refused it: the token on the page is an old one
        return response

    def process_exception(self, request, exception):
        if not getattr(request, "htmx", False):
            return None
        if isinstance(exception, PermissionDenied):
            return _said(str(exception) or "Your permissions in this company do not allow that.")
        if isinstance(exception, Http404):
            return _said("That record is no longer here; reload the page to see what is.")
        return None
