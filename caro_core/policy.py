"""The sharing policy (FR-603, FR-7xx): what this node shares with whom, and why.

The rules come from ``[sharing]`` in ``config.toml`` (declared by the
``sharing_policy`` plugin) and, when an organisation distributed one, from a
*policy template* signed by its CA (``caro policy apply``).  Both are
:class:`Rules`; a template can only tighten: every decision must pass both, so
the stricter of each field wins.

Order of a decision (:func:`decide`, :func:`summary_level`): ``max_level = 0``
shares nothing; then the requester must be trusted (:func:`caro_core.trust.decide`)
for what it asks; then ``[sharing.deny]`` (deny beats allow, FR-704); then
``[sharing.allow]``; then the category.  A Supervisor gets Level-2 data only
(FR-705).  The result is a :class:`Decision` whose ``level`` 0 means
ACCESS_DENIED, 1 an answer that may hold this node's Level-1 (summarised)
data, 2 an answer in Level-2 (aggregate) form only.

Allow and deny tables map an *audience* to a list of entries.  ``supervisors``
speaks of nodes trusted as Supervisor only; ``peers`` and any other name (your
own groups: ``admins``, ``contractors``) of every trusted node.  An entry is
``"*"``, a node id, ``"fingerprint:<16 hex digits>"`` or a trust level
(``share-to``, ``query-from``, ``peer``, ``supervisor``).  When
``allow.supervisors`` is given, it alone admits Supervisors.
"""

import base64
import datetime as dt
import json
import math
import os
import random
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .errors import CaroError, ConfigError
from .trust import LABELS, TrustLevel

#: query type -> the ``[sharing.categories]`` key that governs it
QUERY_CATEGORIES = {"tool-usage": "tool_usage", "safety-posture": "safety_stats",
                    "activity": "activity_patterns", "anomalies": "anomalies", "health": "health"}
CATEGORIES = ("tool_usage", "activity_patterns", "safety_stats", "anomalies", "health")
#: category -> the fields of a Level-1 summary it covers
SUMMARY_FIELDS = {"tool_usage": ("category_stats", "total_commands", "unique_patterns"),
                  "activity_patterns": ("hourly_activity", "daily_activity"),
                  "safety_stats": ("safety_stats",)}
PEERS, SUPERVISORS, UNTRUSTED = "peers", "supervisors", "untrusted"
DEFAULT_ALLOW = {PEERS: ("*",)}
#: in ``$CARO_HOME``: the organisation's template, as signed, once ``caro policy apply`` checked it
TEMPLATE_FILE = "policy-template.toml"
_SIGNATURE_KEYS = {"signer", "key_id", "signed_at", "value"}
_SIGNED_CONTEXT = b"caro-policy-template:1\n"


class PolicyError(CaroError):
    """A policy template cannot be signed, verified or installed."""


@dataclass(frozen=True)
class Decision:
    """What one requester may receive: ``level`` 0 (ACCESS_DENIED), 1 or 2, and why."""

    level: int
    reason: str
    #: the rule that decided: ``sharing.deny.peers``, ``trust``, ``template:sharing.max_level``…
    rule: str

    @property
    def denied(self):
        return self.level == 0

    def to_json(self):
        return {"level": self.level, "status": "access-denied" if self.denied else "allowed",
                "reason": self.reason, "rule": self.rule}


@dataclass(frozen=True)
class Rules:
    """One layer of the policy, validated: the node's own ``[sharing]`` or a template's."""

    max_level: int
    allow: dict
    deny: dict
    categories: dict
    min_cohort: int
    epsilon: float
    #: ``config`` or ``template``
    origin: str = "config"

    def to_json(self):
        return {"max_level": self.max_level, "allow": {k: list(v) for k, v in self.allow.items()},
                "deny": {k: list(v) for k, v in self.deny.items()}, "categories": self.categories,
                "min_cohort": self.min_cohort, "epsilon": self.epsilon}


# -- validation -------------------------------------------------------------------------


