"""Azure OpenAI: the OpenAI provider's streaming over ``openai.AzureOpenAI``, where
the model is a deployment of the resource at ``endpoint``."""

from __future__ import annotations

import openai
from django.core.exceptions import ImproperlyConfigured

from .openai import OpenAIProvider


class AzureOpenAIProvider(OpenAIProvider):
    name = "azure"

    def __init__(
        self,
        endpoint: str = "",
        api_key: str = "",
        api_version: str = "",
        deployment: str = "",
        timeout: float = 30.0,
        max_retries: int = 1,
    ) -> None:
        missing = [
            name
            for name, value in (
                ("AZURE_OPENAI_ENDPOINT", endpoint),
                ("AZURE_OPENAI_API_KEY", api_key),
                ("AZURE_OPENAI_API_VERSION", api_version),
                ("AZURE_OPENAI_DEPLOYMENT", deployment),
            )
            if not value
        ]
        if missing:
            raise ImproperlyConfigured(f"The azure provider needs {', '.join(missing)}.")
        self.model = deployment
        self.timeout = timeout
        self._secret = api_key
        self.client = openai.AzureOpenAI(
            azure_endpoint=endpoint,
            api_key=api_key,
            api_version=api_version,
            azure_deployment=deployment,
            timeout=timeout,
            max_retries=max_retries,
        )
