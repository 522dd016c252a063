#!/usr/bin/env python3
"""check-knowledge.py - checks mappings/knowledge.json (the knowledge base z_R) against the shared reference data.

Usage: tools/check-knowledge.py [DATA_DIR] [--knowledge FILE] [--prior FILE] [--top N]

DATA_DIR is the shared data folder (default: ../shared/data relative to the repository root). Read from it:
  icd9cm/CMS32_DESC_LONG_DX.txt            billable ICD-9-CM v32 diagnosis codes (card icd9, complication codes)
  icd9cm/CMS32_DESC_LONG_SG.txt            billable ICD-9-CM v32 procedure codes (icd9_procedure_codes)
  mimic3-demo/CPTEVENTS.csv                CPT numbers used in practice (cpt_cd column only)
  mimic3-demo/D_CPT.csv                    CPT section and subsection ranges
and from the repository: mappings/prior.json (or --prior FILE), whose diagnoses, most frequent first, must
all have cards (or the N most frequent with --top N).

Rules (docs/knowledge-format.md): required fields and types; the card icd9 written with its dot and billable
(or "*" for the one generic card); 4-8 complication codes, billable; 3-8 procedure codes, each used in CPTEVENTS
or inside a D_CPT subsection range; optional icd9_procedure_codes: 3-8, each a dotted billable
ICD-9-CM v32 volume 3 code, required on the generic card; 2-5 drugs; weights in (0, 1]; no duplicate cards or codes; prose of 2-4
sentences; every diagnosis of the prior (or the N most frequent) has a card. Prints a summary; exits 1 with
file/card/field on each failure. Python 3 standard library only.
"""

import argparse
import csv
import json
import os
import re
import sys

CARD_KEYS = {"icd9", "name", "synonyms", "complications", "treatments",
             "complication_codes", "procedure_codes", "drugs", "icd9_procedure_codes"}
HINT_KEYS = {"code", "display", "weight"}
DRUG_KEYS = {"type", "drug", "formulary_cd", "dose_val", "dose_unit", "form_val", "form_unit", "route", "weight"}
DRUG_TYPES = {"MAIN", "BASE", "ADDITIVE"}
COUNTS = {"complication_codes": (4, 8), "procedure_codes": (3, 8), "icd9_procedure_codes": (3, 8), "drugs": (2, 5)}
SENTENCES = (2, 4)
MAX_DISPLAY = 60
GENERIC = "*"


def repo_root():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def undot(code):
    return code.replace(".", "").upper()


def dot_icd9(code):
    """Writes an undotted ICD-9-CM diagnosis code with its dot: 4019 -> 401.9, V053 -> V05.3, E8788 -> E878.8."""
    head = 4 if code.startswith("E") else 3
    return code if len(code) <= head else code[:head] + "." + code[head:]


def load_icd9(data_dir, name="CMS32_DESC_LONG_DX.txt"):
    codes = set()
    path = os.path.join(data_dir, "icd9cm", name)
    with open(path, encoding="latin-1") as f:
        for line in f:
            if line.strip():
                codes.add(line.split(None, 1)[0])
    return codes


def load_cpt(data_dir):
    used = set()
    with open(os.path.join(data_dir, "mimic3-demo", "CPTEVENTS.csv"), newline="") as f:
        for row in csv.DictReader(f):
            if row["cpt_cd"]:
                used.add(row["cpt_cd"].strip().upper())
    ranges = []
    with open(os.path.join(data_dir, "mimic3-demo", "D_CPT.csv"), newline="") as f:
        for row in csv.DictReader(f):
            lo, hi = row["mincodeinsubsection"], row["maxcodeinsubsection"]
            if lo.isdigit() and hi.isdigit():
                ranges.append((row["codesuffix"].strip().upper(), int(lo), int(hi)))
    return used, ranges


