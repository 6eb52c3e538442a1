"""Public test helpers: a scripted chat model and loopback fakes that speak the real wire protocols
(Anthropic, Tableau REST, Orchestra) to the real clients. For tests and evals only.

Names load lazily from their modules so importing ``dacrew.testing`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dacrew.testing.anthropic_fake import AnthropicFake
    from dacrew.testing.orchestra_fake import OrchestraFake
    from dacrew.testing.scripted import ScriptedChatModel, ai, tool_call
    from dacrew.testing.tableau_fake import TableauFake

_EXPORTS = {
    "ScriptedChatModel": "dacrew.testing.scripted",
    "tool_call": "dacrew.testing.scripted",
    "ai": "dacrew.testing.scripted",
    "AnthropicFake": "dacrew.testing.anthropic_fake",
    "TableauFake": "dacrew.testing.tableau_fake",
    "OrchestraFake": "dacrew.testing.orchestra_fake",
}

__all__ = ["AnthropicFake", "OrchestraFake", "ScriptedChatModel", "TableauFake", "ai", "tool_call"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'dacrew.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
