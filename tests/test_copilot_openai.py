"""The local-model backend against a real chat-completions server on 127.0.0.1 (recorded replies)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from caro_core import hookimpl
from caro_core.errors import ConfigError
from caro_core.generate import BackendUnavailable, KnowledgeSnippet, suggest
from caro_core.node import Node
from meshnodes import free_port


def reply(command, explanation="", alternatives=()):
    """The JSON object the system prompt asks the model for."""
    return json.dumps({"command": command, "explanation": explanation,
                       "alternatives": [{"command": c, "explanation": e} for c, e in alternatives]})


class FakeModel:
    """An OpenAI-compatible server: the first key of ``replies`` found in the user's message picks
    the assistant's content (sent as is); every request body is kept in ``requests``."""

    def __init__(self, replies):
        self.replies = replies
        self.requests = []
        model = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                model.requests.append({"path": self.path, "body": body})
                asked = body["messages"][-1]["content"]
                content = next((v for k, v in model.replies.items() if k in asked),
                               reply(None, "unknown"))
                data = json.dumps({"id": "chatcmpl-1", "object": "chat.completion", "model": "m",
                                   "choices": [{"index": 0, "finish_reason": "stop", "message":
                                                {"role": "assistant", "content": content}}]})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data.encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def config(self):
        """A config.toml that chooses this server; skills' recipes stay out of the answers."""
        return (f'[plugins]\ndisable = ["skill_recipes"]\n\n[generate]\nbackend = "openai-compatible"\n'
                f'url = "{self.url}"\nmodel = "test-model"\n')

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def fake_model():
    made = []

    def make(replies):
        made.append(FakeModel(replies))
        return made[-1]

    yield make
    for model in made:
        model.close()


def write_config(home, text):
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(text)


class Knowledge:
    @hookimpl
    def caro_generate_context(self, request):
        return [KnowledgeSnippet("acme-skill", "deploys", "Deploy with acmectl push --env NAME.", 80)]


def test_model_answers_with_alternatives_and_gets_the_knowledge(caro_home, fake_model):
    model = fake_model({"count lines": reply("wc -l notes.txt", "count the lines",
                                             [("grep -c '' notes.txt", "count with grep")])})
    write_config(caro_home, model.config())
    node = Node.load(caro_home, environ={}, extra_plugins=[("knowledge", Knowledge())])
    s = suggest(node, "count lines in notes.txt")
    assert s.backend == "openai-compatible" and not s.notes
    assert [a.candidate.command for a in s.proposals] == ["wc -l notes.txt", "grep -c '' notes.txt"]
    assert s.best.candidate.explanation == "count the lines"
    assert s.best.risk.label == "safe"
    sent = model.requests[0]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["body"]["model"] == "test-model"
    assert sent["body"]["response_format"] == {"type": "json_object"}
    prompt = "\n".join(m["content"] for m in sent["body"]["messages"])
    assert '"command"' in prompt and "acmectl push --env NAME" in prompt
    assert sent["body"]["messages"][-1] == {"role": "user", "content": "count lines in notes.txt"}


