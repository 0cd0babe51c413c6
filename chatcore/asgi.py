"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

from __future__ import annotations

import django

from chatcore.env import configure_settings_module

configure_settings_module()
# Django must be set up before the routing imports consumers and models.
django.setup(set_prefix=False)

from chatcore.handlers import SyncChainASGIHandler  # noqa: E402

django_asgi_app = SyncChainASGIHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from chatcore.origins import SameOriginValidator  # noqa: E402
from chatcore.proxies import TrustedProxyMiddleware  # noqa: E402
from conversations.routing import websocket_urlpatterns  # noqa: E402

# Outermost: the client's address and the forwarding headers are settled before anything reads them.
application = TrustedProxyMiddleware(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
        }
    )
)

from chatcore.warmup import prepare_process  # noqa: E402

prepare_process()
