"""Golden vectors tests/golden/trend.json (issue 10) through the Python bindings.

Each case is a child's weighings and the N/T/O/B of each, asked of the binding
`kms_trends` (the core's rules::trend::series_trends, behind the store's trends,
the growth preview and the Puskesmas report). The same file is run by
core/tests/golden_trend.rs and bindings/tests/kotlin/GoldenTrend.kt.
"""

import unittest

import posyandu_bindings as p
from golden import golden_cases

CASES = golden_cases("trend")


class GoldenTrend(unittest.TestCase):
    def test_enough_cases(self):
        self.assertGreaterEqual(len(CASES), 20)


def make_test(case):
    def test(self):
        self.assertTrue(case["why"], "no why")
        sex = {"male": p.Sex.MALE, "female": p.Sex.FEMALE}[case["sex"]]
        weighings = [p.Weighing(date=w["date"], weight_kg=float(w["weight_kg"])) for w in case["weighings"]]
        got = [None if t is None else t.name for t in p.kms_trends(sex, case["birth_date"], weighings)]
        self.assertEqual(got, case["expected"], case["why"])

    return test


for c in CASES:
    setattr(GoldenTrend, f"test_{c['name']}", make_test(c))


if __name__ == "__main__":
    unittest.main()
