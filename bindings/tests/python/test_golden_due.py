"""Golden vectors tests/golden/due.json (issue 10) through the Python bindings.

Kind due_reasons: a member's visits, whether this month's hari buka has taken
place and today, asked of the binding `due_reasons` (the core's rules::due::reasons,
which the store's due_visits uses); the reason codes (DueReasonCode names) and,
when given, the Indonesian labels. Kind session: the binding `session_held`
(rules::session). The same file is run by core/tests/golden_due.rs and
bindings/tests/kotlin/GoldenDue.kt.
"""

import unittest

import posyandu_bindings as p
from golden import golden_cases

CASES = golden_cases("due")


class GoldenDue(unittest.TestCase):
    def test_enough_cases(self):
        self.assertGreaterEqual(len(CASES), 25)


def due_input(case):
    visits = [
        p.SeenVisit(
            date=v["date"],
            weight_kg=None if v.get("weight_kg") is None else float(v["weight_kg"]),
            vitamin_a=bool(v.get("vitamin_a", False)),
            antigens=list(v.get("antigens", [])),
        )
        for v in case["visits"]
    ]
    return p.DueInput(
        birth_date=case["birth_date"],
        sex=p.Sex[case["sex"]],
        stage=p.LifeStage[case["stage"]],
        kek=bool(case["kek"]),
        visits=visits,
        session_held=bool(case["session_held"]),
        today=case["today"],
    )


def make_test(case):
    def test(self):
        self.assertTrue(case["why"], "no why")
        if case["kind"] == "due_reasons":
            reasons = p.due_reasons(due_input(case))
            self.assertEqual([r.code.name for r in reasons], case["expected"], case["why"])
            if "expected_labels" in case:
                self.assertEqual([r.label for r in reasons], case["expected_labels"])
        elif case["kind"] == "session":
            held = p.session_held(list(case["session_dates"]), case["today"])
            self.assertEqual(held, case["expected_held"], case["why"])
        else:
            self.fail(f"unknown kind {case['kind']}")

    return test


for c in CASES:
    setattr(GoldenDue, f"test_{c['name']}", make_test(c))


if __name__ == "__main__":
    unittest.main()
