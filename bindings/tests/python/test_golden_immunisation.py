"""Golden vectors tests/golden/immunisation.json through the Python bindings.

The same file is run by core/tests/golden_immunisation.rs (Rust, posyandu_core::rules)
and bindings/tests/kotlin/GoldenImmunisation.kt, through the typed binding functions
the app uses: immunisation_status, expected_vitamin_a_capsule, vitamin_a_missed,
known_antigens. Golden directory: POSYANDU_GOLDEN_DIR or <repo>/tests/golden.
"""

import unittest

import posyandu_bindings as p
from golden import golden_cases


def cases(kind):
    return [c for c in golden_cases("immunisation") if c["kind"] == kind]


def enum_name(e):
    return e.name.lower()


class GoldenImmunisation(unittest.TestCase):
    def test_immunisation_status(self):
        cs = cases("immunisation_status")
        self.assertGreaterEqual(len(cs), 10)
        for c in cs:
            with self.subTest(c["name"], why=c["why"]):
                given = [p.GivenDose(code=g["code"], date=g["date"]) for g in c["given"]]
                got = p.immunisation_status(c["birth_date"], given, c["today"])
                self.assertEqual(len(got), c["expected_len"])
                by_code = {s.code: s for s in got}
                for code, exp in c["expected_status"].items():
                    s = by_code[code]
                    self.assertEqual(enum_name(s.status), exp["status"], code)
                    self.assertEqual(s.given_date, exp.get("date"), code)
                overdue = [s.code for s in got if s.group == p.AntigenGroup.ANAK and s.status == p.DoseStatus.OVERDUE]
                self.assertEqual(overdue, c["expected_overdue"])

    def test_vitamin_a_capsule(self):
        cs = cases("vitamin_a_capsule")
        self.assertGreaterEqual(len(cs), 5)
        for c in cs:
            with self.subTest(c["name"], why=c["why"]):
                got = p.expected_vitamin_a_capsule(c["birth_date"], c["on"], c["nifas"])
                self.assertEqual(None if got is None else enum_name(got), c["expected_capsule"])

    def test_vitamin_a_missed(self):
        cs = cases("vitamin_a_missed")
        self.assertGreaterEqual(len(cs), 5)
        for c in cs:
            with self.subTest(c["name"], why=c["why"]):
                got = p.vitamin_a_missed(c["birth_date"], c["last_vitamin_a"], c["today"])
                self.assertEqual(got, c["expected_missed"])

    def test_known_antigens_cover_every_recorded_code(self):
        codes = [a.code for a in p.known_antigens()]
        for c in ["HB0", "BCG", "RV1", "MR2", "DT", "TD1", "TD5", "HPV1", "HPV2", "JE"]:
            self.assertIn(c, codes)
        self.assertTrue(all(a.source for a in p.known_antigens()))
        rv = next(a for a in p.known_antigens() if a.code == "RV1")
        self.assertEqual(rv.born_from, "2023-05-16")

    def test_bad_date_is_a_validation_error(self):
        with self.assertRaises(p.PosyanduError.Validation):
            p.immunisation_status("2026-13-01", [], "2026-02-01")


if __name__ == "__main__":
    unittest.main()
