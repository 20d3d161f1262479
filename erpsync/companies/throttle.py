"""Sign-in throttling (django-axes, configured in settings): whose address counts, and the audit of lockouts."""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.dispatch import receiver
from django.shortcuts import render
from django.utils import timezone

from axes.signals import user_locked_out

log = logging.getLogger("erpsync.login")


def client_address(request) -> str:
    """The address a sign-in came from: behind erpsync's TLS proxy (ERPSYNC_TLS_PROXY=1), the one the proxy saw."""
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[-1].strip()  # the proxy appends the address it saw; earlier entries are the client's word
    return request.META.get("REMOTE_ADDR", "")


def locked_out(request, original_response=None, credentials=None):
    """The answer to a sign-in while its user name or address is locked out (429, in plain words)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)


def _audit(action: str, username: str, after: dict) -> None:
    """An audit event in each company the user belongs to (a user name nobody has is only logged)."""
    from erpsync.erp.services.audit import audit_event_record

    user = get_user_model().objects.filter(username=username).first() if username else None
    if user is None:
        return
    for membership in user.memberships.select_related("company"):
        audit_event_record(company=membership.company, actor=None, action=action, obj=user, after=after)


@receiver(user_locked_out)
def record_lockout(sender, request, username, ip_address, **kwargs):
    """Each lockout once (axes signals again for every attempt while it lasts); the user's only when their name is locked."""
    from axes.models import AccessAttempt
    from django.db.models import Sum

    from erpsync.erp.models import AuditEvent

    failures = AccessAttempt.objects.filter(username=username).aggregate(n=Sum("failures_since_start"))["n"] or 0
    if not username or failures < settings.AXES_FAILURE_LIMIT:  # the address is locked, not this user name
        log.warning("Sign-ins from address %s locked out for %s minutes.", ip_address,
                    int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))
        return
    last = (AuditEvent.objects.filter(action__in=["user.locked_out", "user.unlocked"], object_repr=username or "")
            .order_by("-created_at").first())
    if last and last.action == "user.locked_out" and last.created_at >= timezone.now() - settings.AXES_COOLOFF_TIME:
        return
    log.warning("Sign-in locked out for %s minutes: user name %r, address %s.",
                int(settings.AXES_COOLOFF_TIME.total_seconds() // 60), username, ip_address)
    _audit("user.locked_out", username, {"address": ip_address, "minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)})


def login_unlock(*, username: str = "", address: str = "") -> int:
    """End the lockout of a user name or an address before its time; audited. Returns how many records were cleared."""
    from axes.utils import reset

    cleared = reset(username=username or None, ip=address or None) if (username or address) else 0
    if cleared:
        log.warning("Sign-in lockout ended by an administrator: user name %r, address %r.", username, address)
        _audit("user.unlocked", username, {"address": address or None, "cleared": cleared})
    return cleared
