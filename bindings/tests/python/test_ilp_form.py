"""The ILP form helpers of the bindings (bindings/src/ilp_form.rs, issue 12): the
referral reason catalogue and action labels come from the core's rulebook, and the
ASI eksklusif question applies from birth to five completed months (the core's
rules::breastfeeding::asked_at); the app holds no list and no threshold of its own.
"""

import unittest

import posyandu_bindings as p


class IlpForm(unittest.TestCase):
    def test_reason_catalogue_in_the_core_order(self):
        reasons = p.referral_reasons()
        codes = [r.code for r in reasons]
        self.assertEqual(codes[:3], ["2T", "T", "BGM"])
        self.assertEqual(len(codes), len(set(codes)))
        by_code = {r.code: r for r in reasons}
        self.assertTrue(by_code["KEK_HAMIL"].proposed_by_rules)
        self.assertFalse(by_code["LAINNYA"].proposed_by_rules)
        self.assertEqual(by_code["HIPERTENSI"].label, "Tekanan darah tinggi (hipertensi)")

    def test_action_labels(self):
        self.assertEqual(p.referral_action_label("pmt"), "Pemberian makanan tambahan (PMT)")
        self.assertEqual(p.referral_action_label("baru"), "baru")

    def test_asi_eksklusif_applies_0_to_5_completed_months(self):
        birth = "2026-01-15"
        self.assertTrue(p.asi_eksklusif_asked(birth, "2026-01-15"))
        self.assertTrue(p.asi_eksklusif_asked(birth, "2026-07-14"))  # 5 months 29 days
        self.assertFalse(p.asi_eksklusif_asked(birth, "2026-07-15"))  # 6 months
        self.assertFalse(p.asi_eksklusif_asked(birth, "2026-01-14"))  # before birth
        self.assertFalse(p.asi_eksklusif_asked("bukan tanggal", "2026-03-01"))


if __name__ == "__main__":
    unittest.main()
