"""Sign in and sign out pages, and /sessions/: my signed-in devices and API token."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from .lockout import login_attempts_limited
from .models import LoginSession
from .selectors import api_token_get, login_session_get, login_session_list, login_session_of_request
from .services import (
    api_token_create,
    api_token_revoke,
    login_session_end,
    login_session_revoke,
    login_session_revoke_others,
)


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return settings.LOGIN_REDIRECT_URL


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
@login_attempts_limited
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(_safe_next(request))
    form = AuthenticationForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.get_user()
        auth_login(request, user)  # recorded as a login session by accounts.receivers
        return redirect(_safe_next(request))
    status = 400 if request.method == "POST" else 200
    next_url = request.POST.get("next") or request.GET.get("next", "")
    return render(request, "accounts/login.html", {"form": form, "next": next_url}, status=status)


@require_http_methods(["GET", "POST"])
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        if request.user.is_authenticated:
            login_session_end(request=request)
        auth_logout(request)
        return redirect(settings.LOGOUT_REDIRECT_URL)
    if not request.user.is_authenticated:
        return redirect(settings.LOGIN_URL)
    return render(request, "accounts/logout.html")


def _login_session_for(request: HttpRequest, login_session_id: int) -> LoginSession:
    """The requesting user's login session; 404 for strangers and unknown ids alike."""
    login_session = login_session_get(user=request.user, login_session_id=login_session_id)
    if login_session is None:
        raise Http404("No such session.")
    return login_session


def _sessions_page(request: HttpRequest, *, partial: str | None = None, **extra) -> HttpResponse:
    current = login_session_of_request(request=request)
    context = {
        "login_sessions": login_session_list(user=request.user),
        "current_id": current.pk if current else None,
        "api_token": api_token_get(user=request.user),
        **extra,
    }
    template = "accounts/sessions.html"
    if partial and request.htmx:
        template += f"#{partial}"
    return render(request, template, context)


@login_required
@require_GET
def sessions_view(request: HttpRequest) -> HttpResponse:
    return _sessions_page(request)


@login_required
@require_POST
def session_revoke_view(request: HttpRequest, login_session_id: int) -> HttpResponse:
    login_session = _login_session_for(request, login_session_id)
    current = login_session_of_request(request=request)
    login_session_revoke(login_session=login_session)
    if current is not None and current.pk == login_session.pk:
        # Signing out this very device: the page it is on no longer works.
        auth_logout(request)
        if request.htmx:
            return HttpResponseClientRedirect(reverse(settings.LOGIN_URL))
        return redirect(settings.LOGIN_URL)
    if not request.htmx:
        return redirect("sessions")
    return _sessions_page(request, partial="session-list")


@login_required
@require_POST
def sessions_revoke_others_view(request: HttpRequest) -> HttpResponse:
    count = login_session_revoke_others(user=request.user, keep=login_session_of_request(request=request))
    if not request.htmx:
        return redirect("sessions")
    return _sessions_page(request, partial="session-list", revoked_count=count)


@login_required
@require_POST
def api_token_create_view(request: HttpRequest) -> HttpResponse:
    token = api_token_create(user=request.user)
    # The key is shown in this response only; the page never shows it again.
    return _sessions_page(request, partial="api-token", new_key=token.key)


@login_required
@require_POST
def api_token_revoke_view(request: HttpRequest) -> HttpResponse:
    api_token_revoke(user=request.user)
    if not request.htmx:
        return redirect("sessions")
    return _sessions_page(request, partial="api-token")