def load_top(prior_path):
    """The prior's diagnosis codes, undotted, most frequent first (ties by code)."""
    with open(prior_path, encoding="utf-8") as f:
        doc = json.load(f)
    rows = doc.get("diagnoses") if isinstance(doc, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, dict) and isinstance(r.get("code"), str) for r in rows):
        raise ValueError("%s: diagnoses must be an array of objects with a code" % prior_path)
    rows = sorted(rows, key=lambda r: (-float(r.get("weight", 0)), undot(r["code"])))
    return [undot(r["code"]) for r in rows]


def cpt_ok(code, used, ranges):
    if code in used:
        return True
    if re.fullmatch(r"[0-9]{5}", code):
        suffix, num = "", int(code)
    elif re.fullmatch(r"[0-9]{4}[FT]", code):
        suffix, num = code[4], int(code[:4])
    else:
        return False
    return any(s == suffix and lo <= num <= hi for s, lo, hi in ranges)


def icd9_form_ok(code):
    """True when code is an ICD-9-CM diagnosis code written with its dot where it has one."""
    return bool(re.fullmatch(r"[0-9]{3}(\.[0-9]{1,2})?|V[0-9]{2}(\.[0-9]{1,2})?|E[0-9]{3}(\.[0-9])?", code))


def icd9_px_form_ok(code):
    """True when code is an ICD-9-CM procedure code written with its dot after two digits (96.71, 64.0)."""
    return bool(re.fullmatch(r"[0-9]{2}\.[0-9]{1,2}", code))


def sentence_count(text):
    return len(re.findall(r"[.!?](?:\s|$)", text.strip()))


