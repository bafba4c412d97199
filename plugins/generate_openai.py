"""The local-model backend: an OpenAI-compatible chat endpoint (llama.cpp server, Ollama, vLLM).

Answers ``caro_generate_commands`` only when the chosen backend is ``openai-compatible``.
Zero egress: the ``[generate] url`` must resolve to loopback or to one of ``[generate]
internal_networks``, else the request is refused before any connection, and the connection goes
to the address that was checked.  The skills' knowledge for the request is put into the prompt.

The system prompt asks for exactly one JSON object, ``{"command": …, "explanation": …,
"alternatives": [{"command": …, "explanation": …}]}`` (``"command": null`` when the model does
not know); any other reply is rejected as a whole.  A server that is down or whose reply is
rejected raises :class:`~caro_core.generate.BackendUnavailable`, and the pipeline answers with
the offline engine instead.  What the model proposes is judged by the safety engine like any
other candidate.
"""

import json
from dataclasses import dataclass

from caro_core import hookimpl
from caro_core.config import Setting
from caro_core.errors import ConfigError
from caro_core.generate import OPENAI, BackendUnavailable, Candidate

#: Largest reply read from the server.
MAX_REPLY_BYTES = 1 << 20
MAX_COMMAND_CHARS = 2000
MAX_EXPLANATION_CHARS = 400
MAX_ALTERNATIVES = 3
#: Knowledge put into the prompt at most (characters).
MAX_KNOWLEDGE_CHARS = 6000
CONFIDENCE = (0.8, 0.6, 0.55, 0.5)

SYSTEM_PROMPT = """\
You are Caro, a terminal assistant. Translate the user's request into one shell command line \
for {system} ({tools} tools, shell {shell}). Prefer simple, standard, non-destructive commands \
and programs that are installed.
Reply with exactly one JSON object and nothing else, in this format:
{{"command": "<one shell command line>", "explanation": "<one short sentence>", \
"alternatives": [{{"command": "<another command line>", "explanation": "<one short sentence>"}}]}}
Give at most {alternatives} alternatives (an empty list is fine). If you do not know a command \
for the request, reply {{"command": null, "explanation": "<why>", "alternatives": []}}."""


@hookimpl
def caro_config_schema():
    """Declare the local-model keys of ``[generate]``."""
    return {"generate": {
        "url": Setting(str, "http://127.0.0.1:8080/v1", "base URL of the OpenAI-compatible "
                       "server (…/v1); loopback or an address in internal_networks"),
        "model": Setting(str, "local", "model name sent to the server"),
        "timeout_s": Setting(float, 30.0, "seconds to wait for the server's reply"),
        "internal_networks": Setting(list, [], "networks (CIDR) besides loopback the server may "
                                     "be on, such as \"10.0.0.0/8\"", item=str),
    }}


@hookimpl
def caro_generate_commands(request, context):
    """Ask the configured model when ``openai-compatible`` is the chosen backend."""
    if context.backend != OPENAI:
        return []
    settings = context.node.config["generate"]
    where = _endpoint(settings, context.node.config_path)
    reply = _post(where, _body(request, context, settings["model"]), settings["timeout_s"])
    return parse_reply(reply)


def _body(request, context, model):
    import os

    system = SYSTEM_PROMPT.format(
        system="macOS" if context.platform == "darwin" else "Linux",
        tools="GNU" if context.gnu else "BSD",
        shell=os.path.basename(os.environ.get("SHELL") or "sh"), alternatives=MAX_ALTERNATIVES)
    messages = [{"role": "system", "content": system}]
    knowledge, used = [], 0
    for snippet in context.knowledge:
        line = f"[{snippet.source}: {snippet.topic}] {snippet.text}"
        if used + len(line) > MAX_KNOWLEDGE_CHARS:
            break
        knowledge.append(line)
        used += len(line)
    if knowledge:
        messages.append({"role": "system", "content": "Knowledge for this request:\n"
                         + "\n".join(knowledge)})
    messages.append({"role": "user", "content": request})
    return {"model": model, "messages": messages, "temperature": 0, "stream": False,
            "response_format": {"type": "json_object"}}


