"""The endpoint's policies (REST_FRAMEWORK settings): authentication, throttle and
paginator, each DRF's stock class with the least change that gives the hosted
endpoint's shape. Kept apart from the view: DRF imports them while it imports
rest_framework.views."""
from django.conf import settings
from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle


class ApiKeyAuthentication(TokenAuthentication):
    """`Authorization: Api-Key KEY`: DRF's TokenAuthentication with another keyword
    (as DRF's documentation suggests for a custom keyword), keys from settings."""

    keyword = "Api-Key"

    def authenticate_credentials(self, key):
        if key not in settings.VCFQ_API_KEYS:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        user = User(username="api-key")  # never saved: no database is used
        return (user, key)


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Per API key, at the rate DEFAULT_THROTTLE_RATES["api_key"] gives."""

    scope = "api_key"

    def get_cache_key(self, request, view):
        if request.auth is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth}


class MetaLimitOffsetPagination(LimitOffsetPagination):
    """LimitOffsetPagination with the published schema's envelope."""

    def get_paginated_response(self, data):
        return Response(
            {
                "meta": {
                    "count": self.count,
                    "next": self.get_next_link(),
                    "previous": self.get_previous_link(),
                },
                "results": data,
            }
        )