def parse(table, where, origin="config"):
    """Validate a ``[sharing]`` table and return its :class:`Rules`; ConfigError otherwise.

    Missing keys take the defaults: ``max_level`` 2, ``allow.peers = ["*"]``, no
    denials, every category shared, ``min_cohort`` 3 (1 in a template: a
    template says nothing it does not state), ``epsilon`` 0 (no noise).
    """
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [sharing] must be a table")
    known = {"max_level", "allow", "deny", "categories", "min_cohort", "epsilon"}
    for key in table:
        if key not in known:
            raise ConfigError(f"{where}: [sharing] unknown key '{key}' (known keys: "
                              f"{', '.join(sorted(known))})")
    max_level = table.get("max_level", 2)
    if max_level not in (0, 1, 2) or isinstance(max_level, bool):
        raise ConfigError(f"{where}: [sharing] max_level: expected 0, 1 or 2, got {max_level!r}")
    min_cohort = table.get("min_cohort", 3 if origin == "config" else 1)
    if not isinstance(min_cohort, int) or isinstance(min_cohort, bool) or min_cohort < 1:
        raise ConfigError(f"{where}: [sharing] min_cohort: expected an integer of at least 1, "
                          f"got {min_cohort!r}")
    epsilon = table.get("epsilon", 0.0)
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or \
            not 0 <= epsilon < math.inf:
        raise ConfigError(f"{where}: [sharing] epsilon: expected a number of at least 0 "
                          f"(0: no noise), got {epsilon!r}")
    categories = table.get("categories", {})
    if not isinstance(categories, dict):
        raise ConfigError(f"{where}: [sharing] categories must be a table [sharing.categories]")
    for key, value in categories.items():
        if key not in CATEGORIES:
            raise ConfigError(f"{where}: [sharing.categories] unknown category '{key}' "
                              f"(known: {', '.join(CATEGORIES)})")
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: [sharing.categories] {key}: expected true or false, "
                              f"got {value!r}")
    allow = {**DEFAULT_ALLOW, **_audiences(table.get("allow", {}), "allow", where)}
    deny = _audiences(table.get("deny", {}), "deny", where)
    return Rules(max_level, allow, deny, {c: categories.get(c, True) for c in CATEGORIES},
                 min_cohort, float(epsilon), origin)


def _audiences(table, kind, where):
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [sharing] {kind} must be a table [sharing.{kind}]")
    result = {}
    for key, entries in table.items():
        if key == UNTRUSTED:
            # the ADR's ``[sharing.deny] untrusted = true`` restates a rule that always holds
            if kind == "deny" and entries is True:
                continue
            raise ConfigError(f"{where}: [sharing.{kind}] untrusted: nothing is ever shared with "
                              f"an untrusted node (only 'untrusted = true' under [sharing.deny] "
                              f"is accepted)")
        if not isinstance(entries, list):
            raise ConfigError(f"{where}: [sharing.{kind}] {key}: expected a list of node ids, "
                              f"\"fingerprint:…\" entries, trust levels or \"*\"")
        result[key] = tuple(_entry(e, f"{where}: [sharing.{kind}] {key}") for e in entries)
    return result


def _entry(entry, where):
    from .errors import IdentityError
    from .identity import NODE_ID_PREFIX, public_key_from_node_id

    if not isinstance(entry, str):
        raise ConfigError(f"{where}: {entry!r} is not a string")
    if entry == "*":
        return entry
    if entry.startswith(NODE_ID_PREFIX):
        try:
            public_key_from_node_id(entry)
        except IdentityError as e:
            raise ConfigError(f"{where}: {e}") from None
        return entry
    if entry.lower().startswith("fingerprint:"):
        digits = entry.split(":", 1)[1].lower()
        if len(digits) != 16 or any(c not in "0123456789abcdef" for c in digits):
            raise ConfigError(f"{where}: {entry!r}: a fingerprint is 16 hex digits "
                              f"(caro identity show); a shorter prefix could match another key")
        return f"fingerprint:{digits}"
    if entry.lower() in LABELS:
        return entry.lower()
    raise ConfigError(f"{where}: {entry!r} is not a node id, \"fingerprint:<16 hex digits>\", a "
                      f"trust level ({', '.join(LABELS[1:])}) or \"*\"")


