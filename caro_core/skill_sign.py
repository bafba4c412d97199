"""Skill signatures (ADR-004 Phase 2): Ed25519 over a skill's content hash.

``skill.sig`` in the skill's folder is JSON: ``algorithm`` (``ed25519``),
``signer`` (the public key as a Caro id, ``caro:ed25519:<base64>``),
``content_hash`` (``blake3:<hex>``, see :mod:`caro_core.skill_lock`) and
``signature`` (base64 of the signature over ``caro-skill-v1\\n`` + the content
hash).  Signers are trusted by listing their ids in ``[skills] trusted_signers``.
"""

import base64
import json

from .skills import SIGNATURE, SkillError

_DOMAIN = b"caro-skill-v1\n"


def sign(directory, private_key, content_hash):
    """Write ``skill.sig`` for ``content_hash`` with ``private_key``; returns the signer id."""
    from cryptography.hazmat.primitives import serialization

    from .identity import node_id_for

    public = private_key.public_key().public_bytes(serialization.Encoding.Raw,
                                                   serialization.PublicFormat.Raw)
    signer = node_id_for(public)
    signature = private_key.sign(_DOMAIN + content_hash.encode("ascii"))
    document = {"algorithm": "ed25519", "signer": signer, "content_hash": content_hash,
                "signature": base64.b64encode(signature).decode("ascii")}
    (directory / SIGNATURE).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return signer


def check_signature(directory, content_hash, trusted, required):
    """The signer id of a valid signature over ``content_hash``, or None when unsigned.

    Raises :class:`SkillError` when the signature is malformed, does not match
    the content, or is wrong; and, when ``required``, when the skill is
    unsigned or its signer is not in ``trusted``.
    """
    from cryptography.exceptions import InvalidSignature

    from .errors import IdentityError
    from .identity import public_key_from_node_id

    path = directory / SIGNATURE
    if not path.exists():
        if required:
            raise SkillError(f"{path}: the skill is unsigned and [skills] require_signature is "
                             f"true; ask its publisher for a signed copy")
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        signer = document["signer"]
        signature = base64.b64decode(document["signature"], validate=True)
        claimed = document["content_hash"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SkillError(f"{path}: malformed signature file ({type(e).__name__}); "
                         f"re-sign with caro skills sign") from None
    if claimed != content_hash:
        raise SkillError(f"{path}: content_hash: the files do not match what was signed "
                         f"(signed {claimed}, found {content_hash})")
    try:
        public_key_from_node_id(signer).verify(signature, _DOMAIN + content_hash.encode("ascii"))
    except (InvalidSignature, IdentityError):
        raise SkillError(f"{path}: signature: does not verify for signer {signer!r}") from None
    if required and signer not in trusted:
        raise SkillError(f"{path}: signer: {signer} is not in [skills] trusted_signers")
    return signer
