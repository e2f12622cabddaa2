// End-to-end test of the generated Kotlin bindings on the host JVM (JNA + the
// release cdylib). Run by bindings/run-jvm-tests.sh; exits non-zero on any failure
// and prints `kotlin: N passed, N failed, N skipped` for the script to count.
//
// Sync: runs against a real relay when the script started one (env
// POSYANDU_RELAY_URL, POSYANDU_TOKEN_A, POSYANDU_TOKEN_B, POSYANDU_POSYANDU_ID,
// POSYANDU_KADER_A, POSYANDU_KADER_B); skipped only when POSYANDU_RELAY_BIN is unset.

import id.posyandu.sync.*
import java.nio.file.Files
import java.nio.file.Path
import java.time.LocalDate
import java.time.ZoneOffset
import java.util.Collections
import java.util.concurrent.CountDownLatch
import kotlin.system.exitProcess
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue

class Skip(msg: String) : Exception(msg)

var passed = 0
var failed = 0
var skipped = 0

fun test(name: String, body: () -> Unit) {
    val t0 = System.nanoTime()
    try {
        body()
        passed++
        println("  ok    $name (${(System.nanoTime() - t0) / 1_000_000} ms)")
    } catch (s: Skip) {
        skipped++
        println("  skip  $name: ${s.message}")
    } catch (t: Throwable) {
        failed++
        println("  FAIL  $name: $t")
        t.printStackTrace(System.out)
    }
}

// The store's "today" is WIB (UTC+7).
val today: LocalDate = LocalDate.now(ZoneOffset.ofHours(7))
fun d(x: LocalDate) = x.toString()

const val MOTHER_NIK = "3201014203950001" // female, born 1995-03-02
const val FATHER_NIK = "3201011507900002" // male, born 1990-07-15

fun env(k: String): String? = System.getenv(k)?.takeIf { it.isNotBlank() }

/// The app's key storage, in memory: a fixed random key and a secrets map.
class TestKeys(
    private val key: ByteArray = ByteArray(32).also { java.security.SecureRandom().nextBytes(it) },
) : KeyProvider {
    val secrets = java.util.concurrent.ConcurrentHashMap<String, String>()
    override fun databaseKey(): ByteArray = key.copyOf()
    override fun readSecret(name: String): String? = secrets[name]
    override fun writeSecret(name: String, value: String?) {
        if (value == null) secrets.remove(name) else secrets[name] = value
    }
}

fun ByteArray.containsText(s: String): Boolean {
    val n = s.toByteArray()
    return (0..size - n.size).any { i -> n.indices.all { this[i + it] == n[it] } }
}

fun newHousehold(rt: String, kk: String? = null) = NewHousehold(
    kkNumber = kk,
    address = Address(rt = rt, rw = "002", kodeWilayah = "3201010001", dusun = "Cibeureum"),
    spm = SpmAttributes(cleanWater = true, latrine = false),
)

