"""Golden vectors tests/golden/screening.json through the Python bindings.

The same cases are run by core/tests/golden_screening.rs (Rust) and
bindings/tests/kotlin/GoldenScreening.kt (Kotlin): adult screening through the typed
screening_preview() and NIK warnings through nik_warnings(), the functions the app
uses. Golden directory: env POSYANDU_GOLDEN_DIR, else <repo>/tests/golden.
"""

import json
import os
import unittest

import posyandu_bindings as p

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN_DIR = os.environ.get("POSYANDU_GOLDEN_DIR") or os.path.join(HERE, "..", "..", "..", "tests", "golden")

MEASUREMENT_FIELDS = (
    "weight_kg", "length_height_cm", "head_circumference_cm", "muac_cm", "waist_cm",
    "bp_systolic_mmhg", "bp_diastolic_mmhg", "blood_glucose_mg_dl", "oedema",
)


def cases(kind):
    with open(os.path.join(GOLDEN_DIR, "screening.json"), encoding="utf-8") as f:
        doc = json.load(f)
    return [c for c in doc["cases"] if c["kind"] == kind]


def sex(s):
    return {"male": p.Sex.MALE, "female": p.Sex.FEMALE}[s]


def measurements(m):
    kw = {}
    for k in MEASUREMENT_FIELDS:
        if k in m:
            v = m[k]
            kw[k] = int(v) if k.startswith("bp_") else (float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v)
    if "blood_glucose_kind" in m:
        kw["blood_glucose_kind"] = {"puasa": p.GlucoseKind.PUASA, "sewaktu": p.GlucoseKind.SEWAKTU}[m["blood_glucose_kind"]]
    return p.Measurements(**kw)


def enum_code(e):
    return None if e is None else e.name.lower()


class GoldenScreening(unittest.TestCase):
    def test_screening_preview(self):
        cs = cases("screening")
        self.assertGreaterEqual(len(cs), 20)
        for c in cs:
            with self.subTest(why=c["why"]):
                r = p.screening_preview(sex(c["sex"]), c["birth_date"], c["visit_date"], measurements(c["measurements"]))
                got = {
                    "age_years": r.age_years,
                    "applies": r.applies,
                    "hypertension": r.hypertension,
                    "glucose_kind": enum_code(r.glucose_kind),
                    "high_glucose": r.high_glucose,
                    "imt": r.imt,
                    "imt_category": enum_code(r.imt_category),
                    "central_obesity": r.central_obesity,
                }
                for k, exp in c["expected"].items():
                    if isinstance(exp, float) or (isinstance(exp, int) and not isinstance(exp, bool) and k == "imt"):
                        self.assertIsNotNone(got[k], k)
                        self.assertAlmostEqual(got[k], exp, places=9, msg=k)
                    else:
                        self.assertEqual(got[k], exp, k)

    def test_nik_warnings(self):
        cs = cases("nik")
        self.assertGreaterEqual(len(cs), 5)
        for c in cs:
            with self.subTest(why=c["why"]):
                w = p.nik_warnings(c["nik"], c["birth_date"], sex(c["sex"]))
                self.assertEqual([x.code for x in w], c["expected"]["codes"])
                if "messages" in c["expected"]:
                    self.assertEqual([x.message for x in w], c["expected"]["messages"])


if __name__ == "__main__":
    unittest.main()
