"""End-to-end test of the generated Python bindings (ctypes + the release cdylib).

Same scenario as tests/kotlin/BindingsTest.kt. Run by bindings/run-jvm-tests.sh.
The sync test needs a relay started by the script (env POSYANDU_RELAY_URL,
POSYANDU_TOKEN_A/B, POSYANDU_POSYANDU_ID, POSYANDU_KADER_A/B); it is skipped only
when POSYANDU_RELAY_BIN is unset.
"""

import datetime
import os
import shutil
import tempfile
import threading
import unittest

import posyandu_bindings as p

MOTHER_NIK = "3201014203950001"  # female, born 1995-03-02
FATHER_NIK = "3201011507900002"  # male, born 1990-07-15
# The store's "today" is WIB (UTC+7).
TODAY = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=7)).date()


def env(k):
    v = os.environ.get(k, "").strip()
    return v or None


def months_ago(d, months, extra_days=0):
    y, m = divmod(d.year * 12 + d.month - 1 - months, 12)
    day = min(d.day, 28)
    return datetime.date(y, m + 1, day) - datetime.timedelta(days=extra_days)


def new_household(rt, kk=None):
    return p.NewHousehold(
        kk_number=kk,
        address=p.Address(rt=rt, rw="002", kode_wilayah="3201010001", dusun="Cibeureum"),
        spm=p.SpmAttributes(clean_water=True, latrine=False),
    )


POSYANDU = env("POSYANDU_POSYANDU_ID") or "P-3201010001-01"
KADER_A = env("POSYANDU_KADER_A") or "kader-a"


class TestKeys(p.KeyProvider):
    """The app's key storage, in memory: a fixed random key and a secrets dict."""

    def __init__(self, key=None):
        self.key = key if key is not None else os.urandom(32)
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


class Encryption(unittest.TestCase):
    def test_encrypted_store_reopens_with_its_key_only(self):
        d = tempfile.mkdtemp(prefix="posyandu-py-enc-")
        try:
            path = os.path.join(d, "e.db")
            keys = TestKeys()
            s = p.KaderStore.open(path, "device-e", "kader-e", POSYANDU, keys)
            hh = s.create_household(new_household("005"))
            m = s.add_member(hh, p.NewMember(name="Siti Aminah", birth_date="1995-03-02", sex=p.Sex.FEMALE,
                                             relation=p.Relation.ISTRI, nik=MOTHER_NIK))
            s.record_visit(hh, p.NewVisit(date=TODAY.isoformat(), kind=p.VisitKind.KUNJUNGAN_RUMAH, entries=[
                p.VisitEntry(member_id=m, measurements=p.Measurements(weight_kg=55.0))]))
            s.set_relay("http://127.0.0.1:9", "psy_rahasia_py")
            self.assertEqual(keys.secrets.get("relay_token"), "psy_rahasia_py")
            del s
            with open(path, "rb") as f:
                data = f.read()
            self.assertNotEqual(data[:16], b"SQLite format 3\0")
            for secret in (b"Siti Aminah", MOTHER_NIK.encode(), b"psy_rahasia_py"):
                self.assertNotIn(secret, data)
            s = p.KaderStore.open_existing(path, keys)
            self.assertEqual(len(s.household(hh).visits), 1)
            self.assertEqual(s.relay(), p.RelayConfig(url="http://127.0.0.1:9", token="psy_rahasia_py"))
            del s
            with self.assertRaises(p.PosyanduError.WrongKey) as cm:
                p.KaderStore.open_existing(path, TestKeys())
            self.assertTrue(str(cm.exception).startswith("Kunci basis data salah"), str(cm.exception))
            with open(path, "rb") as f:
                self.assertEqual(f.read(), data, "a wrong key changed the file")
        finally:
            shutil.rmtree(d, ignore_errors=True)


