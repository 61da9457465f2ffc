"""The language-model servers people usually mean, by name: each is an address for `llm.base_url` (or none,
for the built-in skills only), whether it wants an API key, and what it needs to work. Settings > Language
model offers them; an address that is none of them is "another OpenAI-compatible server"."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from desktop_app.core.validation import is_loopback_host


@dataclass(frozen=True, slots=True)
class LlmPreset:
    name: str  # stable: what code and tests call it
    title: str  # what people see
    base_url: str | None  # None: no language model (or, for OTHER, the address typed)
    needs_key: bool
    note: str  # what it needs, in a sentence or two
    example_model: str = ""


BUILT_IN = LlmPreset(
    "built_in",
    "Built-in skills only",
    None,
    needs_key=False,
    note="No language model: the built-in skills (time, timers, reminders, sums, remembered facts) answer, "
    "and nothing is sent anywhere.",
)
OLLAMA = LlmPreset(
    "ollama",
    "Ollama on this computer",
    "http://127.0.0.1:11434/v1",
    needs_key=False,
    note="Ollama must be running (ollama serve) with a model downloaded, e.g. `ollama pull llama3.2`. "
    "Nothing leaves this computer; no key is needed.",
    example_model="llama3.2",
)
LM_STUDIO = LlmPreset(
    "lm_studio",
    "LM Studio on this computer",
    "http://127.0.0.1:1234/v1",
    needs_key=False,
    note="Start LM Studio's local server (Developer > Start server) with a model loaded. Nothing leaves this "
    "computer; no key is needed.",
)
LLAMA_CPP = LlmPreset(
    "llama_cpp",
    "llama.cpp server on this computer",
    "http://127.0.0.1:8080/v1",
    needs_key=False,
    note="Start llama-server with a model (llama-server -m model.gguf --port 8080). Nothing leaves this "
    "computer; no key is needed.",
)
OPENAI = LlmPreset(
    "openai",
    "OpenAI",
    "https://api.openai.com/v1",
    needs_key=True,
    note="Needs an API key from platform.openai.com, stored in Keys and chosen below. Your questions and "
    "recent messages are sent to OpenAI.",
    example_model="gpt-4o-mini",
)
OTHER = LlmPreset(
    "other",
    "Other OpenAI-compatible server",
    None,
    needs_key=False,
    note="Type the server's API address (it usually ends in /v1). Choose a key if the server asks for one.",
)

PRESETS: tuple[LlmPreset, ...] = (BUILT_IN, OLLAMA, LM_STUDIO, LLAMA_CPP, OPENAI, OTHER)
BY_NAME = {preset.name: preset for preset in PRESETS}


def preset_for(base_url: str | None) -> LlmPreset:
    """The preset whose address `base_url` is (written any equivalent way: a final slash, capitals,
    localhost for 127.0.0.1); OTHER for any other address, BUILT_IN for none."""
    if base_url is None or not base_url.strip():
        return BUILT_IN
    wanted = _same_server_form(base_url)
    for preset in PRESETS:
        if preset.base_url is not None and _same_server_form(preset.base_url) == wanted:
            return preset
    return OTHER


def _same_server_form(url: str) -> tuple[str, str, int | None, str]:
    """An address as (scheme, host, port, path) with what does not change the server taken out."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if is_loopback_host(host):
        host = "127.0.0.1"  # localhost, ::1 and 127.0.0.1 are one server to a preset
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = {"http": 80, "https": 443}.get(scheme)
    return scheme, host, port, parts.path.rstrip("/")
