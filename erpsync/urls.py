from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.templatetags.static import static
from django.views.generic import RedirectView
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.urls import include, path

from erpsync.companies.views import company_switch
from erpsync.companies import permissions
from erpsync.health import healthz


def home(request):
    return redirect("erp:jobs" if permissions.can_view_erp(request.membership) else "projects:list")


urlpatterns = [
    path("", home, name="home"),
    path("erp/", include("erpsync.erp.urls")),
    path("", include("erpsync.projects.urls")),
    path("company/switch/", company_switch, name="company_switch"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    # Browsers that ask for /favicon.ico (rather than the page's icon link) get the icon too.
    path("favicon.ico", login_not_required(RedirectView.as_view(url=static("favicon.svg"), permanent=True)), name="favicon"),
]