def test_malicious_reply_is_blocked_and_audited(caro_home, caro, fake_model):
    model = fake_model({"tidy": reply("rm -rf /", "free some space")})
    write_config(caro_home, model.config())
    result = caro("tidy my disk", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["command"] == "rm -rf /" and data["backend"] == "openai-compatible"
    assert data["risk"] == "critical" and data["blocked"] and not data["needs_confirmation"]
    assert data["reasons"]
    entries = [json.loads(line) for line in (caro_home / "audit.log").read_text().splitlines()]
    blocked = [e for e in entries if e["event_type"] == "CommandBlocked"]
    assert len(blocked) == 1
    assert "critical" in blocked[0]["details"] and "rm -rf" not in blocked[0]["details"]


@pytest.mark.parametrize("content", [
    "Sure! Run `ls -la` to see your files.",
    reply("ls") + "\nHope this helps",
    json.dumps({"command": "ls", "explanation": "x", "run": True}),
    json.dumps({"command": "ls\nrm -rf ~", "explanation": "two lines"}),
    json.dumps({"command": ["ls"], "explanation": "not a string"}),
    json.dumps({"command": "ls", "alternatives": [{"command": "pwd", "explanation": "", "x": 1}]}),
    json.dumps(["ls"]),
])
def test_garbage_replies_are_rejected_whole(caro_home, fake_model, content):
    model = fake_model({"files": content})
    write_config(caro_home, model.config())
    node = Node.load(caro_home, environ={"CARO_DISABLE_PLUGINS": "generate_offline"})
    s = suggest(node, "show files")
    assert s.backend == "offline" and s.best is None
    assert "rejected" in s.notes[0]


def test_garbage_reply_falls_back_to_offline_on_the_cli(caro_home, caro, fake_model):
    model = fake_model({"files": "I think you want ls."})
    write_config(caro_home, model.config())
    result = caro("show files", "--json")
    assert "rejected" in result.stderr and "using the offline engine" in result.stderr
    assert json.loads(result.stdout)["backend"] == "offline"


def test_down_server_falls_back_to_offline(caro_home, caro):
    write_config(caro_home, f'[generate]\nbackend = "openai-compatible"\n'
                            f'url = "http://127.0.0.1:{free_port()}/v1"\n')
    result = caro("zzyzx quux frobnicate", "--json")
    assert "not answering" in result.stderr and "using the offline engine" in result.stderr
    data = json.loads(result.stdout)
    assert data["backend"] == "offline"
    assert result.returncode == (0 if data["command"] else 2)


def test_model_without_an_answer_is_no_suggestion(caro_home, caro, fake_model):
    model = fake_model({})
    write_config(caro_home, model.config())
    result = caro("ask", "--json", "--backend", "openai-compatible", "teleport me home")
    assert result.returncode == 2
    data = json.loads(result.stdout)
    assert data["command"] is None and data["backend"] == "openai-compatible"
    assert len(model.requests) == 1


@pytest.mark.parametrize("url", ["http://8.8.8.8:8080/v1", "http://[2001:db8::1]:8080/v1",
                                 "http://192.168.1.10/v1", "ftp://127.0.0.1/v1"])
def test_address_outside_loopback_and_internal_networks_is_refused(caro_home, caro, url):
    write_config(caro_home, f'[generate]\nbackend = "openai-compatible"\nurl = "{url}"\n'
                            'internal_networks = ["10.0.0.0/8"]\n')
    result = caro("list files", "--json")
    assert result.returncode == 2 and result.stdout == ""
    assert "[generate] url" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_internal_networks_admit_their_addresses():
    from caro_plugins.generate_openai import _endpoint

    settings = {"url": "http://10.1.2.3:8000/v1/", "internal_networks": ["10.0.0.0/8"]}
    where = _endpoint(settings, "config.toml")
    assert (where.address, where.port, where.path) == ("10.1.2.3", 8000, "/v1/chat/completions")
    assert _endpoint({"url": "http://localhost:11434/v1/chat/completions", "internal_networks": []},
                     "config.toml").path == "/v1/chat/completions"
    with pytest.raises(ConfigError, match="internal_networks"):
        _endpoint({"url": "http://10.1.2.3/v1", "internal_networks": ["ten"]}, "config.toml")


def test_reply_parser_takes_exactly_the_format():
    from caro_plugins.generate_openai import parse_reply

    def chat(content):
        return {"choices": [{"message": {"role": "assistant", "content": content}}]}

    found = parse_reply(chat(reply("du -sh .", " size  of\nthis dir ")))
    assert [(c.command, c.explanation, c.backend) for c in found] == [
        ("du -sh .", "size of this dir", "openai-compatible")]
    assert parse_reply(chat(reply(None, "no idea"))) == []
    for bad in ({"choices": []}, {"error": "x"}, chat(None), chat(reply("ls", "x" * 1000))):
        with pytest.raises(BackendUnavailable):
            parse_reply(bad)