# -- the effective policy ---------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """The node's own rules and, when installed, the organisation's template."""

    own: Rules
    template: Rules | None = None
    #: ``signer``, ``key_id``, ``signed_at`` of the installed template
    template_info: dict | None = None

    @property
    def layers(self):
        return (self.own,) if self.template is None else (self.own, self.template)

    @property
    def max_level(self):
        return min(r.max_level for r in self.layers)

    @property
    def min_cohort(self):
        return max(r.min_cohort for r in self.layers)

    @property
    def epsilon(self):
        """The smallest epsilon set (most noise); 0 when no layer asks for noise."""
        return min((r.epsilon for r in self.layers if r.epsilon > 0), default=0.0)

    @property
    def categories(self):
        return {c: all(r.categories[c] for r in self.layers) for c in CATEGORIES}


def load(node):
    """The effective :class:`Policy` of ``node``; ConfigError when a layer is malformed.

    The installed template is read, not re-verified: it can only tighten the
    node's own rules, and ``caro policy show`` reports whether it still verifies.
    """
    own = parse(node.config["sharing"], node.config_path)
    path = node.home / TEMPLATE_FILE
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        return Policy(own)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{path}: unreadable policy template: {e}") from None
    signature = raw.get("signature") if isinstance(raw.get("signature"), dict) else {}
    return Policy(own, parse(raw.get("sharing", {}), path, "template"),
                  {k: signature.get(k) for k in ("signer", "key_id", "signed_at")})


# -- decisions -----------------------------------------------------------------------------


def _requester(node, requester):
    """``(PeerInfo, TrustLevel)`` for a node id or a :class:`caro_core.peers.PeerInfo`."""
    from . import peers
    from .trust import decide as trust_of

    if isinstance(requester, str):
        requester = peers.get(node.store, requester) or peers.peer_from_node_id(requester)
    return requester, trust_of(node, requester)


def _matches(entry, peer, trust):
    return entry in ("*", peer.node_id, f"fingerprint:{peer.fingerprint}", trust.label)


def _layer(rules, peer, trust):
    """``(refusal, admission)`` of one layer for this requester: deny first, then allow."""
    prefix = "template:" if rules.origin == "template" else ""
    source = "the organisation's template" if prefix else "[sharing]"
    for key, entries in rules.deny.items():
        if key == SUPERVISORS and trust is not TrustLevel.SUPERVISOR:
            continue
        for entry in entries:
            if _matches(entry, peer, trust):
                return Decision(0, f"denied by {entry!r} in {source} deny.{key} (deny beats "
                                   f"allow)", f"{prefix}sharing.deny.{key}"), None
    if trust is TrustLevel.SUPERVISOR and SUPERVISORS in rules.allow:
        keys = [SUPERVISORS]
    else:
        keys = [k for k in rules.allow if k != SUPERVISORS or trust is TrustLevel.SUPERVISOR]
    for key in keys:
        for entry in rules.allow[key]:
            if _matches(entry, peer, trust):
                return None, f"{prefix}sharing.allow.{key}"
    lists = " or ".join(f"allow.{k}" for k in keys) or "any allow list"
    return Decision(0, f"not listed in {source} {lists}", f"{prefix}sharing.allow"), None


def _admitted(policy, peer, trust):
    """The first layer's refusal, or None and the rule of the node's own layer that admits."""
    admission = None
    for rules in policy.layers:
        refusal, admitted = _layer(rules, peer, trust)
        if refusal:
            return refusal, None
        admission = admission or admitted
    return None, admission


