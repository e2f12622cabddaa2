"""Golden vectors tests/golden/growth.json through the Python bindings (assess_growth):
the same z-scores and category labels as core/tests/golden_growth.rs."""

import unittest

import posyandu_bindings as p
from golden import golden_cases

TOL = 5e-7 + 1e-12
MEASURE = {"lying": p.Measure.LYING, "standing": p.Measure.STANDING, None: None}


class GoldenGrowth(unittest.TestCase):
    def test_cases(self):
        for c in golden_cases("growth"):
            with self.subTest(c["why"]):
                i, e = c["input"], c["expected"]
                r = p.assess_growth(p.GrowthInput(
                    sex=p.Sex.MALE if i["sex"] == "male" else p.Sex.FEMALE,
                    birth_date=i["birth_date"], measured_on=i["measured_on"],
                    weight_kg=i["weight_kg"], length_height_cm=i["length_height_cm"],
                    measure=MEASURE[i["measure"]], oedema=i["oedema"],
                    head_circumference_cm=i["head_circumference_cm"], muac_cm=i["muac_cm"]))
                self.assertEqual(r.age_days, e["age_days"])
                self.assertEqual(r.reference, e["reference"])
                for name in ("zwfa", "zlhfa", "zwfl", "zbmi", "zhcfa", "zmuac"):
                    want, got = e[name], getattr(r, name)
                    self.assertEqual(want is None, got is None, f"{name}: {want} vs {got}")
                    if want is not None:
                        self.assertLessEqual(abs(want - got), TOL, name)
                for k in ("bbu", "tbu", "bbtb", "imtu"):
                    self.assertEqual(getattr(r, k + "_label"), e[k + "_label"], k)


if __name__ == "__main__":
    unittest.main()
