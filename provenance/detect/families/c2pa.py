"""The C2PA family: read a manifest store offline and say what its actions claim about AI
generation. The C2PA library loads on first use: few files carry a manifest, and each
reader process would pay for it at its start."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from provenance.detect.buffers import Buffer, BufferStream
from provenance.detect.families.c2pa_claims import ClaimMatch, actions, match_claim
from provenance.detect.reading import Found, Reading, guard
from provenance.detect.signals import AiClass, Signal, unreadable_mark
from provenance.detect.trust import NO_TRUST, C2paTrust, judge_trust
from provenance.detect.vocab import classify_source_type, find_generator, source_type_term

if TYPE_CHECKING:
    import c2pa as c2pa_sdk

log = logging.getLogger(__name__)

#: Offline reading: never fetch a remote manifest or ask an OCSP responder.
_OFFLINE_SETTINGS = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}
_MAX_DEPTH = 16
_RANK: dict[AiClass, int] = {"none": 0, "partial": 1, "ai": 2}
_CREATED = ("c2pa.created",)
_Found = tuple[AiClass, Mapping[str, Any] | None, Mapping[str, Any] | None, ClaimMatch | None]


@functools.cache
def _offline_context(anchors: str = "") -> c2pa_sdk.Context:
    """Return the SDK context: offline, and checking trust against ``anchors`` (PEM) if any."""
    import c2pa as c2pa_sdk

    settings: dict[str, Any] = {"verify": dict(_OFFLINE_SETTINGS["verify"])}
    if anchors:
        settings["verify"]["verify_trust"] = True
        settings["trust"] = {"user_anchors": anchors}
    return c2pa_sdk.Context(settings=c2pa_sdk.Settings.from_dict(settings))


@functools.cache
def supported_media_types() -> frozenset[str]:
    """Return the MIME types (and extensions) the installed C2PA library reads."""
    import c2pa as c2pa_sdk

    return frozenset(c2pa_sdk.Reader.get_supported_mime_types())


def read(reading: Reading) -> Found:
    """The family's entry point: the manifest store the container walk saw a marker of.

    A manifest that is there and cannot be read is evidence for a person, not nothing: it
    gives a ``suspect`` signal (see :func:`unreadable_mark`).
    """
    marker = reading.parts.c2pa_marker
    if marker is None:
        return [], []
    problems: list[str] = []
    data, media_type, trust = reading.data, reading.media_type, reading.options.trust
    nothing: Found = ([], [])
    found, trouble = guard(
        problems, "C2PA", lambda: read_c2pa(data, media_type, marker, None, trust), nothing
    )
    problems.extend(trouble)
    if not found and problems:
        found = [unreadable_mark("c2pa", marker, problems[-1])]
    return found, problems


def read_c2pa(
    data: Buffer,
    media_type: str,
    marker: str,
    manifest: bytes | None = None,
    trust: C2paTrust = NO_TRUST,
) -> tuple[list[Signal], list[str]]:
    """Return the C2PA signal of a file whose container walk saw a manifest ``marker``.

    ``manifest`` is a manifest store kept beside the file (a ``.c2pa`` sidecar), read
    against the file's bytes. Signature and trust results go to ``Signal.detail`` (its
    ``trust`` is ``trusted``, ``untrusted`` or ``invalid``, judged with ``trust``); an
    untrusted or expired certificate (usual offline) does not change the AI verdict. A
    manifest that cannot be read at all is a problem, not an exception.
    """
    store = _read_store(data, media_type, manifest, trust.anchors)
    if isinstance(store, str):
        return [], [f"C2PA ({marker}): {store}"]
    if store is None:
        return [], []
    return [signal_from_store(store, marker, trust)], []


def _read_store(
    data: Buffer, media_type: str, manifest: bytes | None, anchors: str
) -> dict[str, Any] | str | None:
    """Return the manifest store as JSON, None if there is none, or a problem string."""
    import c2pa as c2pa_sdk

    stream = BufferStream(data)
    # a type the library does not know is left for it to find in the bytes
    known = media_type if media_type in supported_media_types() else None
    try:
        reader = c2pa_sdk.Reader.try_create(known, stream, manifest, _offline_context(anchors))
        if reader is None:
            return None
        with reader:
            store = json.loads(reader.json())
    except c2pa_sdk.C2paError.RemoteManifest:
        return "manifest is stored remotely; not fetched (offline)"
    except c2pa_sdk.C2paError as exc:
        # told apart by the SDK's error types only, never by its wording: a manifest the
        # SDK refuses to fetch without raising RemoteManifest shows as unreadable (with its
        # reason), and the XMP reader records the remote reference itself
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"manifest unreadable: {message[:200]}"
    except (ValueError, UnicodeDecodeError) as exc:
        return f"manifest JSON unreadable: {exc}"
    finally:
        stream.close()
    return store if isinstance(store, dict) else "manifest store is not a JSON object"


def signal_from_store(store: Mapping[str, Any], marker: str, trust: C2paTrust = NO_TRUST) -> Signal:
    """Return the C2PA signal of a manifest store as the SDK reports it (parsed JSON)."""
    manifests = store.get("manifests") or {}
    active = store.get("active_manifest")
    ai_class, manifest, action, claim = _classify(manifests, active, set(), 0)
    detail = _validation_detail(store, manifests.get(active) or {})
    detail["trust"] = judge_trust(detail["validation_state"], detail["signer"], trust)
    generator, family = _name_generator(manifest or manifests.get(active) or {}, action, claim)
    parameters: dict[str, Any] = {}
    if action is not None:
        parameters["action"] = action.get("action")
        parameters["digital_source_type"] = source_type_term(
            str(action.get("digitalSourceType", ""))
        )
    if claim is not None:
        parameters["claim"] = f"{claim.claim.field}: {claim.value[:200]}"
    confidence = 0.0 if ai_class == "none" else 0.9 if claim is not None else 0.99
    return Signal(
        kind="c2pa",
        ai_class=ai_class,
        generator=generator,
        family=family,
        parameters=parameters,
        confidence=confidence,
        source=f"C2PA manifest ({marker})",
        detail=detail,
    )


def _classify(manifests: Mapping[str, Any], label: Any, seen: set[str], depth: int) -> _Found:
    """Return the class of one manifest, following its ingredients.

    Own actions: ``c2pa.created`` with a trained source type is ``ai``; a trained source
    type on any other action (an edit) or a composite type is ``partial``. When no own
    action states a source type at all, the generator-claim table decides
    (:mod:`provenance.detect.families.c2pa_claims`). A ``parentOf`` ingredient passes its class on
    (an edit of an AI image is still AI); a ``componentOf`` ingredient that is AI makes
    this file at most ``partial``. Also returns the manifest, action and table entry that
    decided, to name the generator.
    """
    manifest = manifests.get(label) if isinstance(label, str) else None
    if not isinstance(manifest, Mapping) or label in seen or depth > _MAX_DEPTH:
        return "none", None, None, None
    seen.add(label)
    best: _Found = ("none", None, None, None)
    stated = False
    for action in actions(manifest):
        stated = stated or bool(action.get("digitalSourceType"))
        found = classify_source_type(str(action.get("digitalSourceType", "")))
        if found is None or found == "none":
            continue
        if found == "ai" and action.get("action") not in _CREATED:
            found = "partial"
        # On a tie, the action that names its software agent tells us more.
        better = _RANK[found] > _RANK[best[0]]
        named = _RANK[found] == _RANK[best[0]] and bool(action.get("softwareAgent"))
        if better or (named and not (best[2] or {}).get("softwareAgent")):
            best = (found, manifest, action, None)
    if not stated:
        claim = match_claim(manifest)
        if claim is not None:
            found = claim.claim.ai_class
            on_edit = claim.action is not None and claim.action.get("action") not in _CREATED
            if found == "ai" and claim.claim.field == "software_agent" and on_edit:
                found = "partial"
            best = (found, manifest, None, claim)
    for ingredient in manifest.get("ingredients") or ():
        if not isinstance(ingredient, Mapping):
            continue
        inherited = _classify(manifests, ingredient.get("active_manifest"), seen, depth + 1)
        found = inherited[0]
        if found == "ai" and ingredient.get("relationship") != "parentOf":
            found = "partial"
        if _RANK[found] > _RANK[best[0]]:
            best = (found, *inherited[1:])
    return best


def _name_generator(
    manifest: Mapping[str, Any], action: Mapping[str, Any] | None, claim: ClaimMatch | None
) -> tuple[str | None, str | None]:
    """Name the tool: a claim-table entry's name, else the AI action's softwareAgent, else
    the claim generator.

    The family is the entry's, else that of the first of agent, claim generator and signer
    that names a known generator (Microsoft's agent says only "Image Creator from Designer").
    """
    agent = action.get("softwareAgent") if action is not None else None
    if isinstance(agent, Mapping):
        agent = agent.get("name")
    names = [str(agent)] if agent else []
    for info in manifest.get("claim_generator_info") or ():
        if isinstance(info, Mapping) and info.get("name"):
            names.append(str(info["name"]))
    if manifest.get("claim_generator"):
        names.append(str(manifest["claim_generator"]).split(" ")[0])
    signature = manifest.get("signature_info") or {}
    issuer = str(signature.get("issuer", "")) if isinstance(signature, Mapping) else ""
    family = claim.claim.family if claim is not None else None
    if family is None:
        known = (find_generator(name) for name in [*names, issuer])
        family = next((generator.family for generator in known if generator), None)
    if claim is not None and claim.claim.generator:
        return claim.claim.generator, family
    return (names[0] if names else None), family


def _validation_detail(store: Mapping[str, Any], active: Mapping[str, Any]) -> dict[str, Any]:
    codes = [
        str(status.get("code"))
        for status in store.get("validation_status") or ()
        if isinstance(status, Mapping)
    ]
    signature = active.get("signature_info") or {}
    return {
        "validation_state": store.get("validation_state"),
        "validation_codes": sorted(set(codes)),
        "signer": signature.get("issuer") if isinstance(signature, Mapping) else None,
        "signed_at": signature.get("time") if isinstance(signature, Mapping) else None,
        "manifest_count": len(store.get("manifests") or {}),
    }