class Scenario(unittest.TestCase):
    """One store with a household (head, mother, child) and a recorded home visit."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="posyandu-py-")
        cls.store = p.KaderStore.open(os.path.join(cls.dir, "a.db"), "device-a", KADER_A, POSYANDU, TestKeys())
        s = cls.store
        cls.child_birth = months_ago(TODAY, 8, 3)
        cls.hh = s.create_household(new_household("003", kk="3201010101200001"))
        s.add_member(cls.hh, p.NewMember(name="Asep Saepudin", birth_date="1990-07-15", sex=p.Sex.MALE,
                                         relation=p.Relation.KEPALA_KELUARGA, nik=FATHER_NIK))
        cls.mother = s.add_member(cls.hh, p.NewMember(name="Siti Aminah", birth_date="1995-03-02", sex=p.Sex.FEMALE,
                                                      relation=p.Relation.ISTRI, nik=MOTHER_NIK))
        cls.child = s.add_member(cls.hh, p.NewMember(name="Nur Aisyah", birth_date=cls.child_birth.isoformat(),
                                                     sex=p.Sex.FEMALE, relation=p.Relation.ANAK,
                                                     mother_nik=p.MotherNik(mother_nik=MOTHER_NIK, birth_order=1)))
        cls.visit = s.record_visit(cls.hh, p.NewVisit(
            date=TODAY.isoformat(), kind=p.VisitKind.KUNJUNGAN_RUMAH,
            entries=[
                p.VisitEntry(member_id=cls.child,
                             measurements=p.Measurements(weight_kg=7.9, length_height_cm=69.5, measure=p.Measure.LYING),
                             services=p.Services(immunisations=["HB0", "BCG", "POLIO1"], vitamin_a=True),
                             checklist={"mp_asi": True}, counselling=["mp_asi"]),
                p.VisitEntry(member_id=cls.mother,
                             measurements=p.Measurements(bp_systolic_mmhg=120, bp_diastolic_mmhg=80),
                             referral=p.Referral(reason="Tekanan darah perlu dicek ulang", to="Puskesmas"),
                             spm_needs=[p.SpmNeed(area=p.SpmArea.SOSIAL, need="Alat bantu dengar")]),
            ]))
        s.create_household(new_household("007"))

    @classmethod
    def tearDownClass(cls):
        cls.store = None
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_identity_and_today(self):
        self.assertEqual(self.store.identity(), p.KaderIdentity(device_id="device-a", kader_id=KADER_A, posyandu_id=POSYANDU))
        self.assertEqual(self.store.today(), TODAY.isoformat())

    def test_household_detail_members_and_stage(self):
        h = self.store.household(self.hh)
        self.assertEqual(len(h.members), 3)
        child = next(m for m in h.members if m.id == self.child)
        self.assertIsNone(child.nik)
        self.assertEqual(child.mother_nik.mother_nik, MOTHER_NIK)
        self.assertEqual(child.stage, p.LifeStage.BAYI_BALITA)
        self.assertEqual(child.stage_label, "Bayi, balita dan anak prasekolah")
        head = next(m for m in h.members if m.id == h.head_member_id)
        self.assertEqual(head.name, "Asep Saepudin")

    def test_visit_read_back(self):
        v = [v for v in self.store.household(self.hh).visits if v.id == self.visit][0]
        self.assertEqual(v.date, TODAY.isoformat())
        self.assertEqual(v.kind, p.VisitKind.KUNJUNGAN_RUMAH)
        ce = next(e for e in v.entries if e.member_id == self.child)
        self.assertEqual(ce.measurements.weight_kg, 7.9)
        self.assertEqual(ce.services.immunisations, ["HB0", "BCG", "POLIO1"])
        self.assertEqual(ce.checklist, {"mp_asi": True})
        cl = self.store.checklist_for(self.hh, self.child, TODAY.isoformat())
        self.assertIn("mp_asi", [q.code for q in cl.questions])
        self.assertNotIn("tali_pusat_kering", [q.code for q in cl.questions])
        me = next(e for e in v.entries if e.member_id == self.mother)
        self.assertEqual(me.referral.to, "Puskesmas")
        self.assertEqual(me.spm_needs[0].area, p.SpmArea.SOSIAL)
        self.assertGreaterEqual(self.store.pending_changes(), 5)

    def test_list_by_rt_and_search(self):
        rt3 = self.store.list_households("003")
        self.assertEqual([h.id for h in rt3], [self.hh])
        self.assertEqual(rt3[0].head_name, "Asep Saepudin")
        self.assertEqual(rt3[0].member_count, 3)
        self.assertEqual(len(self.store.list_households("007")), 1)
        self.assertEqual([m.name for m in self.store.search_members("siti", 20)], ["Siti Aminah"])
        self.assertEqual(sorted(m.name for m in self.store.search_members("320101420395", 20)),
                         ["Nur Aisyah", "Siti Aminah"])
        self.assertIn(self.child, [m.id for m in self.store.members_by_stage(p.LifeStage.BAYI_BALITA)])

    def test_due_list_labels(self):
        item = next(d for d in self.store.due_visits() if d.member_id == self.child)
        imm = next(r for r in item.reasons if r.code == p.DueReasonCode.IMMUNISATION_MISSED)
        self.assertIn("DPT_HB_HIB1", imm.antigens)
        self.assertTrue(imm.label.startswith("Imunisasi terlewat: "), imm.label)
        self.assertFalse(any(r.code == p.DueReasonCode.NOT_WEIGHED_THIS_MONTH for r in item.reasons))

    def test_growth(self):
        # The recorded visit's weighing, previewed as a correction of that visit (visit_id): its trend
        # is the one the store gave it (B). As a new weighing the same day it would get none.
        r = self.store.assess_member_growth(self.hh, self.child, TODAY.isoformat(),
                                            p.Measurements(weight_kg=7.9, length_height_cm=69.5, measure=p.Measure.LYING),
                                            self.visit)
        self.assertEqual(r.age_months, 8)
        self.assertEqual(r.bbu, p.WeightForAge.NORMAL)
        self.assertEqual(r.bbu_label, "Berat badan normal")
        self.assertEqual(r.bbtb_label, "Gizi baik")
        self.assertEqual(r.weight_trend, p.WeightTrend.B)
        self.assertIsNone(self.store.assess_member_growth(self.hh, self.child, TODAY.isoformat(),
                                                          p.Measurements(weight_kg=8.0)).weight_trend)
        g = p.assess_growth(p.GrowthInput(sex=p.Sex.MALE, birth_date="2024-01-01", measured_on="2025-01-01", weight_kg=6.0))
        self.assertEqual(g.bbu, p.WeightForAge.SANGAT_KURANG)
        self.assertEqual(g.bbu_label, "Berat badan sangat kurang")
        self.assertEqual([t.code for t in g.referral_triggers], [p.ReferralTriggerCode.BAWAH_GARIS_MERAH])

    def test_typed_errors_in_indonesian(self):
        s = self.store
        with self.assertRaises(p.PosyanduError.Validation) as cm:
            s.record_visit(self.hh, p.NewVisit(date=TODAY.isoformat(), kind=p.VisitKind.HARI_BUKA, entries=[
                p.VisitEntry(member_id=self.child, measurements=p.Measurements(weight_kg=0.1))]))
        self.assertIn("di luar batas wajar", str(cm.exception))
        with self.assertRaises(p.PosyanduError.Validation) as cm:
            s.add_member(self.hh, p.NewMember(name="Budi", birth_date="1990-07-15", sex=p.Sex.MALE,
                                              relation=p.Relation.ANAK, nik="320101150790000"))
        self.assertEqual(str(cm.exception), "NIK harus 16 angka (diisi: 15 karakter)")
        future = (TODAY + datetime.timedelta(days=10)).isoformat()
        with self.assertRaises(p.PosyanduError.Validation) as cm:
            s.record_visit(self.hh, p.NewVisit(date=future, kind=p.VisitKind.HARI_BUKA, entries=[
                p.VisitEntry(member_id=self.child, measurements=p.Measurements(weight_kg=8.0))]))
        self.assertIn("ada di masa depan", str(cm.exception))
        with self.assertRaises(p.PosyanduError.Validation) as cm:
            s.add_member(self.hh, p.NewMember(name="Budi", birth_date="15-07-1990", sex=p.Sex.MALE, relation=p.Relation.ANAK))
        self.assertIn("TTTT-BB-HH", str(cm.exception))
        with self.assertRaises(p.PosyanduError.NotFound) as cm:
            s.household("00000000-0000-4000-8000-000000000000")
        self.assertTrue(str(cm.exception).startswith("Rumah tangga tidak ditemukan"))
        with self.assertRaises(p.PosyanduError):  # common base class
            s.household("bukan-uuid")
        with self.assertRaises(p.PosyanduError.NotConfigured) as cm:
            s.sync_now(None)
        self.assertTrue(str(cm.exception).startswith("Relay belum diatur"))

    def test_spm_need_one_request_for_two_reports_and_koordinator_steps(self):
        s = self.store
        needs = p.spm_needs()
        self.assertTrue(any(n.code == "rutilahu" and not n.for_member and n.area == "perumahan" for n in needs))
        key = s.raise_spm_need(self.hh, self.mother, "jkn_tidak_aktif", "Kartu BPJS tidak aktif")
        self.assertEqual(s.raise_spm_need(self.hh, self.mother, "jkn_tidak_aktif", "Iuran menunggak"), key)
        with self.assertRaises(p.PosyanduError.Validation):
            s.raise_spm_need(self.hh, None, "jkn_tidak_aktif", "x")
        r = s.spm_request(self.hh, key)
        self.assertEqual({n.text for n in r.notes}, {"Kartu BPJS tidak aktif", "Iuran menunggak"})
        self.assertEqual(r.status, "dicatat")
        with self.assertRaises(p.PosyanduError.Validation):
            s.verify_spm_request(self.hh, key)
        s.set_koordinator(True)
        try:
            s.verify_spm_request(self.hh, key)
            s.forward_spm_request(self.hh, key)
        finally:
            s.set_koordinator(False)
        row = next(x for x in s.spm_requests(True) if x.key == key)
        self.assertEqual(row.status, "diteruskan_ke_desa")
        self.assertEqual(row.subject_name, "Siti Aminah")
        self.assertEqual([x.status for x in s.spm_request(self.hh, key).steps],
                         ["dicatat", "diverifikasi", "diteruskan_ke_desa"])

    def test_offline_sync_keeps_outbox(self):
        d = tempfile.mkdtemp(prefix="posyandu-py-off-")
        try:
            s = p.KaderStore.open(os.path.join(d, "x.db"), "device-x", "kader-x", POSYANDU, TestKeys())
            s.create_household(new_household("001"))
            s.set_relay("http://127.0.0.1:9", "token-x")
            with self.assertRaises(p.PosyanduError.Offline) as cm:
                s.sync_now(None)
            self.assertTrue(str(cm.exception).startswith("Tidak ada koneksi ke server"))
            self.assertEqual(s.pending_changes(), 1)
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_two_threads(self):
        s, errors, n = self.store, [], 15
        barrier = threading.Barrier(2)

        def writer():
            try:
                barrier.wait()
                for i in range(n):
                    h = s.create_household(new_household("011"))
                    m = s.add_member(h, p.NewMember(name=f"Balita {i}", birth_date=self.child_birth.isoformat(),
                                                    sex=p.Sex.MALE, relation=p.Relation.ANAK))
                    s.record_visit(h, p.NewVisit(date=TODAY.isoformat(), kind=p.VisitKind.HARI_BUKA, entries=[
                        p.VisitEntry(member_id=m, measurements=p.Measurements(weight_kg=8.0))]))
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        def reader():
            try:
                barrier.wait()
                while len(s.list_households("011")) < n:
                    s.search_members("balita", 500)
                    s.due_visits()
                    s.pending_changes()
                    s.household(self.hh)
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        ts = [threading.Thread(target=writer), threading.Thread(target=reader)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
        self.assertEqual(errors, [])
        self.assertEqual(len(s.search_members("balita", 500)), n)


class Listener(p.SyncProgressListener):
    def __init__(self):
        self.phases = []

    def on_progress(self, phase, docs_done, docs_total, bytes_done, bytes_total):
        self.phases.append(phase)


@unittest.skipIf(env("POSYANDU_RELAY_BIN") is None and env("POSYANDU_RELAY_URL") is None,
                 "POSYANDU_RELAY_BIN unset (no relay)")
class SyncWithRelay(unittest.TestCase):
    def test_other_device_sees_visit(self):
        url = env("POSYANDU_RELAY_URL")
        self.assertIsNotNone(url, "POSYANDU_RELAY_BIN set but POSYANDU_RELAY_URL not: relay not started")
        d = tempfile.mkdtemp(prefix="posyandu-py-sync-")
        try:
            a = p.KaderStore.open(os.path.join(d, "a.db"), "device-a", KADER_A, POSYANDU, TestKeys())
            hh = a.create_household(new_household("004"))
            m = a.add_member(hh, p.NewMember(name="Rina", birth_date=months_ago(TODAY, 14).isoformat(),
                                             sex=p.Sex.FEMALE, relation=p.Relation.ANAK))
            v = a.record_visit(hh, p.NewVisit(date=TODAY.isoformat(), kind=p.VisitKind.KUNJUNGAN_RUMAH, entries=[
                p.VisitEntry(member_id=m, measurements=p.Measurements(weight_kg=9.2))]))
            a.set_relay(url, env("POSYANDU_TOKEN_A"))
            lis = Listener()
            rep = a.sync_now(lis)
            self.assertGreater(rep.pushed, 0)
            self.assertEqual(lis.phases[-1], p.SyncPhase.DONE)
            self.assertEqual(a.pending_changes(), 0)
            self.assertIsNotNone(a.last_sync_at())
            b = p.KaderStore.open(os.path.join(d, "b.db"), "device-b", env("POSYANDU_KADER_B") or "kader-b", POSYANDU,
                               TestKeys())
            b.set_relay(url, env("POSYANDU_TOKEN_B"))
            b.sync_now(None)
            visit = [x for x in b.household(hh).visits if x.id == v][0]
            self.assertEqual(visit.entries[0].measurements.weight_kg, 9.2)
            c = p.KaderStore.open(os.path.join(d, "c.db"), "device-c", "kader-c", POSYANDU, TestKeys())
            c.set_relay(url, "bukan-token-yang-sah")
            with self.assertRaises(p.PosyanduError.Unauthorized) as cm:
                c.sync_now(None)
            self.assertTrue(str(cm.exception).startswith("Token perangkat ditolak"), str(cm.exception))
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
