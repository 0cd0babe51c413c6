"""Admins manage users, their roles, sessions and API tokens here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest

from .models import LoginSession, User
from .services import user_apply_role


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "full_name", "email", "role", "employee_key", "is_active", "last_login")
    list_filter = ("role", "is_active")
    search_fields = ("username", "full_name", "email", "employee_key")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Person", {"fields": ("full_name", "email", "employee_key")}),
        ("Access", {"fields": ("role", "is_active")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "password1", "password2", "role", "full_name", "email")}),
    )
    readonly_fields = ("last_login", "date_joined")

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # Staff flags and the HR group follow the role.
        user_apply_role(user=obj)


@admin.register(LoginSession)
class LoginSessionAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "created_at", "last_activity", "ip", "revoked_at")
    list_filter = ("kind",)
    search_fields = ("user__username", "ip")
    readonly_fields = [f.name for f in LoginSession._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