@dataclass(frozen=True)
class _Endpoint:
    """A checked URL: the address that passed the check is the one connected to."""

    scheme: str
    netloc: str   # for the Host header
    host: str
    address: str
    port: int
    path: str

    def connection(self, timeout):
        import http.client

        if self.scheme == "https":  # the certificate names the host, so TLS connects by name
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout)
        return http.client.HTTPConnection(self.address, self.port, timeout=timeout)


def _endpoint(settings, config_path):
    """Parse and check ``[generate] url``; ConfigError when it is not allowed."""
    import ipaddress
    import socket
    from urllib.parse import urlsplit

    url = settings["url"]
    prefix = f"{config_path}: [generate] url {url!r}"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{prefix}: expected http://HOST:PORT/v1")
    try:
        networks = [ipaddress.ip_network(n, strict=False) for n in settings["internal_networks"]]
    except ValueError as e:
        raise ConfigError(f"{config_path}: [generate] internal_networks: {e}") from None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except OSError as e:
        raise BackendUnavailable(f"cannot resolve {parts.hostname}: {e}") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    for address in addresses:
        plain = getattr(address, "ipv4_mapped", None) or address
        if not (plain.is_loopback or any(plain in n for n in networks)):
            raise ConfigError(f"{prefix}: {address} is outside loopback and [generate] "
                              "internal_networks; Caro talks to nothing else")
    path = parts.path.rstrip("/")
    if not path.endswith("/chat/completions"):
        path += "/chat/completions"
    return _Endpoint(parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.hostname,
                     str(addresses[0]), port, path)


def _post(where, body, timeout):
    """POST the request; the decoded JSON reply, or BackendUnavailable."""
    import http.client

    data = json.dumps(body).encode()
    try:
        conn = where.connection(timeout)
        try:
            conn.request("POST", where.path, body=data, headers={
                "Content-Type": "application/json", "Accept": "application/json",
                "Host": where.netloc})
            response = conn.getresponse()
            raw = response.read(MAX_REPLY_BYTES + 1)
        finally:
            conn.close()
    except (OSError, http.client.HTTPException) as e:  # refused, timed out, reset, bad status line…
        raise BackendUnavailable(f"{where.scheme}://{where.host}:{where.port} is not answering: "
                                 f"{e or type(e).__name__}") from None
    if response.status != 200:
        raise BackendUnavailable(f"the server answered HTTP {response.status}")
    if len(raw) > MAX_REPLY_BYTES:
        raise BackendUnavailable("the server's reply is too large")
    try:
        return json.loads(raw)
    except ValueError:
        raise BackendUnavailable("the server's reply is not JSON") from None


def parse_reply(reply):
    """Candidates from a chat-completions reply; BackendUnavailable unless it is exactly the format."""
    try:
        content = reply["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise BackendUnavailable("the reply is not a chat completion") from None
    try:
        answer = json.loads(content) if isinstance(content, str) else None
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise BackendUnavailable("the model's reply was rejected: not the JSON object asked for")
    if set(answer) - {"command", "explanation", "alternatives"} or "command" not in answer:
        raise BackendUnavailable("the model's reply was rejected: unexpected keys")
    if answer["command"] is None:
        return []
    alternatives = answer.get("alternatives", [])
    if not isinstance(alternatives, list) or len(alternatives) > MAX_ALTERNATIVES:
        raise BackendUnavailable("the model's reply was rejected: bad alternatives")
    found = []
    for item, confidence in zip([answer, *alternatives], CONFIDENCE):
        if not isinstance(item, dict) or (item is not answer and set(item) != {"command", "explanation"}):
            raise BackendUnavailable("the model's reply was rejected: bad alternative")
        found.append(Candidate(_command(item.get("command")), _explanation(item.get("explanation")),
                               confidence, OPENAI))
    return found


def _command(value):
    if (not isinstance(value, str) or not value.strip() or len(value) > MAX_COMMAND_CHARS
            or any(ch in value for ch in "\0\n\r")):
        raise BackendUnavailable("the model's reply was rejected: the command is not one line")
    return value.strip()


def _explanation(value):
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > MAX_EXPLANATION_CHARS:
        raise BackendUnavailable("the model's reply was rejected: bad explanation")
    return " ".join(value.split())