def is_weight(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= 1


class Checker:
    def __init__(self, name, icd9, cpt_used, cpt_ranges, icd9_px=frozenset()):
        self.name = name
        self.icd9 = icd9
        self.icd9_px = icd9_px
        self.cpt_used = cpt_used
        self.cpt_ranges = cpt_ranges
        self.errors = []
        self.warnings = []
        self.displays = {}

    def fail(self, where, msg):
        self.errors.append("%s: %s: %s" % (self.name, where, msg))

    def string(self, obj, key, where, required=True, empty=False):
        if key not in obj:
            if required:
                self.fail(where + "." + key, "missing")
            return None
        value = obj[key]
        if not isinstance(value, str):
            self.fail(where + "." + key, "must be a string")
            return None
        if not empty and not value.strip():
            self.fail(where + "." + key, "must not be empty")
        return value

    def keys(self, obj, allowed, where):
        for key in obj:
            if key not in allowed and not key.startswith("_"):
                self.fail(where + "." + key, "unknown field")

    def weight(self, obj, where):
        if "weight" not in obj:
            self.fail(where + ".weight", "missing")
        elif not is_weight(obj["weight"]):
            self.fail(where + ".weight", "must be in (0, 1]")

    def check_display(self, code, display, where):
        if display is None:
            return
        if len(display) > MAX_DISPLAY:
            self.fail(where + ".display", "longer than %d characters" % MAX_DISPLAY)
        seen = self.displays.setdefault(code, (display, where))
        if seen[0] != display:
            self.warnings.append("%s: %s.display: %r differs from %r at %s" % (self.name, where, display, *seen))

    def hint_list(self, card, key, where, own):
        items = card.get(key)
        if not isinstance(items, list):
            self.fail(where + "." + key, "missing" if items is None else "must be an array")
            return
        lo, hi = COUNTS[key]
        if not lo <= len(items) <= hi:
            self.fail(where + "." + key, "has %d entries, want %d-%d" % (len(items), lo, hi))
        seen = set()
        for i, hint in enumerate(items):
            hw = "%s.%s[%d]" % (where, key, i)
            if not isinstance(hint, dict):
                self.fail(hw, "must be an object")
                continue
            self.keys(hint, HINT_KEYS, hw)
            code = self.string(hint, "code", hw)
            display = self.string(hint, "display", hw)
            self.weight(hint, hw)
            if code is None:
                continue
            if code in seen:
                self.fail(hw + ".code", "duplicate code %s" % code)
            seen.add(code)
            if key == "complication_codes":
                self.complication(code, hw, own)
            elif key == "icd9_procedure_codes":
                self.icd9_procedure(code, hw)
            elif not cpt_ok(code, self.cpt_used, self.cpt_ranges):
                self.fail(hw + ".code", "%s is neither in CPTEVENTS.csv nor inside a D_CPT.csv subsection" % code)
            self.check_display(code, display, hw)

    def complication(self, code, where, own):
        if not icd9_form_ok(code):
            self.fail(where + ".code", "%s is not a dotted icd-9-cm diagnosis code" % code)
        elif undot(code) not in self.icd9:
            self.fail(where + ".code", "%s is not a billable code in CMS32_DESC_LONG_DX.txt" % code)
        elif own and undot(code) == undot(own):
            self.fail(where + ".code", "%s is the card's own diagnosis" % code)

    def icd9_procedure(self, code, where):
        if not icd9_px_form_ok(code):
            self.fail(where + ".code", "%s is not an icd-9-cm procedure code with its dot after two digits" % code)
        elif undot(code) not in self.icd9_px:
            self.fail(where + ".code", "%s is not a billable code in CMS32_DESC_LONG_SG.txt" % code)

    def drugs(self, card, where):
        items = card.get("drugs")
        if not isinstance(items, list):
            self.fail(where + ".drugs", "missing" if items is None else "must be an array")
            return
        lo, hi = COUNTS["drugs"]
        if not lo <= len(items) <= hi:
            self.fail(where + ".drugs", "has %d entries, want %d-%d" % (len(items), lo, hi))
        for i, drug in enumerate(items):
            dw = "%s.drugs[%d]" % (where, i)
            if not isinstance(drug, dict):
                self.fail(dw, "must be an object")
                continue
            self.keys(drug, DRUG_KEYS, dw)
            for key in sorted(DRUG_KEYS - {"weight"}):
                self.string(drug, key, dw, empty=key not in ("type", "drug"))
            if drug.get("type") not in DRUG_TYPES and isinstance(drug.get("type"), str):
                self.fail(dw + ".type", "must be one of %s" % ", ".join(sorted(DRUG_TYPES)))
            self.weight(drug, dw)

    def prose(self, card, key, where):
        text = self.string(card, key, where)
        if text is None:
            return
        n = sentence_count(text)
        if not SENTENCES[0] <= n <= SENTENCES[1]:
            self.fail(where + "." + key, "has %d sentences, want %d-%d" % (n, SENTENCES[0], SENTENCES[1]))

    def card(self, card, i):
        where = "cards[%d]" % i
        if not isinstance(card, dict):
            self.fail(where, "must be an object")
            return None
        self.keys(card, CARD_KEYS, where)
        code = self.string(card, "icd9", where)
        if code is not None:
            where = "cards[%d] (%s)" % (i, code)
            if code != GENERIC and not icd9_form_ok(code):
                self.fail(where + ".icd9", "%s is not a dotted icd-9-cm diagnosis code" % code)
                code = None
            elif code != GENERIC and undot(code) not in self.icd9:
                self.fail(where + ".icd9", "%s is not a billable code in CMS32_DESC_LONG_DX.txt" % code)
        self.string(card, "name", where)
        syn = card.get("synonyms", [])
        if not isinstance(syn, list) or not all(isinstance(s, str) and s.strip() for s in syn):
            self.fail(where + ".synonyms", "must be an array of non-empty strings")
        self.prose(card, "complications", where)
        self.prose(card, "treatments", where)
        self.hint_list(card, "complication_codes", where, code if code != GENERIC else None)
        self.hint_list(card, "procedure_codes", where, None)
        if "icd9_procedure_codes" in card or code == GENERIC:
            self.hint_list(card, "icd9_procedure_codes", where, None)
        self.drugs(card, where)
        return code

    def check(self, doc):
        if not isinstance(doc, dict):
            self.fail("(root)", "must be an object")
            return []
        self.keys(doc, {"source", "cards"}, "(root)")
        self.string(doc, "source", "(root)")
        cards = doc.get("cards")
        if not isinstance(cards, list) or not cards:
            self.fail("cards", "must be a non-empty array")
            return []
        seen = {}
        for i, card in enumerate(cards):
            code = self.card(card, i)
            if code is None:
                continue
            key = undot(code)
            if key in seen:
                self.fail("cards[%d].icd9" % i, "duplicate of cards[%d] (%s)" % (seen[key], code))
            seen.setdefault(key, i)
        if GENERIC not in seen:
            self.fail("cards", 'no generic card with "icd9": "*"')
        return list(seen)


def summarise(doc, keys, top, need):
    cards = doc.get("cards", []) if isinstance(doc, dict) else []
    hints = sum(len(c.get("complication_codes", [])) + len(c.get("procedure_codes", [])) +
                len(c.get("icd9_procedure_codes", [])) for c in cards if isinstance(c, dict))
    drugs = sum(len(c.get("drugs", [])) for c in cards if isinstance(c, dict))
    covered = [c for c in top if c in keys]
    missing = [dot_icd9(c) for c in top if c not in keys]
    print("cards: %d (%d with a diagnosis code, generic: %s)" %
          (len(cards), len([k for k in keys if k != GENERIC]), "yes" if GENERIC in keys else "no"))
    print("coded hints: %d, drugs: %d" % (hints, drugs))
    print("prior diagnoses with a card: %d of %d" % (len(covered), len(top)))
    if need < len(top):
        print("top-%d prior diagnoses with a card: %d of %d" % (need, len([c for c in top[:need] if c in keys]), need))
    if missing:
        print("without a card (by admissions): %s" % " ".join(missing))
    return [dot_icd9(c) for c in top[:need] if c not in keys]


def main():
    parser = argparse.ArgumentParser(description="check mappings/knowledge.json against the shared data")
    parser.add_argument("data_dir", nargs="?", default=os.path.join(repo_root(), "..", "shared", "data"))
    parser.add_argument("--knowledge", default=os.path.join(repo_root(), "mappings", "knowledge.json"))
    parser.add_argument("--prior", default=os.path.join(repo_root(), "mappings", "prior.json"),
                        help="the prior whose diagnoses need cards (default: mappings/prior.json)")
    parser.add_argument("--top", type=int, default=0,
                        help="only the N most frequent prior diagnoses need cards (default: all)")
    args = parser.parse_args()
    name = os.path.basename(args.knowledge)
    try:
        with open(args.knowledge, encoding="utf-8") as f:
            doc = json.load(f)
        icd9 = load_icd9(args.data_dir)
        icd9_px = load_icd9(args.data_dir, "CMS32_DESC_LONG_SG.txt")
        used, ranges = load_cpt(args.data_dir)
        top = load_top(args.prior)
    except (OSError, ValueError, KeyError) as e:
        print("check-knowledge: error: %s" % e, file=sys.stderr)
        return 1
    need = args.top if 0 < args.top < len(top) else len(top)
    checker = Checker(name, icd9, used, ranges, icd9_px)
    keys = set(checker.check(doc))
    for code in summarise(doc, keys, top, need):
        checker.fail("cards", "no card for prior diagnosis %s" % code)
    for w in checker.warnings:
        print("warning: " + w)
    for e in checker.errors:
        print("error: " + e, file=sys.stderr)
    print("%s: %d error(s), %d warning(s)" % (name, len(checker.errors), len(checker.warnings)))
    return 1 if checker.errors else 0


if __name__ == "__main__":
    sys.exit(main())
