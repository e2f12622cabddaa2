"""The Posyandu document (issue 12) through the Python bindings: schedule rule and
an explicit service date, roster, area, sasaran; the H-1 undangan list, the register
of a service day and the home-visit list after it. Same scenario as
bindings/tests/kotlin/PosyanduDoc.kt.
"""

import datetime
import os
import shutil
import tempfile
import unittest

import posyandu_bindings as p

TODAY = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=7)).date()


class Keys(p.KeyProvider):
    def __init__(self):
        self.key = os.urandom(32)
        self.secrets = {}

    def database_key(self):
        return self.key

    def read_secret(self, name):
        return self.secrets.get(name)

    def write_secret(self, name, value):
        if value is None:
            self.secrets.pop(name, None)
        else:
            self.secrets[name] = value


class PosyanduDocument(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="posyandu-py-doc-")
        self.store = p.KaderStore.open(os.path.join(self.dir, "p.db"), "device-p", "kader-p", "P-DOC", Keys())
        self.session = (TODAY - datetime.timedelta(days=3)).isoformat()

    def tearDown(self):
        del self.store
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_schedule_roster_area_sasaran(self):
        s = self.store
        s.set_schedule_rule("last", "jumat")
        s.set_service_date(self.session, None, "pindah hari", False)
        s.set_roster_entry("kader-p", "Bu Ani", "anggota", True)
        s.set_area_entry("3201010001", "002", "003", None, True)
        s.set_sasaran(TODAY.year, None, None, None, 40, None)
        info = s.posyandu()
        self.assertEqual((info.rule_week, info.rule_weekday), ("last", "friday"))
        self.assertEqual([d.date for d in info.dates], [self.session])
        self.assertEqual(info.dates[0].note, "pindah hari")
        self.assertEqual([r.role for r in info.roster], ["anggota"])
        self.assertEqual(info.sasaran[0].balita, 40)
        self.assertEqual(info.sasaran[0].source, "kader")
        s.remove_service_date(self.session)
        s.set_schedule_rule(None, None)
        info = s.posyandu()
        self.assertIsNone(info.rule_week)
        self.assertEqual(info.dates, [])
        with self.assertRaises(p.PosyanduError.Validation):
            s.set_schedule_rule("2", "someday")

    def test_lists_of_a_service_day(self):
        s = self.store
        hh = s.create_household(p.NewHousehold(kk_number=None, address=p.Address(
            rt="003", rw="002", kode_wilayah="3201010001"), spm=p.SpmAttributes()))
        birth = (TODAY - datetime.timedelta(days=300)).isoformat()
        child = s.add_member(hh, p.NewMember(name="Nur", birth_date=birth, sex=p.Sex.FEMALE, relation=p.Relation.ANAK))
        s.set_service_date(self.session, "Balai RW 02", None, False)
        inv = s.undangan(self.session)
        self.assertEqual([i.name for i in inv.items], ["Nur"])
        self.assertIn("penimbangan", [r.code for r in inv.items[0].reasons])
        self.assertEqual([i.section for i in s.home_visit_list(self.session).items], ["tidak_hadir"])
        s.record_visit(hh, p.NewVisit(date=self.session, kind=p.VisitKind.HARI_BUKA, entries=[
            p.VisitEntry(member_id=child, measurements=p.Measurements(weight_kg=8.2))]))
        reg = s.service_register(self.session)
        self.assertEqual((reg.expected, reg.came), (1, 1))
        self.assertEqual(reg.entries[0].weight_kg, 8.2)
        self.assertNotIn("tidak_hadir", [i.section for i in s.home_visit_list(self.session).items])


if __name__ == "__main__":
    unittest.main()
