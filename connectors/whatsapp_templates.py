"""WhatsApp message templates: how a message goes out when the 24-hour service window is closed.

Outside the window the Cloud API takes only a template approved in WhatsApp Manager. The service uses one
template with a single body variable ({{1}}) and puts the message's text in it, so any notice (a status
change, an officer's answer) can still reach the citizen. What a template variable cannot hold is dropped:
line breaks, tabs and runs of spaces (the API refuses them, error 132018) become single spaces, the text is
cut at the parameter limit (1,024 UTF-16 units) at a word boundary, and buttons are left out (a template's
buttons are fixed at approval). The citizen's answer reopens the window for ordinary messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connectors.whatsapp_render import shorten

MAX_PARAMETER = 1024
# A template variable may not be empty: a message with only an image or buttons gets this line instead.
EMPTY_TEXT = "Ada pesan baru untuk Anda dari layanan pengaduan. Silakan balas pesan ini untuk melihatnya."


@dataclass(frozen=True)
class Template:
    name: str
    language: str = "id"


def template_parameter(text: str) -> str:
    """The message text as one body variable: single-line, within the limit, never empty."""
    flat = shorten(text or "", MAX_PARAMETER)
    return flat or EMPTY_TEXT


def template_part(template: Template, text: str) -> dict[str, Any]:
    """The `template` part of a Cloud API message body (beside messaging_product and to)."""
    return {
        "type": "template",
        "template": {
            "name": template.name,
            "language": {"code": template.language},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": template_parameter(text)}]}
            ],
        },
    }
