"""Expands JSON-LD documents with pyld and reports every term their @context leaves undefined.

Usage: python check_terms.py FILE.json...   (exit status 1 if any term is undefined)

The ActivityStreams context comes from bovine (installed by .ci/run), which maps every term
the context does not define to the blank-node vocabulary "_:"; an undefined term therefore
shows up in the expansion as "_:term". Nothing is fetched from the network: the security
vocabulary's context is given here offline, limited to the three terms actor documents use
(their IRIs are those of https://w3id.org/security/v1).
"""

import json
import sys

import bovine.jsonld  # noqa: F401  (installs bovine's document loader with the AS context)
from pyld import jsonld

SECURITY_V1 = {
    "publicKey": {"@id": "https://w3id.org/security#publicKey", "@type": "@id"},
    "publicKeyPem": "https://w3id.org/security#publicKeyPem",
    "owner": {"@id": "https://w3id.org/security#owner", "@type": "@id"},
}

bovine_loader = jsonld.get_document_loader()


def offline_loader(url, options=None, **kwargs):
    if url == "https://w3id.org/security/v1":
        return {
            "contentType": "application/ld+json",
            "contextUrl": None,
            "documentUrl": url,
            "document": {"@context": SECURITY_V1},
        }
    if url == "https://www.w3.org/ns/activitystreams" or url.startswith("http://joinmastodon.org/ns"):
        return bovine_loader(url, options or {}, **kwargs)
    raise RuntimeError(f"refusing to fetch {url}: the check runs offline")


jsonld.set_document_loader(offline_loader)


def undefined_terms(node, found):
    if isinstance(node, list):
        for item in node:
            undefined_terms(item, found)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key.startswith("_:"):
                found.add(key[2:])
            if key == "@type":
                for kind in value if isinstance(value, list) else [value]:
                    if isinstance(kind, str) and kind.startswith("_:"):
                        found.add(kind[2:])
            undefined_terms(value, found)


def main(paths):
    failures = 0
    for path in paths:
        with open(path, encoding="utf-8") as file:
            document = json.load(file)
        found = set()
        undefined_terms(jsonld.expand(document), found)
        if found:
            failures += 1
            print(f"UNDEFINED {path}: {', '.join(sorted(found))}")
        else:
            print(f"OK {path}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