def _common(node, requester):
    """Policy, peer, trust and the first denial that holds whatever is asked (or None)."""
    policy = load(node)
    for rules in policy.layers:
        if rules.max_level == 0:
            prefix = "template:" if rules.origin == "template" else ""
            return policy, None, None, Decision(0, "max_level = 0: this node shares nothing",
                                                f"{prefix}sharing.max_level")
    peer, trust = _requester(node, requester)
    if not trust.connects:
        return policy, peer, trust, Decision(0, "not trusted: nothing is shared with a node "
                                                "that was not trusted", "trust")
    return policy, peer, trust, None


def decide(node, requester, query_type):
    """How far ``requester`` may see this node's answer to a ``query_type`` query.

    :param requester: the requesting node's id, or its
        :class:`caro_core.peers.PeerInfo` (a live session's, carrying the remote
        address subnet trust looks at).
    :param query_type: one of :data:`QUERY_CATEGORIES` (``tool-usage``…).
    :returns: a :class:`Decision`; level 0 is ACCESS_DENIED.  An invalid policy
        denies (fail closed) and says so.
    """
    if query_type not in QUERY_CATEGORIES:
        return Decision(0, f"unknown query type {query_type!r}", "query-type")
    try:
        policy, peer, trust, denied = _common(node, requester)
    except CaroError as e:  # a malformed policy or node id: share nothing
        return Decision(0, f"cannot apply the policy: {e}", "invalid-policy")
    if denied:
        return denied
    if not trust.may_query:
        return Decision(0, f"trusted as {trust.label}: it receives summaries but may not query",
                        "trust")
    refusal, rule = _admitted(policy, peer, trust)
    if refusal:
        return refusal
    category = QUERY_CATEGORIES[query_type]
    for rules in policy.layers:
        if not rules.categories[category]:
            prefix = "template:" if rules.origin == "template" else ""
            return Decision(0, f"category {category} is not shared",
                            f"{prefix}sharing.categories.{category}")
    if trust is TrustLevel.SUPERVISOR:
        if policy.max_level < 2:
            return Decision(0, "max_level = 1: summaries for peers only, no Level-2 aggregates "
                               "for supervisors", "sharing.max_level")
        return Decision(2, "trusted as supervisor and allowed: Level-2 aggregates only "
                           "(FR-705)", rule)
    return Decision(1, f"trusted as {trust.label} and allowed: this node's summarised data",
                    rule)


def summary_level(node, peer):
    """Whether ``peer`` (a node id or PeerInfo) may be pushed this node's Level-1 summaries.

    :returns: a :class:`Decision`: level 1 for an allowed ShareTo or Peer node
        while ``max_level`` is at least 1, level 0 otherwise — Supervisors
        included: a summary is one node's Level-1 data (FR-705).
    """
    try:
        policy, info, trust, denied = _common(node, peer)
    except CaroError as e:
        return Decision(0, f"cannot apply the policy: {e}", "invalid-policy")
    if denied:
        return denied
    if trust is TrustLevel.SUPERVISOR:
        return Decision(0, "supervisors see Level-2 aggregates only; a summary is one node's "
                           "Level-1 data (FR-705)", "FR-705")
    if not trust.receives_summaries:
        return Decision(0, f"trusted as {trust.label}: it may query but receives no summaries",
                        "trust")
    refusal, rule = _admitted(policy, info, trust)
    if refusal:
        return refusal
    return Decision(1, f"trusted as {trust.label} and allowed: Level-1 summaries", rule)


def withheld_summary_fields(node):
    """Summary fields of the categories the policy does not share (build summaries without them)."""
    categories = load(node).categories
    return {f for c, fields in SUMMARY_FIELDS.items() if not categories[c] for f in fields}


def audit_decision(node, decision, requester, query_type):
    """Record a query decision with the level returned (Scenario 5); returns the entry.

    Allowed: ``QueryReceived``; refused by the policy: ``QueryDenied``; asked
    by a node whose trust gives it no right to query at all: ``PolicyViolation``.
    """
    node_id = requester if isinstance(requester, str) else requester.node_id
    if not decision.denied:
        event = "QueryReceived"
    else:
        event = "PolicyViolation" if decision.rule == "trust" else "QueryDenied"
    return node.audit.append(event, peer=node_id, success=not decision.denied,
                             details=f"{query_type}: level {decision.level} "
                                     f"({decision.rule}: {decision.reason})")