fun main() {
    val dir: Path = Files.createTempDirectory("posyandu-kt-")
    val relayUrl = env("POSYANDU_RELAY_URL")
    val posyanduId = env("POSYANDU_POSYANDU_ID") ?: "P-3201010001-01"
    val kaderA = env("POSYANDU_KADER_A") ?: "kader-a"
    println("Kotlin binding tests (bindings ${bindingsVersion()}), temp dir $dir")

    val store = KaderStore.open(dir.resolve("a.db").toString(), "device-a", kaderA, posyanduId, TestKeys())
    lateinit var hhId: String
    lateinit var motherId: String
    lateinit var childId: String
    lateinit var visitId: String
    val childBirth = today.minusMonths(8).minusDays(3)

    test("open + identity + today") {
        assertEquals(KaderIdentity("device-a", kaderA, posyanduId), store.identity())
        assertEquals(d(today), store.today())
        assertEquals(0uL, store.pendingChanges())
        assertNull(store.lastSyncAt())
        assertNull(store.relay())
    }

    test("create household, add members (head, mother, child with mother's NIK)") {
        hhId = store.createHousehold(newHousehold("003", kk = "3201010101200001"))
        store.addMember(hhId, NewMember(name = "Asep Saepudin", birthDate = "1990-07-15", sex = Sex.MALE,
            relation = Relation.KEPALA_KELUARGA, nik = FATHER_NIK))
        motherId = store.addMember(hhId, NewMember(name = "Siti Aminah", birthDate = "1995-03-02", sex = Sex.FEMALE,
            relation = Relation.ISTRI, nik = MOTHER_NIK, bpjsNumber = "0001234567890"))
        childId = store.addMember(hhId, NewMember(name = "Nur Aisyah", birthDate = d(childBirth), sex = Sex.FEMALE,
            relation = Relation.ANAK, motherNik = MotherNik(MOTHER_NIK, 1u.toUByte())))
        val h = store.household(hhId)
        assertEquals(3, h.members.size)
        assertEquals("003", h.address.rt)
        assertEquals(true, h.spm.cleanWater)
        val child = h.members.single { it.id == childId }
        assertNull(child.nik)
        assertEquals(MOTHER_NIK, child.motherNik?.motherNik)
        assertEquals(LifeStage.BAYI_BALITA, child.stage)
        assertEquals("Bayi, balita dan anak prasekolah", child.stageLabel)
        assertEquals(8, child.ageMonths)
        assertEquals(LifeStage.DEWASA, h.members.single { it.id == motherId }.stage)
        assertNotNull(h.headMemberId)
        assertEquals("Asep Saepudin", h.members.single { it.id == h.headMemberId }.name)
    }

    test("record a home visit with measurements, services, referral, SPM need; read it back") {
        visitId = store.recordVisit(hhId, NewVisit(
            date = d(today), kind = VisitKind.KUNJUNGAN_RUMAH,
            entries = listOf(
                VisitEntry(
                    memberId = childId,
                    measurements = Measurements(weightKg = 7.9, lengthHeightCm = 69.5, measure = Measure.LYING,
                        headCircumferenceCm = 43.0, muacCm = 14.0),
                    services = Services(immunisations = listOf("HB0", "BCG", "POLIO1"), vitaminA = true),
                    checklist = mapOf("mp_asi" to true),
                    counselling = listOf("mp_asi"),
                ),
                VisitEntry(
                    memberId = motherId,
                    measurements = Measurements(bpSystolicMmhg = 120u.toUShort(), bpDiastolicMmhg = 80u.toUShort()),
                    referral = Referral(reason = "Tekanan darah perlu dicek ulang", to = "Puskesmas"),
                    spmNeeds = listOf(SpmNeed(SpmArea.SOSIAL, "Alat bantu dengar untuk nenek")),
                ),
            ),
        ))
        val v = store.household(hhId).visits.single()
        assertEquals(visitId, v.id)
        assertEquals(d(today), v.date)
        assertEquals(VisitKind.KUNJUNGAN_RUMAH, v.kind)
        assertEquals(kaderA, v.kaderId)
        val ce = v.entries.single { it.memberId == childId }
        assertEquals(7.9, ce.measurements.weightKg)
        assertEquals(Measure.LYING, ce.measurements.measure)
        assertEquals(listOf("HB0", "BCG", "POLIO1"), ce.services.immunisations)
        assertEquals(mapOf("mp_asi" to true), ce.checklist)
        assertEquals(listOf("mp_asi"), ce.counselling)
        // The core's checklist for an 8-month-old: MP-ASI asked, tali pusat (month 0) not.
        val cl = store.checklistFor(hhId, childId, d(today))
        assertEquals(LifeStage.BAYI_BALITA, cl.stage)
        assertTrue(cl.questions.any { it.code == "mp_asi" } && cl.questions.none { it.code == "tali_pusat_kering" })
        assertEquals("Makanan pendamping ASI (MP-ASI)", counsellingLabel("mp_asi"))
        assertEquals("MP-ASI", counsellingLabel("MP-ASI")) // free text of an older app: shown as written
        assertTrue(counsellingTopics(LifeStage.LANSIA).first().forStage)
        val me = v.entries.single { it.memberId == motherId }
        assertEquals("Puskesmas", me.referral?.to)
        assertEquals(SpmArea.SOSIAL, me.spmNeeds.single().area)
        assertEquals("Sosial", spmAreaLabel(SpmArea.SOSIAL))
        assertTrue(store.pendingChanges() >= 5uL, "pending ${store.pendingChanges()}")
    }

    test("list by RT, search by name and NIK, members by stage") {
        store.createHousehold(newHousehold("007"))
        val rt3 = store.listHouseholds("003")
        assertEquals(1, rt3.size)
        assertEquals(hhId, rt3[0].id)
        assertEquals("Asep Saepudin", rt3[0].headName)
        assertEquals(3u, rt3[0].memberCount)
        assertEquals(d(today), rt3[0].lastVisit)
        assertEquals(2, store.listHouseholds(null).size)
        assertEquals(listOf("Siti Aminah"), store.searchMembers("siti", 20u).map { it.name })
        val byNik = store.searchMembers("320101420395", 20u).map { it.name }.sorted()
        assertEquals(listOf("Nur Aisyah", "Siti Aminah"), byNik) // the child is found by her mother's NIK
        val balita = store.membersByStage(LifeStage.BAYI_BALITA)
        assertEquals(listOf(childId), balita.map { it.id })
        assertEquals("Bayi, balita dan anak prasekolah", lifeStageLabel(LifeStage.BAYI_BALITA))
    }

    test("due list with Indonesian reason labels") {
        val due = store.dueVisits()
        val item = due.single { it.memberId == childId }
        assertEquals(hhId, item.householdId)
        assertEquals("003", item.rt)
        val imm = item.reasons.single { it.code == DueReasonCode.IMMUNISATION_MISSED }
        assertTrue("DPT_HB_HIB1" in imm.antigens, imm.antigens.toString())
        assertTrue(imm.label.startsWith("Imunisasi terlewat: "), imm.label)
        // Weighed today: not "belum ditimbang".
        assertTrue(item.reasons.none { it.code == DueReasonCode.NOT_WEIGHED_THIS_MONTH })
    }

    test("growth result for the child's measurement, with category labels") {
        // The recorded visit's weighing, previewed as a correction of that visit (visitId): its trend is
        // the one the store gave it (B). As a new weighing the same day it would get none.
        val r = store.assessMemberGrowth(hhId, childId, d(today),
            Measurements(weightKg = 7.9, lengthHeightCm = 69.5, measure = Measure.LYING), visitId)
        assertEquals(8L, r.ageMonths)
        val z = assertNotNull(r.zwfa)
        assertTrue(z > -2.0 && z < 1.0, "zwfa $z")
        assertEquals(WeightForAge.NORMAL, r.bbu)
        assertEquals("Berat badan normal", r.bbuLabel)
        assertNotNull(r.tbuLabel)
        assertEquals("Gizi baik", r.bbtbLabel)
        assertEquals(WeightTrend.B, r.weightTrend) // no weighing before today
        assertNull(store.assessMemberGrowth(hhId, childId, d(today), Measurements(weightKg = 8.0)).weightTrend)
        val g = assessGrowth(GrowthInput(sex = Sex.MALE, birthDate = "2024-01-01", measuredOn = "2025-01-01",
            weightKg = 6.0))
        assertEquals(WeightForAge.SANGAT_KURANG, g.bbu)
        assertEquals("Berat badan sangat kurang", g.bbuLabel)
    }

    test("typed exceptions with Indonesian messages") {
        val w = assertFailsWith<PosyanduException.Validation> {
            store.recordVisit(hhId, NewVisit(d(today), VisitKind.HARI_BUKA,
                listOf(VisitEntry(childId, measurements = Measurements(weightKg = 0.1)))))
        }
        assertTrue(w.message!!.contains("di luar batas wajar"), w.message)
        val nik = assertFailsWith<PosyanduException.Validation> {
            store.addMember(hhId, NewMember("Budi", "1990-07-15", Sex.MALE, Relation.ANAK, nik = "320101150790000"))
        }
        assertEquals("NIK harus 16 angka (diisi: 15 karakter)", nik.message)
        val fut = assertFailsWith<PosyanduException.Validation> {
            store.recordVisit(hhId, NewVisit(d(today.plusDays(10)), VisitKind.HARI_BUKA,
                listOf(VisitEntry(childId, measurements = Measurements(weightKg = 8.0)))))
        }
        assertTrue(fut.message!!.contains("ada di masa depan"), fut.message)
        val fmt = assertFailsWith<PosyanduException.Validation> {
            store.addMember(hhId, NewMember("Budi", "15-07-1990", Sex.MALE, Relation.ANAK))
        }
        assertTrue(fmt.message!!.contains("TTTT-BB-HH"), fmt.message)
        val badId = assertFailsWith<PosyanduException.Validation> { store.household("bukan-uuid") }
        assertTrue(badId.message!!.contains("ID rumah tangga tidak valid"), badId.message)
        val nf = assertFailsWith<PosyanduException.NotFound> { store.household("00000000-0000-4000-8000-000000000000") }
        assertTrue(nf.message!!.startsWith("Rumah tangga tidak ditemukan"), nf.message)
        val g = assertFailsWith<PosyanduException.Validation> {
            assessGrowth(GrowthInput(Sex.FEMALE, "2025-01-01", "2024-01-01", weightKg = 8.0))
        }
        assertTrue(g.message!!.contains("tanggal lahir"), g.message)
        // Nothing was written by the failed calls: still one visit.
        assertEquals(1, store.household(hhId).visits.size)
        // Common supertype for a generic handler.
        val any: PosyanduException = assertFailsWith<PosyanduException> { store.searchMembers("x", 0u); store.household("") }
        assertTrue(any is PosyanduException.Validation)
    }

    test("sync errors: not configured, offline (relay unreachable), bad URL") {
        val nc = assertFailsWith<PosyanduException.NotConfigured> { store.syncNow(null) }
        assertTrue(nc.message!!.startsWith("Relay belum diatur"), nc.message)
        val badUrl = assertFailsWith<PosyanduException.Validation> { store.setRelay("ftp://x", "t") }
        assertTrue(badUrl.message!!.contains("Alamat server"), badUrl.message)
        val scratch = KaderStore.open(dir.resolve("offline.db").toString(), "device-x", "kader-x", posyanduId, TestKeys())
        scratch.use {
            it.createHousehold(newHousehold("001"))
            it.setRelay("http://127.0.0.1:9", "token-x") // discard port: connection refused
            assertEquals(RelayConfig("http://127.0.0.1:9", "token-x"), it.relay())
            val off = assertFailsWith<PosyanduException.Offline> { it.syncNow(null) }
            assertTrue(off.message!!.startsWith("Tidak ada koneksi ke server"), off.message)
            assertEquals(1uL, it.pendingChanges()) // kept for the next try
        }
    }

    test("encrypted store: reopen with the key, token in the provider, wrong key refused, file intact") {
        val path = dir.resolve("enc.db")
        val keys = TestKeys()
        val (hh, visit) = KaderStore.open(path.toString(), "device-e", "kader-e", posyanduId, keys).use { s ->
            val hh = s.createHousehold(newHousehold("004"))
            val m = s.addMember(hh, NewMember(name = "Siti Aminah", birthDate = "1995-03-02", sex = Sex.FEMALE,
                relation = Relation.ISTRI, nik = MOTHER_NIK))
            val visit = s.recordVisit(hh, NewVisit(d(today), VisitKind.KUNJUNGAN_RUMAH,
                listOf(VisitEntry(m, measurements = Measurements(weightKg = 55.0)))))
            s.setRelay("http://127.0.0.1:9", "psy_rahasia_perangkat_e")
            assertEquals("psy_rahasia_perangkat_e", keys.secrets["relay_token"], "the token is kept by the provider")
            assertEquals(RelayConfig("http://127.0.0.1:9", "psy_rahasia_perangkat_e"), s.relay())
            Pair(hh, visit)
        }
        val bytes = Files.readAllBytes(path)
        assertTrue(!bytes.copyOfRange(0, 16).containsText("SQLite format 3"), "the file is encrypted")
        for (secret in listOf("Siti Aminah", MOTHER_NIK, "psy_rahasia_perangkat_e")) {
            assertTrue(!bytes.containsText(secret), "$secret readable in the file")
        }
        // Same key (a new provider object with the same bytes, as after an app restart).
        val sameKey = TestKeys(keys.databaseKey()).also { it.secrets.putAll(keys.secrets) }
        KaderStore.openExisting(path.toString(), sameKey).use { s ->
            assertEquals(KaderIdentity("device-e", "kader-e", posyanduId), s.identity())
            assertEquals(listOf(visit), s.household(hh).visits.map { it.id })
            assertEquals("psy_rahasia_perangkat_e", s.relay()?.token)
        }
        val before = Files.readAllBytes(path)
        val wrong = assertFailsWith<PosyanduException.WrongKey> { KaderStore.openExisting(path.toString(), TestKeys()) }
        assertTrue(wrong.message!!.startsWith("Kunci basis data salah"), wrong.message)
        assertFailsWith<PosyanduException.WrongKey> {
            KaderStore.open(path.toString(), "device-e", "kader-e", posyanduId, TestKeys())
        }
        assertTrue(before.contentEquals(Files.readAllBytes(path)), "the file was changed by a wrong key")
        // A failing provider is an error value, not a crash.
        val throwing = object : KeyProvider {
            override fun databaseKey(): ByteArray = throw IllegalStateException("Keystore terkunci")
            override fun readSecret(name: String): String? = null
            override fun writeSecret(name: String, value: String?) {}
        }
        assertFailsWith<PosyanduException.KeyUnavailable> { KaderStore.openExisting(path.toString(), throwing) }
        val short = object : KeyProvider {
            override fun databaseKey(): ByteArray = ByteArray(16)
            override fun readSecret(name: String): String? = null
            override fun writeSecret(name: String, value: String?) {}
        }
        val e = assertFailsWith<PosyanduException.KeyUnavailable> { KaderStore.openExisting(path.toString(), short) }
        assertTrue(e.message!!.contains("32 byte"), e.message)
        KaderStore.openExisting(path.toString(), sameKey).use { s -> assertEquals(1, s.household(hh).visits.size) }
    }

    test("two threads at once: UI writes + background reads/sync status") {
        val errors = Collections.synchronizedList(mutableListOf<Throwable>())
        val start = CountDownLatch(1)
        val n = 25
        val writer = Thread {
            try {
                start.await()
                repeat(n) { i ->
                    val h = store.createHousehold(newHousehold("009"))
                    val m = store.addMember(h, NewMember("Anak $i", d(childBirth), Sex.MALE, Relation.ANAK))
                    store.recordVisit(h, NewVisit(d(today), VisitKind.HARI_BUKA,
                        listOf(VisitEntry(m, measurements = Measurements(weightKg = 8.0 + i * 0.01)))))
                }
            } catch (t: Throwable) { errors.add(t) }
        }
        val reader = Thread {
            try {
                start.await()
                var seen = 0
                while (seen < n) {
                    seen = store.listHouseholds("009").size
                    store.searchMembers("anak", 500u)
                    store.pendingChanges()
                    store.dueVisits()
                    store.household(hhId)
                    try { store.syncNow(null) } catch (e: PosyanduException.NotConfigured) { /* expected */ }
                }
            } catch (t: Throwable) { errors.add(t) }
        }
        writer.start(); reader.start(); start.countDown()
        writer.join(120_000); reader.join(120_000)
        if (errors.isNotEmpty()) throw AssertionError("thread errors: $errors", errors[0])
        assertEquals(n, store.listHouseholds("009").size)
        assertEquals(n, store.searchMembers("anak", 500u).size)
    }

    test("amend, conflicts list, delete visit, pregnancy") {
        store.amendVisitEntry(hhId, visitId, VisitEntry(childId, measurements = Measurements(weightKg = 7.95)))
        assertEquals(7.95, store.household(hhId).visits.single().entries.single { it.memberId == childId }.measurements.weightKg)
        assertEquals(emptyList(), store.conflicts(hhId))
        val p = store.addPregnancy(hhId, NewPregnancy(motherId, d(today.minusDays(70)), 2u.toUByte(), muacCm = 22.0))
        val h = store.household(hhId)
        val preg = h.pregnancies.single { it.id == p }
        assertTrue(preg.kek)
        assertEquals(d(today.minusDays(70).plusDays(280)), preg.dueDate)
        assertEquals(LifeStage.IBU_HAMIL, h.members.single { it.id == motherId }.stage)
        assertTrue(store.dueVisits().single { it.memberId == motherId }.reasons.any { it.code == DueReasonCode.PREGNANT_KEK })
        val v2 = store.recordVisit(hhId, NewVisit(d(today), VisitKind.HARI_BUKA, listOf(VisitEntry(motherId))))
        store.deleteVisit(hhId, v2)
        assertEquals(listOf(visitId), store.household(hhId).visits.map { it.id })
    }

    test("SPM needs: catalogue, one request for two reports, koordinator steps, list") {
        val needs = spmNeeds()
        assertTrue(needs.any { it.code == "rutilahu" && !it.forMember && it.area == "perumahan" })
        assertTrue(needs.all { it.source.isNotBlank() })
        val key = store.raiseSpmNeed(hhId, motherId, "jkn_tidak_aktif", "Kartu BPJS tidak aktif")
        assertEquals(key, store.raiseSpmNeed(hhId, motherId, "jkn_tidak_aktif", "Iuran menunggak"))
        assertFailsWith<PosyanduException.Validation> { store.raiseSpmNeed(hhId, null, "jkn_tidak_aktif", "x") }
        assertFailsWith<PosyanduException.Validation> { store.raiseSpmNeed(hhId, null, "tidak_dikenal", "x") }
        val r = store.spmRequest(hhId, key)
        assertEquals(setOf("Kartu BPJS tidak aktif", "Iuran menunggak"), r.notes.map { it.text }.toSet())
        assertEquals("dicatat", r.status)
        assertFalse(store.isKoordinator())
        assertFailsWith<PosyanduException.Validation> { store.verifySpmRequest(hhId, key) }
        store.setKoordinator(true)
        store.verifySpmRequest(hhId, key)
        store.forwardSpmRequest(hhId, key)
        val row = store.spmRequests(true).single { it.key == key }
        assertEquals("diteruskan_ke_desa", row.status)
        assertEquals("Siti Aminah", row.subjectName)
        assertEquals(2u, row.notes)
        assertEquals(listOf("dicatat", "diverifikasi", "diteruskan_ke_desa"), store.spmRequest(hhId, key).steps.map { it.status })
        store.setKoordinator(false)
    }

    test("sync: another device sees the visit (relay)") {
        if (env("POSYANDU_RELAY_BIN") == null && relayUrl == null) throw Skip("POSYANDU_RELAY_BIN unset (no relay)")
        val url = relayUrl ?: throw AssertionError("POSYANDU_RELAY_BIN set but POSYANDU_RELAY_URL not: relay not started")
        val tokenA = env("POSYANDU_TOKEN_A") ?: throw AssertionError("POSYANDU_TOKEN_A unset")
        val tokenB = env("POSYANDU_TOKEN_B") ?: throw AssertionError("POSYANDU_TOKEN_B unset")
        val kaderB = env("POSYANDU_KADER_B") ?: "kader-b"
        val events = Collections.synchronizedList(mutableListOf<SyncPhase>())
        val listener = object : SyncProgressListener {
            override fun onProgress(phase: SyncPhase, docsDone: ULong, docsTotal: ULong, bytesDone: ULong, bytesTotal: ULong) {
                events.add(phase)
            }
        }
        store.setRelay(url, tokenA)
        val ra = store.syncNow(listener)
        assertTrue(ra.pushed > 0uL, "pushed ${ra.pushed}")
        assertEquals(0uL, store.pendingChanges())
        assertNotNull(store.lastSyncAt())
        assertEquals(SyncPhase.DONE, events.last())

        KaderStore.open(dir.resolve("b.db").toString(), "device-b", kaderB, posyanduId, TestKeys()).use { b ->
            b.setRelay(url, tokenB)
            b.syncNow(object : SyncProgressListener {
                override fun onProgress(phase: SyncPhase, docsDone: ULong, docsTotal: ULong, bytesDone: ULong, bytesTotal: ULong) {
                    throw IllegalStateException("a throwing listener must not break the sync")
                }
            })
            val hb = b.household(hhId)
            val v = hb.visits.single { it.id == visitId }
            assertEquals(7.95, v.entries.single { it.memberId == childId }.measurements.weightKg)
            assertEquals(1, b.listHouseholds("003").size)
            // B edits, A sees it.
            b.updateMember(hhId, childId, MemberPatch(name = "Nur Aisyah Putri"))
            b.syncNow(null)
        }
        store.syncNow(null)
        assertEquals("Nur Aisyah Putri", store.household(hhId).members.single { it.id == childId }.name)
        assertEquals(0uL, store.pendingChanges())
    }

    test("sync: a rejected device token is PosyanduException.Unauthorized") {
        val url = relayUrl ?: throw Skip("no relay (POSYANDU_RELAY_BIN unset)")
        KaderStore.open(dir.resolve("c.db").toString(), "device-c", "kader-c", posyanduId, TestKeys()).use { c ->
            c.setRelay(url, "bukan-token-yang-sah")
            val e = assertFailsWith<PosyanduException.Unauthorized> { c.syncNow(null) }
            assertTrue(e.message!!.startsWith("Token perangkat ditolak"), e.message)
        }
    }

    store.close()
    println("kotlin: $passed passed, $failed failed, $skipped skipped")
    exitProcess(if (failed == 0) 0 else 1)
}
