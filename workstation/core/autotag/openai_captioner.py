"""A captioner that asks any OpenAI-compatible server (LM Studio, Ollama, vLLM) about a clip.

The clip's sampled frames go as base64 JPEG ``image_url`` parts of one user message to
``POST /v1/chat/completions``; the server's model list (``GET /v1/models``) is checked first
so a wrong model name is one clear message, not a failure per clip.  Uses only the standard
library's HTTP client: the request is a single JSON POST, no SDK needed.

Secrets stay out of every message: a password in the address (``http://user:pw@host``) is sent
as HTTP Basic authentication and the address is kept and shown without it, the API key goes
only into the ``Authorization`` header, and :func:`redact_url` hides the userinfo of any URL
another module shows (``http://user:***@host``).
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import numpy as np
from PIL import Image

from workstation.core.autotag.base import CaptionServerError, CaptionSettings, split_credentials


def api_base(url: str) -> str:
    """``http://host:port``, ``.../v1`` or ``.../v1/`` -> ``http://host:port/v1``."""
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        url = "http://" + url
    if url.endswith("/chat/completions"):
        url = url[: -len("/chat/completions")]
    return url if url.endswith("/v1") else url + "/v1"


_USERINFO = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^/?#\s:]*)(?P<password>:[^/?#\s]*)?@"
)


def redact_url(text: str) -> str:
    """``text`` with the password of every URL in it hidden: ``http://user:***@host``
    (a user name alone, often a token, becomes ``***``)."""

    def hide(m: re.Match[str]) -> str:
        scheme, user = m.group("scheme"), m.group("user")
        if m.group("password") is not None and user:
            return f"{scheme}{user}:***@"
        return f"{scheme}***@"

    return _USERINFO.sub(hide, text)


def encode_jpeg(image: np.ndarray, quality: int = 90) -> str:
    buffer = io.BytesIO()
    Image.fromarray(image).convert("RGB").save(buffer, format="JPEG", quality=quality)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


class OpenAICaptioner:
    """One server + model; :meth:`caption` sends frames and a prompt, returns the text."""

    def __init__(
        self,
        server: str,
        model: str,
        *,
        api_key: str = "",
        timeout: float = 120.0,
        max_tokens: int = 300,
        temperature: float = 0.2,
    ) -> None:
        self.base, credentials = split_credentials(api_base(server))
        self.model = model
        self.api_key = api_key
        user, _, password = (credentials or "").partition(":")
        token = base64.b64encode(credentials.encode("utf-8")).decode("ascii") if credentials else ""
        self._basic = f"Basic {token}" if token else ""
        # What a message must never show (a lone user name is a token); a server's error text
        # may echo the header it was sent.
        self._secrets = [x for x in (api_key, password or user, token) if x]
        self.timeout = timeout
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.model_id = f"openai:{model}@{self.base}"

    @classmethod
    def connect(cls, settings: CaptionSettings) -> OpenAICaptioner:
        """Check the server answers and has the model (or pick its first model)."""
        me = cls(
            settings.server,
            settings.model,
            api_key=settings.api_key,
            timeout=settings.timeout,
            max_tokens=settings.max_tokens,
            temperature=settings.temperature,
        )
        models = me.models()
        if models is None:  # server without a model list: trust the name given
            if not settings.model:
                raise CaptionServerError(
                    f"{me.base}: the server does not list its models; give the model name"
                )
            return me
        if not settings.model:
            if not models:
                raise CaptionServerError(f"{me.base}: the server has no model loaded")
            me.model = models[0]
        elif settings.model not in models:
            offered = ", ".join(models) or "none"
            raise CaptionServerError(
                f"{me.base}: the server has no model {settings.model!r} (it offers: {offered})"
            )
        me.model_id = f"openai:{me.model}@{me.base}"
        return me

    def models(self) -> list[str] | None:
        """Model ids the server offers; None when it has no /v1/models endpoint."""
        try:
            answer = self._request("GET", "/models")
        except CaptionServerError as exc:
            if exc.status == 404:
                return None
            raise
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, list):
            raise CaptionServerError(f"{self.base}/models: answer is not a model list")
        return [str(m.get("id")) for m in data if isinstance(m, dict) and m.get("id")]

    def caption(self, frames: list[np.ndarray], prompt: str) -> str:
        content: list[dict[str, Any]] = [{"type": "text", "text": prompt}]
        for image in frames:
            content.append(
                {
                    "type": "image_url",
                    "image_url": {"url": "data:image/jpeg;base64," + encode_jpeg(image)},
                }
            )
        body = {
            "model": self.model,
            "messages": [{"role": "user", "content": content}],
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "stream": False,
        }
        answer = self._request("POST", "/chat/completions", body)
        try:
            text = answer["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise CaptionServerError(
                f"{self.base}/chat/completions: the answer has no choices[0].message.content"
            ) from None
        if isinstance(text, list):  # some servers return content parts
            text = "".join(p.get("text", "") for p in text if isinstance(p, dict))
        text = str(text or "").strip()
        if not text:
            raise CaptionServerError(f"{self.base}: model {self.model!r} returned an empty caption")
        return text

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        url = self.base + path
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        elif self._basic:
            headers["Authorization"] = self._basic
        try:
            return self._send(method, url, data, headers, body)
        except CaptionServerError as exc:  # a server may echo what it was sent: never show it
            text = self._scrub(str(exc))
            if text == str(exc):
                raise
            raise CaptionServerError(text, status=exc.status, unreachable=exc.unreachable) from None

    def _scrub(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return redact_url(text)

    def _send(
        self,
        method: str,
        url: str,
        data: bytes | None,
        headers: dict[str, str],
        body: dict[str, Any] | None,
    ) -> Any:
        try:
            request = urllib.request.Request(url, data, headers, method=method)
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            message = _error_message(exc)
            status = exc.code
            if status == 404 and body is not None and "model" in message.lower():
                text = f"{url}: model {self.model!r} not found on the server ({message})"
            else:
                text = f"{url}: HTTP {status} {message}".rstrip()
            raise CaptionServerError(text, status=status) from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, (TimeoutError, socket.timeout)):
                raise CaptionServerError(
                    f"{url}: no answer within {self.timeout:g} s (raise the timeout for slow "
                    "models)"
                ) from None
            raise CaptionServerError(
                f"{url}: cannot reach the caption server ({reason}); is LM Studio, Ollama or "
                "vLLM running and serving on that address?",
                unreachable=True,
            ) from None
        except TimeoutError:
            raise CaptionServerError(
                f"{url}: no answer within {self.timeout:g} s (raise the timeout for slow models)"
            ) from None
        except (ConnectionError, OSError) as exc:
            raise CaptionServerError(
                f"{url}: connection failed ({exc})", unreachable=True
            ) from None
        except (ValueError, http.client.InvalidURL) as exc:  # a bad port, a space in the host
            raise CaptionServerError(
                f"{url}: not a server address the workstation can use ({exc})", unreachable=True
            ) from None
        except http.client.HTTPException as exc:  # an answer cut short, or not HTTP at all
            raise CaptionServerError(
                f"{url}: the server's answer is not valid HTTP ({type(exc).__name__})"
            ) from None
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise CaptionServerError(f"{url}: the server's answer is not JSON") from None


def _error_message(exc: urllib.error.HTTPError) -> str:
    try:
        raw = exc.read().decode("utf-8", "replace")
    except Exception:
        return exc.reason or ""
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError:
        return raw.strip()[:200]
    err = doc.get("error", doc) if isinstance(doc, dict) else doc
    if isinstance(err, dict):
        return str(err.get("message") or err)[:300]
    return str(err)[:300]