# -- privacy of aggregates ---------------------------------------------------------------


def cohort_allows(node, contributor_count, requester_level, required=1):
    """Whether an aggregate over ``contributor_count`` nodes may be shown.

    :param requester_level: the data level the answers were given at
        (:attr:`Decision.level`); the minimum cohort applies to Level 2, what
        Supervisors receive.
    :param required: the largest ``min_cohort`` the contributing nodes asked
        for in their answers; the node's own ``[sharing] min_cohort`` counts too.
    """
    if requester_level < 2:
        return True
    return contributor_count >= max(load(node).min_cohort, required)


def add_noise(value, epsilon, seed=None):
    """A count with Laplace noise of scale ``1/epsilon``, rounded, never below 0.

    Sensitivity 1: one recorded command changes one count by at most 1, so
    one noised count is ``epsilon``-differentially private for that command.
    ``epsilon`` 0 returns ``value`` unchanged.  With ``seed`` (bytes, see
    :func:`noise_seed`) the noise is a function of the seed, so asking the
    same question again returns the same answer and averaging gains nothing.
    """
    if epsilon <= 0:
        return value
    if seed is None:
        draw = random.SystemRandom().getrandbits(64)
    else:
        import blake3

        draw = int.from_bytes(blake3.blake3(seed).digest()[:8], "big")
    u = (draw + 0.5) / 2 ** 64 - 0.5  # uniform on the open interval (-1/2, 1/2)
    noise = -math.copysign(1.0, u) * math.log(1 - 2 * abs(u)) / epsilon
    return max(0, round(value + noise))


def noise_seed(node, *parts):
    """A seed only this node can derive for the question ``parts`` (query type, range, field).

    Ed25519 signatures are deterministic, so the node's signature over the
    question is a stable secret: nobody else can predict, and so subtract, the noise.
    """
    question = "\0".join(str(p) for p in parts).encode("utf-8")
    return node.identity.sign(b"caro-dp-noise\0" + question)


# -- templates ------------------------------------------------------------------------------


def _signed_bytes(sharing, signer, key_id, signed_at):
    body = {"sharing": sharing, "signer": signer, "key_id": key_id, "signed_at": signed_at}
    return _SIGNED_CONTEXT + json.dumps(body, sort_keys=True, separators=(",", ":"),
                                        ensure_ascii=False).encode("utf-8")


def _read_toml(path):
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise PolicyError(f"{path}: cannot read: {e.strerror}") from None
    except UnicodeDecodeError:
        raise PolicyError(f"{path}: not a UTF-8 text file") from None


def _loads(text, path):
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise PolicyError(f"{path}: syntax error: {e}") from None


def _root_key_id(root):
    from cryptography import x509

    return root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest.hex()


