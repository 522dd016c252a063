#!/usr/bin/env python3
"""check_bundles.py - independent checks of llmsyn-fhir bundle files (what conformance/README.md promises).

usage: check_bundles.py DIR [--expect N] [--require TYPE ...] [--procedure-system cpt|icd9]

--procedure-system icd9: every Procedure is coded with an ICD-9-CM volume 3 code (dot after two digits) in
the ICD-9-CM system and carries a display (generate --procedure-codes icd9); default cpt.
"""
import json
import os
import re
import sys

UUID_URN = re.compile(r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
ZONE = re.compile(r"(Z|[+-]\d{2}:\d{2})$")


def walk(node, path=""):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{path}[{i}]")
    else:
        yield path, node


PROCEDURE_SYSTEMS = {
    "cpt": ("http://www.ama-assn.org/go/cpt", re.compile(r"^[0-9A-Z]{5}$"), False, "a CPT code"),
    "icd9": ("http://hl7.org/fhir/sid/icd-9-cm", re.compile(r"^[0-9]{2}\.[0-9]{1,2}$"), True,
             "an ICD-9-CM procedure code with a display"),
}


def check_procedure(r, procedure_system):
    system, form, need_display, what = PROCEDURE_SYSTEMS[procedure_system]
    c = r["code"]["coding"][0]
    if c.get("system") != system or not form.match(c.get("code", "")) or (need_display and not c.get("display")):
        return [f"Procedure code {c} is not {what}"]
    return []


def check(path, required, procedure_system="cpt"):
    with open(path, encoding="utf-8") as f:
        b = json.load(f)
    errs = []
    if b.get("resourceType") != "Bundle" or b.get("type") != "transaction":
        errs.append("not a transaction Bundle")
    full_urls = set()
    types = {}
    for i, e in enumerate(b.get("entry", [])):
        fu, r, req = e.get("fullUrl", ""), e.get("resource", {}), e.get("request", {})
        if not UUID_URN.match(fu):
            errs.append(f"entry[{i}].fullUrl '{fu}' is not a lower-case urn:uuid (v5)")
        if fu[len("urn:uuid:"):] != r.get("id"):
            errs.append(f"entry[{i}]: resource.id does not match fullUrl")
        rt = r.get("resourceType")
        if req.get("method") != "PUT" or req.get("url") != f"{rt}/{r.get('id')}":
            errs.append(f"entry[{i}].request is not PUT {rt}/id")
        full_urls.add(fu)
        types[rt] = types.get(rt, 0) + 1
    for t in required:
        if not types.get(t):
            errs.append(f"no {t}")
    for p, v in walk(b):
        if p.endswith(".reference") and v not in full_urls:
            errs.append(f"{p}: reference '{v}' does not resolve inside the bundle")
        if isinstance(v, str) and v == "":
            errs.append(f"{p}: empty string")
        if isinstance(v, str) and DATETIME.match(v) and not ZONE.search(v):
            errs.append(f"{p}: dateTime '{v}' has no time zone")
    for e in b.get("entry", []):
        r = e["resource"]
        if r["resourceType"] == "Condition":
            c = r["code"]["coding"][0]
            if c["system"] != "http://hl7.org/fhir/sid/icd-9-cm" or not re.match(r"^([0-9]{3}|V[0-9]{2}|E[0-9]{3})(\.[0-9]{1,2})?$", c["code"]):
                errs.append(f"Condition code {c} is not a dotted ICD-9-CM code")
        if r["resourceType"] == "Procedure":
            errs += check_procedure(r, procedure_system)
    return errs, types


def main():
    args = sys.argv[1:]
    folder = args.pop(0)
    expect = None
    procedure_system = "cpt"
    required = ["Patient", "Encounter", "Condition", "Procedure"]
    while args:
        a = args.pop(0)
        if a == "--expect":
            expect = int(args.pop(0))
        elif a == "--require":
            required.append(args.pop(0))
        elif a == "--procedure-system":
            procedure_system = args.pop(0)
            if procedure_system not in PROCEDURE_SYSTEMS:
                print(f"--procedure-system: unknown value '{procedure_system}'", file=sys.stderr)
                return 2
    files = sorted(f for f in os.listdir(folder) if f.startswith("record-") and f.endswith(".json"))
    bad = 0
    for name in files:
        errs, _ = check(os.path.join(folder, name), required, procedure_system)
        for e in errs[:5]:
            print(f"{name}: {e}", file=sys.stderr)
        bad += bool(errs)
    if expect is not None and len(files) != expect:
        print(f"{folder}: {len(files)} bundles, expected {expect}", file=sys.stderr)
        return 1
    print(f"{len(files)} bundles checked, {bad} invalid")
    return 1 if bad or not files else 0


if __name__ == "__main__":
    sys.exit(main())