def sign_template(source, ca_dir, out):
    """Sign the ``[sharing]`` policy in ``source`` with the root in ``ca_dir``; write ``out``.

    ``out`` is ``source`` verbatim with a ``[signature]`` table appended; it
    must not exist.  Returns the signature table.
    """
    from . import ca

    text = _read_toml(source)
    raw = _loads(text, source)
    if "signature" in raw:
        raise PolicyError(f"{source} is signed already")
    extra = sorted(set(raw) - {"sharing"})
    if extra or "sharing" not in raw:
        raise PolicyError(f"{source}: a policy template holds a [sharing] table and nothing else"
                          + (f" (found '{extra[0]}')" if extra else ""))
    parse(raw["sharing"], source, "template")
    key, root = ca.load_authority(ca_dir)
    ca.check_root(root)
    signer, key_id = root.subject.rfc4514_string(), _root_key_id(root)
    signed_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00",
                                                                                         "Z")
    value = base64.b64encode(key.sign(_signed_bytes(raw["sharing"], signer, key_id,
                                                    signed_at))).decode("ascii")
    signature = {"signer": signer, "key_id": key_id, "signed_at": signed_at, "value": value}
    block = "\n[signature]\n" + "".join(f"{k} = {json.dumps(v, ensure_ascii=False)}\n"
                                        for k, v in signature.items())
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise PolicyError(f"{out} exists (refusing to overwrite it)") from None
    except OSError as e:
        raise PolicyError(f"{out}: cannot write: {e.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text.rstrip("\n") + "\n" + block)
    return signature


def verify_template(path, root):
    """Check a signed template against the organisation ``root``.

    :returns: ``(Rules, info)`` with ``info`` the signer, key id and signing time.
    :raises PolicyError: one line naming ``path`` and what is wrong.
    """
    from cryptography.exceptions import InvalidSignature

    from . import ca

    raw = _loads(_read_toml(path), path)
    signature = raw.get("signature")
    if not isinstance(signature, dict):
        raise PolicyError(f"{path} is not signed (no [signature] table: the organisation signs "
                          f"it with caro policy sign)")
    if set(raw) != {"sharing", "signature"} or set(signature) != _SIGNATURE_KEYS or \
            not all(isinstance(v, str) for v in signature.values()):
        raise PolicyError(f"{path}: a signed template holds exactly [sharing] and [signature] "
                          f"({', '.join(sorted(_SIGNATURE_KEYS))})")
    if root is None:
        raise PolicyError("no organisation root is installed (caro ca install CERT --root ROOT), "
                          "so no template can be verified")
    try:
        ca.check_root(root)
    except ca.CAError as e:
        raise PolicyError(f"the installed organisation root is unusable: {e}") from None
    if signature["key_id"] != _root_key_id(root):
        raise PolicyError(f"{path} was signed by another root (key id "
                          f"{signature['key_id'][:16]}…), not by the installed "
                          f"{root.subject.rfc4514_string()}")
    try:
        value = base64.b64decode(signature["value"], validate=True)
        root.public_key().verify(value, _signed_bytes(raw["sharing"], signature["signer"],
                                                      signature["key_id"],
                                                      signature["signed_at"]))
    except (ValueError, InvalidSignature):
        raise PolicyError(f"{path}: the signature does not verify under the organisation root "
                          f"(forged or altered)") from None
    info = {k: signature[k] for k in ("signer", "key_id", "signed_at")}
    return parse(raw["sharing"], path, "template"), info


def tightens(own, template):
    """The fields in which ``template`` is stricter than ``own``."""
    fields = []
    if template.max_level < own.max_level:
        fields.append("max_level")
    if template.allow != DEFAULT_ALLOW and template.allow != own.allow:
        fields.append("allow")
    if template.deny:
        fields.append("deny")
    fields += [f"categories.{c}" for c in CATEGORIES
               if own.categories[c] and not template.categories[c]]
    if template.min_cohort > own.min_cohort:
        fields.append("min_cohort")
    if template.epsilon > 0 and (own.epsilon == 0 or template.epsilon < own.epsilon):
        fields.append("epsilon")
    return fields


def apply_template(node, path):
    """Verify the template at ``path`` against the installed root and install it.

    Nothing changes when it does not verify.  Audits ``PolicyChanged``.
    Returns ``(info, tightened fields)``.
    """
    from . import ca

    try:
        root = ca.installed_root(node.home)
    except ca.CAError as e:
        raise PolicyError(f"the installed organisation root is unreadable: {e}") from None
    rules, info = verify_template(path, root)
    own = parse(node.config["sharing"], node.config_path)
    data = Path(path).read_bytes()
    target = node.ensure_home() / TEMPLATE_FILE
    tmp = target.with_name(f".{TEMPLATE_FILE}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, target)
    fields = tightens(own, rules)
    node.audit.append("PolicyChanged", details=f"template signed by {info['signer']} at "
                                               f"{info['signed_at']} applied; tightens: "
                                               f"{', '.join(fields) or 'nothing'}")
    return info, fields
